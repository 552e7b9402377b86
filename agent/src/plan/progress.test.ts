import { describe, expect, it } from "vitest";
import type { Rollout } from "../model/rollout.ts";
import type { HostStatus } from "../model/status.ts";
import { defaultStrategy } from "../model/strategy.ts";
import { waveGate } from "./gates.ts";
import {
  choosePlans,
  failedBots,
  hostProgress,
  markWavesDone,
  type RolloutProgress,
  targetResults,
  thresholdHit,
} from "./progress.ts";
import { digestOf, IMAGE } from "./testing.ts";

const NOW = new Date("2026-11-27T06:00:00Z");

function plan(over: Partial<Rollout> = {}): Rollout {
  return {
    id: "r-1",
    createdAt: "2026-11-27T05:00:00Z",
    basedOn: "abc1234",
    image: IMAGE,
    digest: digestOf("b2"),
    strategy: { ...defaultStrategy, pauseSeconds: 600, failureThreshold: 2 },
    control: { state: "active" },
    targets: [
      { bot: "a1", tenant: "t", host: "host-a", wave: 1 },
      { bot: "b1", tenant: "t", host: "host-b", wave: 1 },
      { bot: "a2", tenant: "t", host: "host-a", wave: 2 },
      { bot: "a3", tenant: "t", host: "host-a", wave: 3 },
    ],
    ...over,
  };
}

type Result = RolloutProgress["bots"][string]["result"];

function progress(results: Record<string, [Result, number]>, wavesDone = 0): RolloutProgress {
  const bots: RolloutProgress["bots"] = {};
  for (const [bot, [result, wave]] of Object.entries(results)) bots[bot] = { result, wave, attempts: 1 };
  return { state: "in-progress", wavesDone, bots };
}

function status(
  host: string,
  rollouts: Record<string, RolloutProgress>,
  lastAt: Record<string, string> = {},
): HostStatus {
  const bots: HostStatus["bots"] = {};
  for (const [bot, at] of Object.entries(lastAt))
    bots[bot] = {
      digest: null,
      state: "running",
      last: { result: "failed", from: null, to: digestOf("b2"), at, durationMs: 1 },
    };
  return { host, observedCommit: "abc", updatedAt: NOW.toISOString(), bots, rollouts, quarantine: [] };
}

describe("markWavesDone", () => {
  it("counts the waves whose targets on this host all have a final result, and stamps when", () => {
    const p = progress({ a1: ["updated", 1], a2: ["pending", 2] });
    markWavesDone(p, plan(), "host-a", NOW);
    expect(p).toMatchObject({ wavesDone: 1, finishedAt: NOW.toISOString() });
  });

  it("does not wait for other hosts' targets or for manual tenants' bots", () => {
    const p = progress({ a1: ["update-available", 1], a2: ["skipped", 2], a3: ["rolled-back", 3] });
    markWavesDone(p, plan(), "host-a", NOW);
    expect(p.wavesDone).toBe(3);
  });

  it("treats a target without an entry as pending", () => {
    const p = progress({});
    markWavesDone(p, plan(), "host-a", NOW);
    expect(p.wavesDone).toBe(0);
    expect(p.finishedAt).toBeUndefined();
  });

  it("never moves back, and keeps the old finishedAt when nothing new is done", () => {
    const p = { ...progress({ a1: ["pending", 1] }, 2), finishedAt: "2026-11-27T05:30:00.000Z" };
    markWavesDone(p, plan(), "host-a", NOW);
    expect(p).toMatchObject({ wavesDone: 2, finishedAt: "2026-11-27T05:30:00.000Z" });
  });

  it("a host without targets in the plan has finished its last wave", () => {
    const p = progress({});
    markWavesDone(p, plan(), "host-c", NOW);
    expect(p.wavesDone).toBe(3);
  });
});

