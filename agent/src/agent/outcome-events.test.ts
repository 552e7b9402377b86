import { describe, expect, it } from "vitest";
import type { UpdateOutcome } from "../engine/outcome.ts";
import { defaultStrategy } from "../model/strategy.ts";
import { targetResults } from "../plan/progress.ts";
import { digestOf, IMAGE } from "../plan/testing.ts";
import {
  completedEvent,
  isReporter,
  outcomeEvent,
  startedEvent,
  thresholdEvent,
  updateAvailableEvent,
} from "./outcome-events.ts";

const bot = { id: "bot-1", tenant: "acme" };
const changelog = {
  version: "1.1.0",
  date: "2026-11-27",
  sections: [{ title: "New" as const, items: ["x"] }],
};
const plan = { id: "r-1", image: IMAGE, digest: digestOf("b2"), strategy: defaultStrategy, changelog };

function outcome(result: UpdateOutcome["result"], from: string | null = digestOf("a1")): UpdateOutcome {
  return {
    bot: "bot-1",
    result,
    from,
    to: digestOf("b2"),
    reason: `why ${result}`,
    durationMs: 42,
    timings: {},
    snapshots: ["s-1"],
  };
}

describe("outcomeEvent", () => {
  it("an update tells the tenant, with the plan's changelog", () => {
    expect(outcomeEvent(bot, outcome("updated"), plan, 1)).toEqual({
      type: "bot.updated",
      bot: "bot-1",
      tenant: "acme",
      rollout: "r-1",
      from: digestOf("a1"),
      to: digestOf("b2"),
      durationMs: 42,
      changelog,
    });
  });

  it("a rollback names the digest the bot is back on, or none", () => {
    expect(outcomeEvent(bot, outcome("rolled-back"), plan, 2)).toMatchObject({
      type: "bot.rolled_back",
      from: digestOf("a1"),
      reason: "why rolled-back",
    });
    expect(outcomeEvent(bot, outcome("rolled-back", null), undefined, 1)).toEqual({
      type: "bot.rolled_back",
      bot: "bot-1",
      tenant: "acme",
      from: "none",
      to: digestOf("b2"),
      reason: "why rolled-back",
    });
  });

  it("a failed rollback carries the kept snapshots; a failed update the attempts", () => {
    expect(outcomeEvent(bot, outcome("rollback-failed"), plan, 1)).toMatchObject({
      type: "bot.rollback_failed",
      snapshots: ["s-1"],
    });
    const failed = outcomeEvent(bot, outcome("failed", null), undefined, 3);
    expect(failed).toEqual({
      type: "bot.update_failed",
      bot: "bot-1",
      tenant: "acme",
      to: digestOf("b2"),
      reason: "why failed",
      attempts: 3,
    });
  });

  it("an update outside any plan has no rollout and no changelog; a first install has no from", () => {
    expect(outcomeEvent(bot, outcome("updated", null), undefined, 1)).toEqual({
      type: "bot.updated",
      bot: "bot-1",
      tenant: "acme",
      to: digestOf("b2"),
      durationMs: 42,
    });
  });

  it("a failed update names the digest the bot was on", () => {
    expect(outcomeEvent(bot, outcome("failed"), plan, 2)).toEqual({
      type: "bot.update_failed",
      bot: "bot-1",
      tenant: "acme",
      rollout: "r-1",
      from: digestOf("a1"),
      to: digestOf("b2"),
      reason: "why failed",
      attempts: 2,
    });
  });

  it("a skipped bot tells nobody", () => {
    expect(outcomeEvent(bot, outcome("skipped"), plan, 0)).toBeUndefined();
  });
});

describe("updateAvailableEvent and thresholdEvent", () => {
  it("offers the waiting digest to the tenant, with what runs now when known", () => {
    const target = { bot: "bot-1", tenant: "acme" };
    expect(updateAvailableEvent(plan, target, digestOf("a1"))).toMatchObject({
      type: "bot.update_available",
      from: digestOf("a1"),
      to: digestOf("b2"),
      changelog,
    });
    expect(updateAvailableEvent(plan, target, null)).not.toHaveProperty("from");
  });

  it("tells the admins which bots failed and whether the rollout was paused or aborted", () => {
    const failed = [{ bot: "bot-1", host: "host-a", result: "failed", reason: "pull" }];
    expect(thresholdEvent(plan, "paused", "3 failed", failed)).toEqual({
      type: "rollout.paused",
      rollout: "r-1",
      image: IMAGE,
      digest: digestOf("b2"),
      reason: "3 failed",
      failed,
      failureThreshold: defaultStrategy.failureThreshold,
    });
    expect(thresholdEvent(plan, "aborted", "3 failed", failed).type).toBe("rollout.aborted");
  });
});

describe("rollout started and completed", () => {
  const targets = [
    { bot: "a", tenant: "t", host: "host-a", wave: 1 },
    { bot: "b", tenant: "t", host: "host-b", wave: 1 },
    { bot: "c", tenant: "t", host: "host-a", wave: 2 },
  ];
  const p = { ...plan, targets };

  it("has no reporter for a plan without targets", () => {
    expect(isReporter({ targets: [] }, "host-a")).toBe(false);
  });

  it("counts skipped and waiting bots apart, and leaves out bots still pending", () => {
    const results = new Map([
      ["a", "skipped" as const],
      ["b", "update-available" as const],
      ["c", "pending" as const],
      ["d", "rollback-failed" as const],
    ]);
    expect(completedEvent(p, results)).toMatchObject({
      summary: { updated: 0, failed: 1, skipped: 1, waiting: 1 },
    });
  });

  it("is announced by the host of the first target only", () => {
    expect(isReporter(p, "host-a")).toBe(true);
    expect(isReporter(p, "host-b")).toBe(false);
    expect(startedEvent(p)).toMatchObject({ type: "rollout.started", rollout: "r-1", targets: 3 });
  });

  it("counts every host's results: this host's from memory, the others' from git", () => {
    const mine = {
      rollouts: {
        "r-1": {
          state: "in-progress" as const,
          wavesDone: 1,
          bots: {
            a: { result: "updated" as const, wave: 1, attempts: 2 },
            c: { result: "update-available" as const, wave: 2, attempts: 0 },
          },
        },
      },
    };
    const other = {
      host: "host-b",
      rollouts: {
        "r-1": {
          state: "completed" as const,
          wavesDone: 1,
          bots: {
            b: { result: "rolled-back" as const, wave: 1, attempts: 1 },
          },
        },
      },
    };
    // host-a's stale copy in git must not win over memory.
    const stale = { host: "host-a", rollouts: {} };
    const results = targetResults([other, stale], p, "host-a", mine);
    expect(completedEvent(p, results)).toMatchObject({
      type: "rollout.completed",
      summary: { updated: 1, failed: 1, skipped: 0, waiting: 1 },
    });
  });
});
