import { z } from "zod";

export const strategyNames = ["rolling-wave", "immediate", "single-bot"] as const;

/**
 * Upper bounds of the strategy numbers: far above any sane rollout, low enough that a typo (an
 * extra digit, milliseconds for seconds) is an error instead of a rollout that never ends.
 */
export const strategyLimits = {
  /** A week between waves. */
  pauseSeconds: 7 * 24 * 3600,
  /** Updates at once on one host; each stops a bot and snapshots its volumes. */
  maxParallel: 64,
  maxRetries: 10,
  /** Beyond the size of any fleet, a threshold means "never". */
  failureThreshold: 10_000,
  /** An hour for a bot to become healthy. */
  healthCheckTimeoutSeconds: 3600,
  minHealthySeconds: 3600,
} as const;

/** batchPercent is at least 1, so a rolling wave has at most 100 waves. */
export const MAX_WAVES = 100;

const count = (min: number, max: number, what: string) =>
  z
    .number()
    .int({ message: `${what} must be a whole number` })
    .min(min, { message: `${what} must be at least ${min}` })
    .max(max, { message: `${what} must be at most ${max}` });

/** Every knob of a rollout. A plan carries the complete, resolved set. */
const strategyShape = {
  name: z.enum(strategyNames),
  batchPercent: count(1, 100, "batchPercent"),
  pauseSeconds: count(0, strategyLimits.pauseSeconds, "pauseSeconds"),
  maxParallel: count(1, strategyLimits.maxParallel, "maxParallel"),
  maxRetries: count(0, strategyLimits.maxRetries, "maxRetries"),
  failureThreshold: count(1, strategyLimits.failureThreshold, "failureThreshold"),
  onThreshold: z.enum(["abort", "pause"]),
  healthCheckTimeoutSeconds: count(1, strategyLimits.healthCheckTimeoutSeconds, "healthCheckTimeoutSeconds"),
  minHealthySeconds: count(0, strategyLimits.minHealthySeconds, "minHealthySeconds"),
};

/**
 * The health gate's timeout includes the healthy period, so a bot that must stay healthy for as
 * long as the whole gate lasts could never pass it.
 */
function healthyWithinTimeout(
  s: { minHealthySeconds: number; healthCheckTimeoutSeconds: number },
  ctx: z.core.$RefinementCtx,
) {
  if (s.minHealthySeconds < s.healthCheckTimeoutSeconds) return;
  ctx.addIssue({
    // Stryker disable next-line StringLiteral: zod's types require a code; no reader of the issue (problems.ts, yaml-source.ts) looks at a custom one
    code: "custom",
    path: ["minHealthySeconds"],
    message: `minHealthySeconds must be less than healthCheckTimeoutSeconds (${s.healthCheckTimeoutSeconds}), which includes it`,
  });
}

export const strategySchema = z.strictObject(strategyShape).superRefine(healthyWithinTimeout);
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
export const strategyDefaultsSchema = z
  .strictObject({
    name: strategyShape.name.default(defaultStrategy.name),
    batchPercent: strategyShape.batchPercent.default(defaultStrategy.batchPercent),
    pauseSeconds: strategyShape.pauseSeconds.default(defaultStrategy.pauseSeconds),
    maxParallel: strategyShape.maxParallel.default(defaultStrategy.maxParallel),
    maxRetries: strategyShape.maxRetries.default(defaultStrategy.maxRetries),
    failureThreshold: strategyShape.failureThreshold.default(defaultStrategy.failureThreshold),
    onThreshold: strategyShape.onThreshold.default(defaultStrategy.onThreshold),
    healthCheckTimeoutSeconds: strategyShape.healthCheckTimeoutSeconds.default(
      defaultStrategy.healthCheckTimeoutSeconds,
    ),
    minHealthySeconds: strategyShape.minHealthySeconds.default(defaultStrategy.minHealthySeconds),
  })
  .superRefine(healthyWithinTimeout);
