import { z } from "zod";
import { allowlistEntry } from "./allowlist.ts";
import { allowHostEntry, goesToMetadata } from "./health-url.ts";
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
      .array(allowlistEntry)
      .min(1, { message: "list at least one image prefix, e.g. ghcr.io/acme/" }),
  }),
  /** Health URLs always may go to loopback and the bot's own published ports; these add more. */
  healthChecks: z
    .strictObject({
      allowHosts: z
        .array(allowHostEntry)
        .default([])
        .describe(
          "Where health URLs may go besides loopback and the bot's own published ports: IP addresses, CIDR ranges, DNS names. Cloud metadata addresses are refused even here.",
        ),
    })
    .default({ allowHosts: [] }),
  snapshots: z
    .strictObject({
      keepAfterSuccess: z
        .number()
        .int({ message: "keepAfterSuccess must be a whole number" })
        .min(0, { message: "keepAfterSuccess must be from 0 to 100" })
        .max(100, { message: "keepAfterSuccess must be from 0 to 100" })
        .default(0),
      precopy: z
        .boolean({ message: "precopy must be true or false" })
        .default(true)
        .describe(
          "Two-phase snapshots on the direct path: a level-0 while the bot still runs, a level-1 of the changes after the stop. false: one full snapshot after the stop.",
        ),
    })
    .default({ keepAfterSuccess: 0, precopy: true }),
  notifications: z
    .strictObject({
      email: z.strictObject({ from: email, admins: z.array(email).default([]) }).optional(),
      webhooks: z
        .array(
          z.strictObject({
            url: httpUrl.refine((url) => !goesToMetadata(url), {
              message:
                "goes to a cloud metadata address (169.254.0.0/16, fe80::/10, fd00:ec2::254); webhooks may never go there",
            }),
            events: z.array(z.enum(fleetEvents)).min(1),
          }),
        )
        .default([]),
    })
    .default({ webhooks: [] }),
});
export type Fleet = z.output<typeof fleetSchema>;
