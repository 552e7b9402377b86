import { z } from "zod";

export const strategyNames = ["rolling-wave", "immediate", "single-bot"] as const;

const count = (min: number, what: string) =>
  z
    .number()
    .int({ message: `${what} must be a whole number` })
    .min(min, { message: `${what} must be at least ${min}` });

/** Every knob of a rollout. A plan carries the complete, resolved set. */
export const strategySchema = z.strictObject({
  name: z.enum(strategyNames),
  batchPercent: count(1, "batchPercent").max(100, { message: "batchPercent must be at most 100" }),
  pauseSeconds: count(0, "pauseSeconds"),
  maxParallel: count(1, "maxParallel"),
  maxRetries: count(0, "maxRetries"),
  failureThreshold: count(1, "failureThreshold"),
  onThreshold: z.enum(["abort", "pause"]),
  healthCheckTimeoutSeconds: count(1, "healthCheckTimeoutSeconds"),
  minHealthySeconds: count(0, "minHealthySeconds"),
});
export type Strategy = z.output<typeof strategySchema>;

export const defaultStrategy: Strategy = {
  name: "rolling-wave",
  batchPercent: 25,
  pauseSeconds: 60,
  maxParallel: 4,
  maxRetries: 1,
  failureThreshold: 3,
  onThreshold: "abort",
  healthCheckTimeoutSeconds: 120,
  minHealthySeconds: 10,
};

/** fleet.yaml's strategy: any field left out takes the default above. */
export const strategyDefaultsSchema = z.strictObject({
  name: strategySchema.shape.name.default(defaultStrategy.name),
  batchPercent: strategySchema.shape.batchPercent.default(defaultStrategy.batchPercent),
  pauseSeconds: strategySchema.shape.pauseSeconds.default(defaultStrategy.pauseSeconds),
  maxParallel: strategySchema.shape.maxParallel.default(defaultStrategy.maxParallel),
  maxRetries: strategySchema.shape.maxRetries.default(defaultStrategy.maxRetries),
  failureThreshold: strategySchema.shape.failureThreshold.default(defaultStrategy.failureThreshold),
  onThreshold: strategySchema.shape.onThreshold.default(defaultStrategy.onThreshold),
  healthCheckTimeoutSeconds: strategySchema.shape.healthCheckTimeoutSeconds.default(
    defaultStrategy.healthCheckTimeoutSeconds,
  ),
  minHealthySeconds: strategySchema.shape.minHealthySeconds.default(defaultStrategy.minHealthySeconds),
});
