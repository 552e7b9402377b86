/**
 * An in-memory AgentControl for the HTTP module's own tests (unit and dashboard e2e). It is a
 * stand-in for our own interface, not for an external system: it records every call and applies
 * actions to its status so the dashboard can show their effect.
 */
import type { Rollout } from "../model/rollout.ts";
import { defaultStrategy } from "../model/strategy.ts";
import type { ActionResult, AgentControl, AgentStatusView, Offer, RolloutDetailView } from "./control.ts";

import { rolloutDetailView, rolloutView } from "./control.ts";
import { AgentMetrics } from "./metrics.ts";

export type RecordedCall =
  | { method: "updateBotNow"; botId: string; actor: string; offer?: Offer }
  | { method: "setRolloutControl"; id: string; state: string; actor: string; reason: string | undefined }
  | { method: "setFleetPaused"; paused: boolean; actor: string; reason: string | undefined }
  | {
      method: "rollbackBot";
      botId: string;
      actor: string;
      to: string | undefined;
      reason: string | undefined;
    }
  | { method: "requestReconcile"; reason: string };

export const DIGEST_V1 = `sha256:${"a1".repeat(32)}`;
export const DIGEST_V2 = `sha256:${"b2".repeat(32)}`;
export const ROLLOUT_ID = "2026-11-27T0612Z-b2b2b2b2";

export function samplePlan(): Rollout {
  return {
    id: ROLLOUT_ID,
    createdAt: "2026-11-27T06:12:00Z",
    basedOn: "0123456789abcdef0123456789abcdef01234567",
    image: "ghcr.io/acme/paperclip:managed",
    digest: DIGEST_V2,
    strategy: { ...defaultStrategy, batchPercent: 50 },
    control: { state: "active" },
    changelog: {
      version: "1.4.0",
      date: "2026-11-27",
      sections: [
        { title: "New", items: ["Replies can quote <earlier> messages"] },
        { title: "Fixed", items: ["Uploads over 10 MB no longer time out"] },
      ],
    },
    targets: [
      { bot: "acme-main", tenant: "acme", host: "host-a", wave: 1 },
      { bot: "beta-1", tenant: "beta", host: "host-a", wave: 1 },
      { bot: "gamma-1", tenant: "gamma", host: "host-a", wave: 2 },
      { bot: "delta-1", tenant: "delta", host: "host-b", wave: 2 },
    ],
  };
}

export function sampleStatus(): AgentStatusView {
  const plan = samplePlan();
  return {
    host: "host-a",
    observedCommit: "9f8e7d6c5b4a39281706f5e4d3c2b1a098765432",
    paused: false,
    lastReconcileAt: "2026-11-27T06:30:05Z",
    lastError: {
      source: "git-push",
      message: "push to origin failed: connection refused; 2 commits queued",
      at: "2026-11-27T06:29:59Z",
    },
    bots: [
      {
        id: "acme-main",
        tenant: "acme",
        digest: DIGEST_V2,
        state: "running",
        updateMode: "auto",
        last: {
          rollout: ROLLOUT_ID,
          result: "updated",
          from: DIGEST_V1,
          to: DIGEST_V2,
          at: "2026-11-27T06:20:11Z",
          durationMs: 8200,
        },
      },
      {
        id: "beta-1",
        tenant: "beta",
        digest: DIGEST_V1,
        state: "running",
        updateMode: "auto",
        last: {
          rollout: ROLLOUT_ID,
          result: "rolled-back",
          from: DIGEST_V1,
          to: DIGEST_V2,
          at: "2026-11-27T06:21:40Z",
          durationMs: 131000,
          reason: "health check timed out after 120s; volumes restored",
        },
      },
      {
        id: "gamma-1",
        tenant: "gamma",
        digest: DIGEST_V1,
        state: "running",
        updateMode: "manual",
        updateAvailable: { rollout: ROLLOUT_ID, digest: DIGEST_V2 },
      },
    ],
    rollouts: [
      rolloutView(plan, "host-a", {
        state: "in-progress",
        wavesDone: 1,
        bots: {
          "acme-main": { result: "updated", wave: 1, attempts: 1 },
          "beta-1": { result: "rolled-back", wave: 1, attempts: 2 },
          "gamma-1": { result: "update-available", wave: 2, attempts: 0 },
        },
      }),
    ],
  };
}

