import { describe, expect, it } from "vitest";
import { nextReconcile, WAKE_FLOOR_MS, WAKE_MARGIN_MS } from "./reconcile-schedule.ts";

const now = Date.parse("2026-11-27T01:00:00.000Z");
const at = (msFromNow: number) => new Date(now + msFromNow);
const next = (wakeAt: Date | undefined, random = 0.5, intervalMs = 30_000) =>
  nextReconcile({ intervalMs, wakeAt, now, random });

describe("nextReconcile", () => {
  it("polls after the interval with ± 10 % jitter when no gate opens by the clock", () => {
    expect(next(undefined, 0)).toEqual({ delayMs: 27_000, reason: "interval" });
    expect(next(undefined, 0.5)).toEqual({ delayMs: 30_000, reason: "interval" });
    expect(next(undefined, 0.999_999).delayMs).toBeCloseTo(33_000, 0);
  });

  it("wakes a margin after a gate opens when that is before the poll", () => {
    expect(next(at(5_000))).toEqual({ delayMs: 5_000 + WAKE_MARGIN_MS, reason: "gate opens" });
    expect(next(at(5_000), 0, 600_000)).toEqual({ delayMs: 5_000 + WAKE_MARGIN_MS, reason: "gate opens" });
  });

  it("keeps the poll when the gate opens after it", () => {
    expect(next(at(60_000))).toEqual({ delayMs: 30_000, reason: "interval" });
    // The jittered poll, not the plain interval, is what the wake-up is compared with.
    expect(next(at(28_000), 0)).toEqual({ delayMs: 27_000, reason: "interval" });
    expect(next(at(28_000), 0.5)).toEqual({ delayMs: 28_000 + WAKE_MARGIN_MS, reason: "gate opens" });
  });

  it("never spins: a gate that opened already, or opens at once, waits the floor", () => {
    expect(WAKE_FLOOR_MS).toBeGreaterThan(WAKE_MARGIN_MS);
    for (const wakeAt of [at(-3_600_000), at(-1), at(0), at(WAKE_FLOOR_MS - WAKE_MARGIN_MS - 1)])
      expect(next(wakeAt)).toEqual({ delayMs: WAKE_FLOOR_MS, reason: "gate opens" });
    expect(next(at(WAKE_FLOOR_MS))).toEqual({
      delayMs: WAKE_FLOOR_MS + WAKE_MARGIN_MS,
      reason: "gate opens",
    });
  });

  it("an interval shorter than the floor stays the interval", () => {
    expect(next(at(-1), 0.5, 500)).toEqual({ delayMs: 500, reason: "interval" });
  });
});
