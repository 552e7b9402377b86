import { z } from "zod";
import { allowlistEntry } from "./allowlist.ts";
import { allowHostEntry, goesToMetadata } from "./health-url.ts";
import { digest, email, hourUtc, httpUrl, imageRef, isoTime } from "./primitives.ts";
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
    keepOnHost: z
      .number()
      .int({ message: "keepOnHost must be a whole number" })
      .min(1, { message: "keepOnHost must be from 1 to 100" })
      .max(100, { message: "keepOnHost must be from 1 to 100" })
      .default(2)
      .describe(
        "Images of a bot's repository kept on each host after a successful update, newest first; images a container uses or a kept snapshot would roll back to are kept as well.",
      ),
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
  /** What reconcile does with a bot's container that differs from fleet-state. */
  drift: z
    .strictObject({
      policy: z
        .enum(["report", "correct"])
        .default("report")
        .describe(
          "report: note a container whose image, env, command, ports, volumes or labels differ from fleet-state; correct: also recreate it from fleet-state, through the snapshot, health gate and rollback of an update",
        ),
      stopped: z
        .enum(["start", "respect"])
        .default("start")
        .describe(
          "A bot's container found stopped by hand (exited, not restarting): start starts it again, respect leaves it stopped and reports it",
        ),
    })
    .default({ policy: "report", stopped: "start" }),
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
  /** Quarantined digests people cleared to be planned again (`fleetwave quarantine lift`). */
  quarantine: z
    .strictObject({
      lifted: z
        .array(
          z.strictObject({
            image: imageRef,
            digest,
            by: z.string().min(1),
            at: isoTime,
            reason: z.string().optional(),
          }),
        )
        .default([])
        .describe(
          "A quarantine of image+digest recorded before `at` no longer keeps the digest out of plans; one recorded later does.",
        ),
    })
    .default({ lifted: [] }),
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
