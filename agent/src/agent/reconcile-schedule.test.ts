import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  nextReconcile,
  ReconcileSchedule,
  type Reconciling,
  WAKE_FLOOR_MS,
  WAKE_MARGIN_MS,
} from "./reconcile-schedule.ts";

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

/** The agent's side of the schedule: records what was asked, and ends a reconcile on demand. */
class Reconciles implements Reconciling {
  readonly asked: string[] = [];
  wakeAt: Date | undefined;
  private readonly listeners = new Set<() => void>();
  requestReconcile(reason: string): void {
    this.asked.push(reason);
  }
  onReconciled(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  /** A reconcile ends, whoever asked for it, having found `wakeAt`. */
  end(wakeAt?: Date): void {
    this.wakeAt = wakeAt;
    for (const listener of this.listeners) listener();
  }
}

describe("ReconcileSchedule", () => {
  beforeEach(() => vi.useFakeTimers({ now }));
  afterEach(() => vi.useRealTimers());
  const started = () => {
    const agent = new Reconciles();
    const schedule = new ReconcileSchedule(agent, { intervalMs: 600_000, random: () => 0.5 });
    schedule.start();
    return { agent, schedule };
  };

  it("reconciles at start, then after the interval, or when a gate opens if sooner", () => {
    const { agent, schedule } = started();
    expect(agent.asked).toEqual(["start"]);
    agent.end();
    vi.advanceTimersByTime(599_999);
    expect(agent.asked).toEqual(["start"]);
    vi.advanceTimersByTime(1);
    expect(agent.asked).toEqual(["start", "interval"]);
    agent.end(new Date(Date.now() + 2_000));
    vi.advanceTimersByTime(2_000 + WAKE_MARGIN_MS);
    expect(agent.asked).toEqual(["start", "interval", "gate opens"]);
    schedule.stop();
  });

  it("plans anew after a reconcile someone else asked for, keeping one timer", () => {
    const { agent, schedule } = started();
    agent.end();
    vi.advanceTimersByTime(300_000);
    agent.end(new Date(Date.now() + 5_000)); // a webhook's reconcile found a pause
    vi.advanceTimersByTime(5_000 + WAKE_MARGIN_MS);
    expect(agent.asked).toEqual(["start", "gate opens"]);
    agent.end();
    vi.advanceTimersByTime(600_000);
    expect(agent.asked).toEqual(["start", "gate opens", "interval"]);
    schedule.stop();
  });

  it("stop() cancels the next reconcile, and one ending later plans none", () => {
    const { agent, schedule } = started();
    agent.end(new Date(Date.now() + 1_000));
    schedule.stop();
    agent.end(new Date(Date.now() + 1_000));
    vi.advanceTimersByTime(3_600_000);
    expect(agent.asked).toEqual(["start"]);
    expect(vi.getTimerCount()).toBe(0);
  });
});