export interface FakeControl extends AgentControl {
  calls: RecordedCall[];
  state: AgentStatusView;
  /** When set, the next action returns this (once) instead of being applied. */
  nextResult: ActionResult | undefined;
  agentMetrics: AgentMetrics;
}

export function fakeControl(state: AgentStatusView = sampleStatus()): FakeControl {
  const plans = new Map<string, Rollout>([[ROLLOUT_ID, samplePlan()]]);
  const fake: FakeControl = {
    host: state.host,
    watchedBranch: "main",
    calls: [],
    state,
    nextResult: undefined,
    agentMetrics: new AgentMetrics({
      host: state.host,
      branch: "main",
      build: { version: "0.0.0-test", commit: "0123456789abcdef0123456789abcdef01234567" },
      processMetrics: false,
    }),
    status: () => fake.state,
    rollout(id: string): RolloutDetailView | undefined {
      const plan = plans.get(id);
      if (!plan) return undefined;
      const view = fake.state.rollouts.find((r) => r.id === id);
      return rolloutDetailView(
        { ...plan, control: view?.control ?? plan.control },
        fake.host,
        view?.progress,
      );
    },
    async updateBotNow(botId, actor, offer) {
      fake.calls.push({ method: "updateBotNow", botId, actor, ...(offer ? { offer } : {}) });
      const forced = take();
      if (forced) return forced;
      const bot = fake.state.bots.find((b) => b.id === botId);
      if (!bot) return { ok: false, status: 404, message: `no bot ${botId} on ${fake.host}` };
      const waiting = bot.updateAvailable;
      if (offer && (waiting?.rollout !== offer.rollout || waiting.digest !== offer.digest))
        return { ok: false, status: 409, message: `bot ${botId} is no longer offered ${offer.digest}` };
      const onTarget = fake.state.rollouts.find((r) => !bot.updateAvailable && r.digest === bot.digest);
      if (onTarget) {
        const message = `bot ${botId} already runs ${bot.digest?.slice(0, 19)}, the target of rollout ${onTarget.id}; nothing to update`;
        return { ok: false, status: 409, message };
      }
      if (bot.updateAvailable) {
        bot.last = {
          rollout: bot.updateAvailable.rollout,
          result: "updated",
          from: bot.digest,
          to: bot.updateAvailable.digest,
          at: new Date().toISOString(),
          durationMs: 7000,
          actor,
        };
        bot.digest = bot.updateAvailable.digest;
        delete bot.updateAvailable;
      }
      return { ok: true, message: `${botId} updated`, commit: "c0ffee0000000000000000000000000000000000" };
    },
    async setRolloutControl(id, state, actor, reason) {
      fake.calls.push({ method: "setRolloutControl", id, state, actor, reason });
      const forced = take();
      if (forced) return forced;
      const view = fake.state.rollouts.find((r) => r.id === id);
      if (!view) return { ok: false, status: 404, message: `no rollout ${id}` };
      view.control = { state, by: actor, at: new Date().toISOString(), ...(reason ? { reason } : {}) };
      return { ok: true, message: `rollout ${id} ${state}` };
    },
    async rollbackBot(botId, actor, { to, reason }) {
      fake.calls.push({ method: "rollbackBot", botId, actor, to, reason });
      const forced = take();
      if (forced) return forced;
      if (!fake.state.bots.some((b) => b.id === botId))
        return { ok: false, status: 404, message: `no bot ${botId} on ${fake.host}` };
      return { ok: true, message: `roll back ${botId}: committed as ${actor}` };
    },
    async setFleetPaused(paused, actor, reason) {
      fake.calls.push({ method: "setFleetPaused", paused, actor, reason });
      const forced = take();
      if (forced) return forced;
      fake.state.paused = paused;
      return { ok: true, message: paused ? "fleet paused" : "fleet resumed" };
    },
    requestReconcile(reason) {
      fake.calls.push({ method: "requestReconcile", reason });
    },
    metrics: () => fake.agentMetrics,
  };
  /** A result forced by the test, used once instead of applying the action. */
  function take(): ActionResult | undefined {
    const result = fake.nextResult;
    fake.nextResult = undefined;
    return result;
  }
  return fake;
}
