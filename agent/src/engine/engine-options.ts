import type { EnginePort } from "../docker/engine-port.ts";
import type { Logger } from "../log/logger.ts";
import { EngineAvailability, type EngineWaitOptions, untilEngineAnswers } from "./engine-wait.ts";
import type { Journal, JournalEntry, Phase } from "./journal.ts";
import type { VolumeSnapshotter } from "./snapshotter.ts";

export interface EngineOptions {
  docker: EnginePort;
  journal: Journal;
  snapshots: VolumeSnapshotter;
  allowlist: string[];
  healthCheckTimeoutSeconds: number;
  minHealthySeconds: number;
  keepSnapshots: number;
  /**
   * Recreate the container even when it already runs the target digest: a drift correction goes
   * through the same snapshot, health gate and rollback as an update.
   */
  recreate?: boolean;
  /**
   * Two-phase snapshots (default true): a level-0 of each volume while the old container still runs,
   * a level-1 of what changed after the stop, so the stop lasts as long as the changes take to copy.
   */
  precopy?: boolean;
  /** Grace given to the old container to stop before SIGKILL. */
  stopTimeoutSeconds?: number;
  /** Shared by every update of one agent: whether the Docker Engine answers, and since when not. */
  availability?: EngineAvailability;
  /**
   * How long an update waits for an absent Engine before it hands its journal entry to the next
   * reconcile (default 600 s). The wait pings with a backoff bounded at 2 s.
   */
  engineWaitSeconds?: number;
  /** Called after each phase is journaled, before its step is taken (tests break the world here). */
  onPhase?: (phase: Phase, botId: string) => Promise<void>;
  /** Lines name the bot and the step themselves; the caller's child logger adds the rollout. */
  log?: Logger;
  /** Where bots' `env: { fromFile }` secrets must live (engine/secrets.ts); default /etc/fleetwave/secrets. */
  secretsDir?: string;
}

const fallbackAvailability = new WeakMap<EngineOptions, EngineAvailability>();

export function waitOptions(o: EngineOptions): EngineWaitOptions {
  let availability = o.availability;
  if (!availability) {
    availability = fallbackAvailability.get(o) ?? new EngineAvailability();
    fallbackAvailability.set(o, availability);
  }
  return {
    ping: () => o.docker.ping(),
    availability,
    maxWaitMs: (o.engineWaitSeconds ?? 600) * 1000,
    ...(o.log ? { log: o.log } : {}),
  };
}

/** Runs idempotent Engine work, waiting out an absent Engine between attempts. */
export function withEngine<T>(o: EngineOptions, what: string, work: () => Promise<T>): Promise<T> {
  return untilEngineAnswers(what, work, waitOptions(o));
}

/** Journals the next phase, then gives a test its chance to break the world at exactly this step. */
export async function advance(
  o: EngineOptions,
  entry: JournalEntry,
  phase: Phase,
  patch: Partial<JournalEntry> = {},
): Promise<JournalEntry> {
  const next = await o.journal.advance(entry, phase, patch);
  await o.onPhase?.(phase, entry.bot.id);
  return next;
}

export const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error));
