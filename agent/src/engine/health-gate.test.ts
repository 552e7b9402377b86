import { describe, expect, it } from "vitest";
import { jsonMatches, type ProbeResult, waitHealthy } from "./health-gate.ts";

/** A fake clock: sleeping advances time, probes take no time. */
function clock() {
  let t = 0;
  const sleeps: number[] = [];
  return {
    now: () => t,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      t += ms;
    },
    sleeps,
    at: () => t,
  };
}

const ok: ProbeResult = { ok: true };
const down = (reason = "connection refused"): ProbeResult => ({ ok: false, reason });

describe("waitHealthy", () => {
  it("starts at 25 ms and backs off to 1 s", async () => {
    const c = clock();
    const result = await waitHealthy(async () => (c.at() >= 3000 ? ok : down()), {
      timeoutMs: 10_000,
      minHealthyMs: 0,
      now: c.now,
      sleep: c.sleep,
    });
    expect(result.healthy).toBe(true);
    expect(c.sleeps.slice(0, 7)).toEqual([25, 50, 100, 200, 400, 800, 1000]);
    expect(Math.max(...c.sleeps)).toBe(1000);
  });

  it("keeps polling every 25 ms while the connection is refused, so a late start is noticed at once", async () => {
    for (const startsAfter of [1000, 3000, 10_000]) {
      const c = clock();
      const refused: ProbeResult = { ok: false, reason: "ECONNREFUSED", refused: true };
      const result = await waitHealthy(async () => (c.at() >= startsAfter ? ok : refused), {
        timeoutMs: 30_000,
        minHealthyMs: 0,
        now: c.now,
        sleep: c.sleep,
      });
      expect(result).toMatchObject({ healthy: true });
      if (result.healthy) expect(result.firstOkAfterMs - startsAfter).toBeLessThan(50);
      expect(new Set(c.sleeps)).toEqual(new Set([25]));
    }
  });

  it("backs off again once the app answers, however often it was refused before", async () => {
    const c = clock();
    const refused: ProbeResult = { ok: false, reason: "ECONNREFUSED", refused: true };
    const result = await waitHealthy(async () => (c.at() < 500 ? refused : down("answered 503")), {
      timeoutMs: 5000,
      minHealthyMs: 0,
      now: c.now,
      sleep: c.sleep,
    });
    expect(result.healthy).toBe(false);
    expect(c.sleeps.slice(20, 27)).toEqual([25, 50, 100, 200, 400, 800, 1000]);
  });

  it("requires minHealthy of continuous health and restarts the count after a failure", async () => {
    const c = clock();
    const answers = (t: number) => (t < 100 ? down() : t < 300 ? ok : t < 1000 ? down("500") : ok);
    const result = await waitHealthy(async () => answers(c.at()), {
      timeoutMs: 30_000,
      minHealthyMs: 2000,
      now: c.now,
      sleep: c.sleep,
    });
    expect(result).toMatchObject({ healthy: true });
    // healthy at 175, failed at 375, healthy again from 1575: the 2 s count starts over there.
    expect(c.at()).toBe(3575);
  });

  it("times out with the last reason", async () => {
    const c = clock();
    const result = await waitHealthy(async () => down("HTTP 500"), {
      timeoutMs: 5000,
      minHealthyMs: 0,
      now: c.now,
      sleep: c.sleep,
    });
    expect(result).toEqual({
      healthy: false,
      reason: "health check timed out after 5s: HTTP 500",
      elapsedMs: 5000,
      probes: expect.any(Number),
    });
  });

  it("fails at once on a fatal probe", async () => {
    const c = clock();
    let n = 0;
    const result = await waitHealthy(
      async () => (++n < 3 ? ok : { ok: false, reason: "container exited with code 1", fatal: true }),
      { timeoutMs: 60_000, minHealthyMs: 10_000, now: c.now, sleep: c.sleep },
    );
    expect(result).toMatchObject({ healthy: false });
    if (!result.healthy)
      expect(result.reason).toMatch(/^became unhealthy after \d+ ms: container exited with code 1$/);
    expect(c.at()).toBeLessThan(1000);
  });

  it("passes a healthy bot at once when minHealthy is 0", async () => {
    const c = clock();
    const result = await waitHealthy(async () => ok, {
      timeoutMs: 1000,
      minHealthyMs: 0,
      now: c.now,
      sleep: c.sleep,
    });
    expect(result).toEqual({ healthy: true, firstOkAfterMs: 0, elapsedMs: 0, probes: 1 });
  });
});

describe("jsonMatches", () => {
  it("matches a subset of keys, recursively", () => {
    expect(jsonMatches({ status: "ok" }, { status: "ok", version: "2" })).toBe(true);
    expect(jsonMatches({ db: { up: true } }, { db: { up: true, ms: 3 } })).toBe(true);
    expect(jsonMatches({ status: "ok" }, { status: "degraded" })).toBe(false);
    expect(jsonMatches({ status: "ok" }, ["ok"])).toBe(false);
    expect(jsonMatches({ list: [1, 2] }, { list: [1, 2, 3] })).toBe(false);
    expect(jsonMatches({ n: 1 }, { n: "1" })).toBe(false);
  });
});