describe("hostProgress", () => {
  it("takes this host from memory, never from its (older) status file in git", () => {
    const statuses = [
      status("host-a", { "r-1": progress({}, 0) }),
      status("host-b", { "r-1": { ...progress({}, 1), finishedAt: "2026-11-27T05:55:00Z" } }),
    ];
    const map = hostProgress(statuses, "r-1", "host-a", progress({}, 1));
    expect(Object.fromEntries(map)).toEqual({
      "host-a": { wavesDone: 1 },
      "host-b": { wavesDone: 1, finishedAt: "2026-11-27T05:55:00Z" },
    });
  });

  it("a host that has not reported the rollout is absent, so the next wave waits for it", () => {
    const map = hostProgress([status("host-b", {})], "r-1", "host-a", progress({}, 1));
    expect(map.has("host-b")).toBe(false);
    expect(waveGate(plan(), 2, map, NOW)).toEqual({
      open: false,
      reason: "hosts-busy",
      waitingFor: ["host-b"],
    });
  });

  it("a missing finishedAt does not open the next wave while another host's pause runs", () => {
    const statuses = [
      status("host-b", { "r-1": { ...progress({}, 1), finishedAt: "2026-11-27T05:58:00Z" } }),
    ];
    const map = hostProgress(statuses, "r-1", "host-a", progress({}, 1));
    expect(map.get("host-a")).toEqual({ wavesDone: 1 });
    expect(waveGate(plan(), 2, map, NOW)).toMatchObject({ open: false, reason: "pausing" });
  });
});

describe("failedBots and the threshold", () => {
  const failedB = status(
    "host-b",
    { "r-1": progress({ b1: ["failed", 1] }) },
    { b1: "2026-11-27T05:10:00Z" },
  );

  it("counts failures of every host: the others from git, this host from memory", () => {
    const mine = status("host-a", { "r-1": progress({ a1: ["rolled-back", 1], a2: ["updated", 2] }) });
    const stale = status("host-a", { "r-1": progress({ a1: ["failed", 1], a2: ["failed", 2] }) });
    const failed = failedBots([stale, failedB], plan(), "host-a", mine);
    expect(failed.map((f) => `${f.host}/${f.bot}/${f.result}`).sort()).toEqual([
      "host-a/a1/rolled-back",
      "host-b/b1/failed",
    ]);
    expect(thresholdHit([failedB], plan(), "host-a", mine)).toBe(true);
  });

  it("one failure below the threshold does not stop the rollout", () => {
    const mine = status("host-a", { "r-1": progress({ a1: ["updated", 1] }) });
    expect(thresholdHit([failedB], plan(), "host-a", mine)).toBe(false);
  });

  it("a resume gives a fresh count: failures before control.at are not counted", () => {
    const mine = status("host-a", { "r-1": progress({ a1: ["failed", 1] }) }, { a1: "2026-11-27T05:20:00Z" });
    const resumed = plan({ control: { state: "active", by: "ops", at: "2026-11-27T05:30:00Z" } });
    expect(failedBots([failedB], resumed, "host-a", mine)).toEqual([]);
    expect(thresholdHit([failedB], resumed, "host-a", mine)).toBe(false);
    const failedAfter = status(
      "host-a",
      { "r-1": progress({ a1: ["failed", 1] }) },
      { a1: "2026-11-27T05:40:00Z" },
    );
    expect(failedBots([failedB], resumed, "host-a", failedAfter).map((f) => f.bot)).toEqual(["a1"]);
  });

  it("a paused rollout keeps counting every failure (the count is fresh only once resumed)", () => {
    const mine = status("host-a", { "r-1": progress({ a1: ["failed", 1] }) }, { a1: "2026-11-27T05:20:00Z" });
    const paused = plan({ control: { state: "paused", by: "ops", at: "2026-11-27T05:30:00Z" } });
    expect(failedBots([failedB], paused, "host-a", mine)).toHaveLength(2);
  });

  it("the immediate strategy ignores the threshold", () => {
    const mine = status("host-a", { "r-1": progress({ a1: ["failed", 1], a2: ["failed", 2] }) });
    const immediate = plan({ strategy: { ...plan().strategy, name: "immediate" } });
    expect(failedBots([failedB], immediate, "host-a", mine)).toHaveLength(3);
    expect(thresholdHit([failedB], immediate, "host-a", mine)).toBe(false);
  });
});

