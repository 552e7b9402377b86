import { z } from "zod";
import { digest, hostId, imageRef, isoTime, rolloutId } from "./primitives.ts";

export const updateResults = ["updated", "rolled-back", "rollback-failed", "skipped", "failed"] as const;
export type UpdateResult = (typeof updateResults)[number];

export const botStates = ["running", "updating", "stopped", "missing", "failed"] as const;

const botStatusSchema = z.strictObject({
  digest: digest.nullable(),
  state: z.enum(botStates),
  updateAvailable: z.strictObject({ rollout: rolloutId, digest }).optional(),
  last: z
    .strictObject({
      rollout: rolloutId.optional(),
      result: z.enum(updateResults),
      from: digest.nullable(),
      to: digest,
      at: isoTime,
      durationMs: z.number().int().min(0),
      reason: z.string().optional(),
      actor: z.string().optional(),
    })
    .optional(),
});

const rolloutProgressSchema = z.strictObject({
  state: z.enum(["in-progress", "completed", "paused", "aborted"]),
  /** Highest wave this host has finished; other hosts read it to start the next wave. */
  wavesDone: z.number().int().min(0).default(0),
  finishedAt: isoTime.optional(),
  bots: z
    .record(
      z.string(),
      z.strictObject({
        result: z.enum([...updateResults, "pending", "update-available"]),
        wave: z.number().int().min(1),
        attempts: z.number().int().min(0),
        reason: z.string().optional(),
      }),
    )
    .default({}),
});

export const statusSchema = z.strictObject({
  host: hostId,
  observedCommit: z.string().min(1),
  updatedAt: isoTime,
  bots: z.record(z.string(), botStatusSchema).default({}),
  rollouts: z.record(z.string(), rolloutProgressSchema).default({}),
  /** Present while the host's Docker Engine does not answer: bots are left as they are until it does. */
  engine: z.strictObject({ state: z.literal("engine-unavailable"), since: isoTime }).optional(),
  /** Digests whose rollout was aborted or rolled back on this host: never planned again for that image. */
  quarantine: z
    .array(z.strictObject({ image: imageRef, digest, rollout: rolloutId, at: isoTime, reason: z.string() }))
    .default([]),
});
export type HostStatus = z.output<typeof statusSchema>;
export type BotStatus = z.output<typeof botStatusSchema>;
