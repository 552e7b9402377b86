/**
 * One look at a container's health. `fatal` ends the gate at once (the container died); `refused`
 * says nothing listens yet (the connection was refused), which costs the app nothing to ask again.
 */
export type ProbeResult = { ok: true } | { ok: false; reason: string; fatal?: boolean; refused?: boolean };
export type Probe = () => Promise<ProbeResult>;

export interface GateOptions {
  timeoutMs: number;
  /** How long the container must stay healthy, without a single failed probe, after the first OK. */
  minHealthyMs: number;
  initialDelayMs?: number;
  maxDelayMs?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export type GateResult =
  | { healthy: true; firstOkAfterMs: number; elapsedMs: number; probes: number }
  | { healthy: false; reason: string; elapsedMs: number; probes: number };

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Polls fast at first (a healthy app answers within tens of milliseconds, and every one of them
 * is downtime). While nothing listens (connection refused) it keeps polling every
 * `initialDelayMs`, so an app that starts serving after seconds is still noticed within tens of
 * milliseconds; once the app answers (unhealthy, or slowly), the interval backs off to
 * `maxDelayMs`, so a struggling app does not get a request storm.
 */
export async function waitHealthy(probe: Probe, options: GateOptions): Promise<GateResult> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? realSleep;
  const maxDelay = options.maxDelayMs ?? 1000;
  const initialDelay = options.initialDelayMs ?? 25;
  let delay = initialDelay;
  const start = now();
  let healthySince: number | undefined;
  let firstOk: number | undefined;
  let lastReason = "no answer yet";
  let probes = 0;
  for (;;) {
    const result = await probe();
    probes += 1;
    const t = now();
    if (result.ok) {
      healthySince ??= t;
      firstOk ??= t;
      if (t - healthySince >= options.minHealthyMs) {
        return { healthy: true, firstOkAfterMs: firstOk - start, elapsedMs: t - start, probes };
      }
    } else {
      if (healthySince !== undefined)
        lastReason = `became unhealthy after ${t - healthySince} ms: ${result.reason}`;
      else lastReason = result.reason;
      healthySince = undefined;
      if (result.fatal) return { healthy: false, reason: lastReason, elapsedMs: t - start, probes };
    }
    if (t - start >= options.timeoutMs) {
      const seconds = Math.round(options.timeoutMs / 100) / 10;
      return {
        healthy: false,
        reason: `health check timed out after ${seconds}s: ${lastReason}`,
        elapsedMs: t - start,
        probes,
      };
    }
    const refused = !result.ok && result.refused === true;
    let wait = Math.min(refused ? initialDelay : delay, options.timeoutMs - (t - start));
    if (healthySince !== undefined) wait = Math.min(wait, options.minHealthyMs - (t - healthySince));
    await sleep(Math.max(1, wait));
    if (!refused) delay = Math.min(delay * 2, maxDelay);
  }
}

/** Subset match: every key of `expected` is present in `actual` with a matching value. */
export function jsonMatches(expected: unknown, actual: unknown): boolean {
  if (expected !== null && typeof expected === "object" && !Array.isArray(expected)) {
    if (actual === null || typeof actual !== "object" || Array.isArray(actual)) return false;
    const record = actual as Record<string, unknown>;
    return Object.entries(expected).every(([key, value]) => key in record && jsonMatches(value, record[key]));
  }
  if (Array.isArray(expected)) {
    return (
      Array.isArray(actual) &&
      expected.length === actual.length &&
      expected.every((v, i) => jsonMatches(v, actual[i]))
    );
  }
  return Object.is(expected, actual);
}