describe("choosePlans", () => {
  const on = (host: string) => [{ bot: "x", tenant: "t", host, wave: 1 }];

  it("orders this host's plans oldest first and supersedes older plans of the same image", () => {
    const rollouts = [
      plan({ id: "r-3", createdAt: "2026-11-27T07:00:00Z", targets: on("host-a") }),
      plan({ id: "r-1", createdAt: "2026-11-27T05:00:00Z", targets: on("host-a") }),
      plan({
        id: "r-2",
        createdAt: "2026-11-27T06:00:00Z",
        image: "ghcr.io/acme/other:v",
        targets: on("host-a"),
      }),
      plan({ id: "r-4", createdAt: "2026-11-27T08:00:00Z", targets: on("host-b") }),
    ];
    expect(choosePlans(rollouts, "host-a").map((c) => [c.plan.id, c.supersededBy])).toEqual([
      ["r-1", "r-3"],
      ["r-2", undefined],
      ["r-3", undefined],
    ]);
  });

  it("breaks a tie in createdAt by id, so every host picks the same newest plan", () => {
    const rollouts = [plan({ id: "r-b", targets: on("host-a") }), plan({ id: "r-a", targets: on("host-a") })];
    expect(choosePlans(rollouts, "host-a").map((c) => [c.plan.id, c.supersededBy])).toEqual([
      ["r-a", "r-b"],
      ["r-b", undefined],
    ]);
  });
});

describe("progress edge cases", () => {
  it("leaves this host out when it has nothing in memory, even if its old status file in git has the rollout", () => {
    const statuses = [
      status("host-a", { "r-1": progress({}, 2) }),
      status("host-b", { "r-1": progress({}, 1) }),
    ];
    expect(Object.fromEntries(hostProgress(statuses, "r-1", "host-a", undefined))).toEqual({
      "host-b": { wavesDone: 1 },
    });
  });

  it("carries this host's finishedAt from memory", () => {
    const mine = { ...progress({}, 1), finishedAt: "2026-11-27T05:59:00.000Z" };
    expect(hostProgress([], "r-1", "host-a", mine).get("host-a")).toEqual({
      wavesDone: 1,
      finishedAt: "2026-11-27T05:59:00.000Z",
    });
  });

  it("skips hosts that have not reported the rollout and bots that never ran an update", () => {
    const noRollout = status("host-c", {});
    const mine = status("host-a", { "r-1": progress({ a1: ["failed", 1] }) });
    delete mine.bots.a1;
    const resumed = plan({ control: { state: "active", by: "ops", at: "2026-11-27T05:30:00Z" } });
    expect(failedBots([noRollout], resumed, "host-a", mine).map((f) => f.bot)).toEqual(["a1"]);
    const neverUpdated = status("host-a", { "r-1": progress({ a1: ["failed", 1] }) });
    neverUpdated.bots.a1 = { digest: null, state: "running" };
    expect(failedBots([noRollout], resumed, "host-a", neverUpdated).map((f) => f.bot)).toEqual(["a1"]);
  });

  it("counts a failure stamped at the very second of the resume", () => {
    const at = "2026-11-27T05:30:00Z";
    const mine = status("host-a", { "r-1": progress({ a1: ["failed", 1] }) }, { a1: at });
    const resumed = plan({ control: { state: "active", by: "ops", at } });
    expect(failedBots([], resumed, "host-a", mine).map((f) => f.bot)).toEqual(["a1"]);
  });

  it("reports a failure's reason, or its result when it has none", () => {
    const withReason = progress({ a1: ["failed", 1], a2: ["rolled-back", 2] });
    withReason.bots.a1!.reason = "health check timed out";
    const failed = failedBots([], plan(), "host-a", status("host-a", { "r-1": withReason }));
    expect(failed.map((f) => [f.bot, f.reason])).toEqual([
      ["a1", "health check timed out"],
      ["a2", "rolled-back"],
    ]);
  });

  it("works on a plan with targets on this host among others", () => {
    const shared = plan({ id: "r-shared" });
    expect(choosePlans([shared], "host-b").map((c) => c.plan.id)).toEqual(["r-shared"]);
  });
});

describe("targetResults", () => {
  it("knows only the targets with a result: this host's from memory, the others' from git", () => {
    const b = status("host-b", { "r-1": progress({ b1: ["updated", 1] }) });
    const mine = status("host-a", { "r-1": progress({ a1: ["failed", 1] }) });
    expect(Object.fromEntries(targetResults([b], plan(), "host-a", mine))).toEqual({
      a1: "failed",
      b1: "updated",
    });
  });

  it("skips hosts without a status file or without the rollout, and bots without an entry", () => {
    const other = plan({
      targets: [...plan().targets, { bot: "c1", tenant: "t", host: "host-c", wave: 1 }],
    });
    const b = status("host-b", {});
    const mine = status("host-a", { "r-1": progress({ a2: ["updated", 2] }) });
    expect([...targetResults([b], other, "host-a", mine)]).toEqual([["a2", "updated"]]);
  });
});
