import { z } from "zod";
import { email, hourUtc, httpUrl } from "./primitives.ts";
import { defaultStrategy, strategyDefaultsSchema } from "./strategy.ts";

export const fleetEvents = [
  "bot.updated",
  "bot.update_available",
  "bot.update_failed",
  "bot.rolled_back",
  "bot.rollback_failed",
  "bot.down",
  "bot.recovered",
  "rollout.started",
  "rollout.completed",
  "rollout.paused",
  "rollout.aborted",
  "fleet_state.invalid",
] as const;
export type FleetEvent = (typeof fleetEvents)[number];

export const fleetSchema = z.strictObject({
  updates: z
    .strictObject({
      mode: z.enum(["auto", "manual", "paused"]).default("auto"),
      defaultPreferredHourUtc: hourUtc.default(3),
      windowMinutes: z
        .number()
        .int({ message: "windowMinutes must be a whole number" })
        .min(1, { message: "windowMinutes must be from 1 to 1440" })
        .max(1440, { message: "windowMinutes must be from 1 to 1440" })
        .default(60),
    })
    .default({ mode: "auto", defaultPreferredHourUtc: 3, windowMinutes: 60 }),
  strategy: strategyDefaultsSchema.default(defaultStrategy),
  images: z.strictObject({
    allowlist: z
      .array(z.string().min(1, { message: "an allowlist prefix cannot be empty" }))
      .min(1, { message: "list at least one image prefix, e.g. ghcr.io/acme/" }),
  }),
  snapshots: z
    .strictObject({
      keepAfterSuccess: z.number().int().min(0, { message: "keepAfterSuccess must be 0 or more" }).default(0),
    })
    .default({ keepAfterSuccess: 0 }),
  notifications: z
    .strictObject({
      email: z.strictObject({ from: email, admins: z.array(email).default([]) }).optional(),
      webhooks: z
        .array(z.strictObject({ url: httpUrl, events: z.array(z.enum(fleetEvents)).min(1) }))
        .default([]),
    })
    .default({ webhooks: [] }),
});
export type Fleet = z.output<typeof fleetSchema>;
