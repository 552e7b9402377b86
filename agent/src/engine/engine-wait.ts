import { isEngineUnavailableError } from "../docker/engine-errors.ts";
import { FleetwaveError } from "../errors.ts";
import type { Logger } from "../log/logger.ts";

/** The Docker Engine did not answer; what was in flight is kept in the journal. */
export class EngineUnavailableError extends FleetwaveError {
  override name = "EngineUnavailableError";
}

/**
 * Whether the Engine answers, and since when it has not: shared by every update of one agent,
 * so its status can say `engine-unavailable since …` while an update waits.
 */
export class EngineAvailability {
  private since: Date | undefined;
  private readonly listeners = new Set<(since: Date | undefined) => void>();

  /** When the Engine stopped answering, or undefined while it answers. */
  get unavailableSince(): Date | undefined {
    return this.since;
  }

  markDown(now: Date): void {
    if (this.since) return;
    this.since = now;
    for (const listener of this.listeners) listener(now);
  }

  markUp(): void {
    if (!this.since) return;
    this.since = undefined;
    for (const listener of this.listeners) listener(undefined);
  }

  onChange(listener: (since: Date | undefined) => void): void {
    this.listeners.add(listener);
  }
}

export interface EngineWaitOptions {
  ping: () => Promise<boolean>;
  availability: EngineAvailability;
  /** Give up after this long without an answer; the journal keeps the work for the next attempt. */
  maxWaitMs: number;
  initialDelayMs?: number;
  /** The backoff's bound: a returning Engine is noticed within this long. */
  maxDelayMs?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  log?: Logger;
}

const QUICK_RETRIES = 4;

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Pings with doubling, bounded delays until the Engine answers. Returns false when it answered
 * at once (nothing was waited for); throws EngineUnavailableError after maxWaitMs.
 */
export async function waitForEngine(what: string, o: EngineWaitOptions): Promise<boolean> {
  if (await o.ping()) return false;
  const now = o.now ?? Date.now;
  const sleep = o.sleep ?? realSleep;
  const maxDelay = o.maxDelayMs ?? 2000;
  let delay = o.initialDelayMs ?? 100;
  const start = now();
  o.availability.markDown(new Date(start));
  const since = o.availability.unavailableSince?.toISOString();
  o.log?.warn(`the Docker Engine is unavailable (since ${since}); ${what} waits for it`);
  for (;;) {
    const waited = now() - start;
    if (waited >= o.maxWaitMs) {
      throw new EngineUnavailableError(
        `the Docker Engine has not answered since ${since} (waited ${Math.round(waited / 1000)}s); ${what} is kept in the journal and finished when the Engine is back (check dockerd: systemctl status docker)`,
      );
    }
    await sleep(Math.max(1, Math.min(delay, o.maxWaitMs - waited)));
    delay = Math.min(delay * 2, maxDelay);
    if (await o.ping()) {
      o.availability.markUp();
      o.log?.info(
        `the Docker Engine answers again after ${((now() - start) / 1000).toFixed(1)}s; ${what} goes on`,
      );
      return true;
    }
  }
}

/**
 * Runs `work` until it finishes without meeting an absent Engine: after each such failure it
 * waits for the Engine and runs `work` again, so `work` must be safe to repeat. Any other error
 * is thrown as is.
 */
export async function untilEngineAnswers<T>(
  what: string,
  work: () => Promise<T>,
  o: EngineWaitOptions,
): Promise<T> {
  const sleep = o.sleep ?? realSleep;
  // An error that looks like an outage while the Engine answers (a daemon finishing its start)
  // is retried a few times, not forever.
  let quick = 0;
  for (;;) {
    try {
      return await work();
    } catch (error) {
      if (!(await isEngineOutage(error, o.ping))) throw error;
      if (await waitForEngine(what, o)) quick = 0;
      else if (++quick > QUICK_RETRIES) throw error;
      else await sleep((o.initialDelayMs ?? 100) * 2 ** quick);
    }
  }
}

/**
 * An error met because the Engine is away: recognised by its shape, or by a failed ping right
 * after it (a request cut off by a dying daemon can fail in many ways).
 */
export async function isEngineOutage(error: unknown, ping: () => Promise<boolean>): Promise<boolean> {
  if (error instanceof EngineUnavailableError) return false;
  if (isEngineUnavailableError(error)) return true;
  return !(await ping());
}
