import { z } from "zod";
import { digest, hostId, imageRef, isoTime, rolloutId } from "./primitives.ts";
import { MAX_WAVES, strategyLimits } from "./strategy.ts";

/** Thirty days: an update that takes longer has stopped being one. */
const MAX_DURATION_MS = 30 * 24 * 3600 * 1000;

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
      durationMs: z.number().int().min(0).max(MAX_DURATION_MS),
      reason: z.string().optional(),
      actor: z.string().optional(),
    })
    .optional(),
});

const rolloutProgressSchema = z.strictObject({
  state: z.enum(["in-progress", "completed", "paused", "aborted"]),
  /** Highest wave this host has finished; other hosts read it to start the next wave. */
  wavesDone: z.number().int().min(0).max(MAX_WAVES).default(0),
  finishedAt: isoTime.optional(),
  bots: z
    .record(
      z.string(),
      z.strictObject({
        result: z.enum([...updateResults, "pending", "update-available"]),
        wave: z.number().int().min(1).max(MAX_WAVES),
        attempts: z
          .number()
          .int()
          .min(0)
          .max(strategyLimits.maxRetries + 1),
        reason: z.string().optional(),
      }),
    )
    .default({}),
});

export const statusSchema = z.strictObject({
  host: hostId,
  observedCommit: z.string().min(1),
  /** Also the writer's heartbeat: an agent commits its status at least hourly. */
  updatedAt: isoTime,
  /**
   * The agent instance that writes this file (its id survives restarts with the same data dir).
   * Another agent for the same host that sees a live instance here refuses to act.
   */
  agent: z
    .strictObject({ instance: z.string().min(1), machine: z.string().min(1), dataDir: z.string().min(1) })
    .optional(),
  bots: z.record(z.string(), botStatusSchema).default({}),
  rollouts: z.record(z.string(), rolloutProgressSchema).default({}),
  /** Present while the host's Docker Engine does not answer: bots are left as they are until it does. */
  engine: z.strictObject({ state: z.literal("engine-unavailable"), since: isoTime }).optional(),
  /**
   * Present while the fetched branch holds a fleet-state commit whose signature does not verify
   * (agent --verify-commits): that commit and everything after it are ignored.
   */
  unverified: z
    .strictObject({
      commit: z.string().regex(/^[0-9a-f]{40}$/),
      reason: z.string(),
      actingOn: z
        .string()
        .regex(/^[0-9a-f]{40}$/)
        .nullable(),
      since: isoTime,
    })
    .optional(),
  /** Digests whose rollout was aborted or rolled back on this host: never planned again for that image. */
  quarantine: z
    .array(z.strictObject({ image: imageRef, digest, rollout: rolloutId, at: isoTime, reason: z.string() }))
    .default([]),
});
export type HostStatus = z.output<typeof statusSchema>;
export type BotStatus = z.output<typeof botStatusSchema>;

export type TargetResult = HostStatus["rollouts"][string]["bots"][string]["result"];

/** Results after which a target no longer holds its wave back. */
const FINAL: ReadonlySet<TargetResult> = new Set<TargetResult>([
  "updated",
  "rolled-back",
  "rollback-failed",
  "failed",
  "skipped",
  // A manual tenant's bot waits for a person, not the fleet: the wave moves on without it.
  "update-available",
]);
const FAILED: ReadonlySet<TargetResult> = new Set<TargetResult>(["rolled-back", "rollback-failed", "failed"]);

export const isFinal = (r: TargetResult) => FINAL.has(r);
export const isFailure = (r: TargetResult) => FAILED.has(r);
