import type { UpdateResult } from "../model/status.ts";

export type Timings = Partial<
  Record<"preflight" | "pull" | "precopy" | "stop" | "snapshot" | "recreate" | "health" | "rollback", number>
>;

/** What happened to one bot. A rollback is never reported as success. */
export interface UpdateOutcome {
  bot: string;
  result: UpdateResult;
  from: string | null;
  to: string;
  /** Human-readable: why it failed or rolled back, or what was done. */
  reason: string;
  durationMs: number;
  /** From the stop of the old container to the first healthy answer of the new one. */
  downtimeMs?: number;
  timings: Timings;
  /** Snapshots left on disk (kept after a failed rollback, or by keepAfterSuccess). */
  snapshots: string[];
}

/** Measures named phases of one update. */
export class PhaseTimer {
  private readonly start = performance.now();
  readonly timings: Timings = {};

  async time<T>(phase: keyof Timings, work: () => Promise<T>): Promise<T> {
    const begin = performance.now();
    try {
      return await work();
    } finally {
      this.timings[phase] = Math.round((this.timings[phase] ?? 0) + performance.now() - begin);
    }
  }

  elapsed(): number {
    return Math.round(performance.now() - this.start);
  }
}

export type MakeOutcome = (
  result: UpdateOutcome["result"],
  from: string | null,
  reason: string,
  extra?: Partial<UpdateOutcome>,
) => UpdateOutcome;

/** Builds the outcomes of one bot's update towards `to`, timed by `timer`. */
export function outcomeMaker(bot: string, to: string, timer: PhaseTimer): MakeOutcome {
  return (result, from, reason, extra = {}) => ({
    bot,
    result,
    from,
    to,
    reason,
    durationMs: timer.elapsed(),
    timings: timer.timings,
    snapshots: [],
    ...extra,
  });
}
