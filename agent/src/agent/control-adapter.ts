import { readAuditLog } from "../audit/git-log.ts";
import { historyRows } from "../audit/history.ts";
import { chooseRollbackTarget, type RollbackTarget, RollbackTargetError } from "../audit/rollback-target.ts";
import {
  type ActionResult,
  type AgentControl,
  type AgentStatusView,
  type Offer,
  type RolloutDetailView,
  rolloutDetailView,
  rolloutView,
} from "../http/control.ts";
import type { AgentMetrics } from "../http/metrics.ts";
import type { Rollout } from "../model/rollout.ts";
import { buildFleetView, type FleetView } from "../plan/fleet-view.ts";
import { effectiveTenantMode, isFleetPaused, targetGate } from "../plan/gates.ts";
import { shortDigest } from "../text/digest.ts";
import { auditRecord, type BotUpdater } from "./bot-updater.ts";
import { pinBot, setFleetPaused, setRolloutControl } from "./fleet-edits.ts";
import type { RolloutRunner } from "./rollout-runner.ts";
import type { AgentRuntime } from "./runtime.ts";
import type { StatusWriter } from "./status-writer.ts";

/**
 * The HTTP port (`AgentControl`) over one agent: the views the dashboard and the API read, and
 * the actions people take ("Update now", pause, resume, abort), which become git commits.
 */
export class ControlAdapter implements AgentControl {
  readonly host: string;
  readonly watchedBranch: string;

  constructor(
    private readonly rt: AgentRuntime,
    private readonly updater: BotUpdater,
    private readonly rollouts: RolloutRunner,
    private readonly writer: StatusWriter,
    /** The agent's reconcile loop: an action that changes desired state asks for a pass. */
    readonly requestReconcile: (reason: string) => void,
  ) {
    this.host = rt.host;
    this.watchedBranch = rt.watchedBranch;
  }

  status(): AgentStatusView {
    const state = this.rt.desired.current?.state;
    const bots = (state?.bots ?? [])
      .filter((b) => b.host === this.rt.host)
      .map((b) => {
        const s = this.rt.book.bot(b.id);
        const tenant = state?.tenants.find((t) => t.tenant === b.tenant);
        const mode = state && tenant ? effectiveTenantMode(state.fleet, tenant) : "auto";
        return {
          id: b.id,
          tenant: b.tenant,
          digest: s?.digest ?? null,
          state: s?.state ?? "missing",
          updateMode: mode === "manual" ? ("manual" as const) : ("auto" as const),
          ...(s?.updateAvailable ? { updateAvailable: s.updateAvailable } : {}),
          ...(s?.last ? { last: s.last } : {}),
        };
      });
    return {
      host: this.rt.host,
      observedCommit: this.rt.desired.current?.commit ?? null,
      paused: state ? isFleetPaused(state.fleet) : false,
      ...(this.rt.lastReconcileAt ? { lastReconcileAt: this.rt.lastReconcileAt } : {}),
      ...(this.rt.lastError ? { lastError: this.rt.lastError } : {}),
      bots,
      rollouts: (state?.rollouts ?? []).map((r) => rolloutView(r, this.rt.host, this.rt.book.progress(r.id))),
    };
  }

  fleet(): FleetView {
    const state = this.rt.desired.current?.state;
    if (!state) return { hosts: [], rollouts: [] };
    return buildFleetView(state, this.rt.book.value, this.rt.now());
  }

  rollout(id: string): RolloutDetailView | undefined {
    const plan = this.rt.desired.current?.state.rollouts.find((r) => r.id === id);
    return plan ? rolloutDetailView(plan, this.rt.host, this.rt.book.progress(id)) : undefined;
  }

  async updateBotNow(botId: string, actor: string, offer?: Offer): Promise<ActionResult> {
    const state = this.rt.desired.current?.state;
    if (!state || this.rt.stopping || !this.rt.recovered)
      return {
        ok: false,
        status: 503,
        message: "the agent is starting (recovering interrupted updates) or stopping; try again shortly",
      };
    if (this.rt.ws.heldBy) return { ok: false, status: 409, message: this.rt.ws.heldBy };
    const bot = state.bots.find((b) => b.id === botId && b.host === this.rt.host);
    if (!bot)
      return { ok: false, status: 404, message: `bot ${botId} is not declared on host ${this.rt.host}` };
    if (isFleetPaused(state.fleet) || this.rt.pauseRequested)
      return { ok: false, status: 423, message: "the fleet is paused (fleet.yaml updates.mode)" };
    if (this.rt.updating.has(botId))
      return { ok: false, status: 409, message: `bot ${botId} is being updated right now` };
    const waiting = this.rt.book.bot(botId)?.updateAvailable;
    if (offer && (waiting?.rollout !== offer.rollout || waiting.digest !== offer.digest))
      return {
        ok: false,
        status: 409,
        message: `bot ${botId} is no longer offered ${shortDigest(offer.digest)} of rollout ${offer.rollout}`,
      };
    const plan =
      state.rollouts.find((r) => r.id === waiting?.rollout) ??
      [...state.rollouts]
        .filter((r) => r.control.state !== "aborted" && r.targets.some((t) => t.bot === botId))
        .sort((a, b) => b.createdAt.localeCompare(a.createdAt))[0];
    if (!plan || plan.control.state === "aborted")
      return { ok: false, status: 409, message: `no update is waiting for bot ${botId}` };
    const target = plan.targets.find((t) => t.bot === botId)!;
    const gate = targetGate(state, plan, target, this.rt.now(), true);
    if (!gate.go) return { ok: false, status: 409, message: gate.detail };
    if (this.rt.book.bot(botId)?.digest === plan.digest) {
      const message = `bot ${botId} already runs ${shortDigest(plan.digest)}, the target of rollout ${plan.id}; nothing to update`;
      return { ok: false, status: 409, message };
    }
    const work = (async () => {
      const outcome = await this.updater.updateWithRetries(
        gate.bot,
        plan.digest,
        { ...plan.strategy, maxRetries: 0 },
        state,
        plan,
        target.wave,
        actor,
      );
      if (!outcome) return;
      if (outcome.result === "updated")
        this.rt.book.setBot(botId, { state: "running", digest: outcome.to, updateAvailable: undefined });
      const status = this.rt.book.value.bots[botId];
      if (status && outcome.result === "updated") delete status.updateAvailable;
      this.rollouts.markWavesDone(plan);
      await this.writer.commitStatus(`update now ${botId}`, [auditRecord(outcome)], {
        rollout: plan.id,
        actor,
      });
      await this.rt.ws.lock.run(() => this.writer.pushQueued());
    })().catch((error: Error) => this.rt.setError("update-now", error.message));
    this.rt.track(work);
    return {
      ok: true,
      pending: true,
      message: `updating ${botId} to ${plan.digest.slice(0, 19)} (rollout ${plan.id}) for ${actor}`,
    };
  }

  async setRolloutControl(
    id: string,
    state: Rollout["control"]["state"],
    actor: string,
    reason?: string,
  ): Promise<ActionResult> {
    if (!this.rt.desired.current?.state.rollouts.some((r) => r.id === id))
      return { ok: false, status: 404, message: `no rollout ${id}` };
    const verb = state === "active" ? "resume" : state === "paused" ? "pause" : "abort";
    const result = await this.writer.editDesired(
      `fleet-state/rollouts/${id}.yaml`,
      (text) =>
        setRolloutControl(text, `${id}.yaml`, {
          state,
          by: actor,
          at: this.rt.now(),
          ...(reason ? { reason } : {}),
        }),
      `${verb} rollout ${id}`,
      actor,
      { kind: `rollout.${verb}`, rollout: id },
    );
    if (result.ok) this.requestReconcile(`${verb} rollout ${id} by ${actor}`);
    return result;
  }

  async rollbackBot(
    botId: string,
    actor: string,
    options: { to?: string; reason?: string },
  ): Promise<ActionResult> {
    const state = this.rt.desired.current?.state;
    if (!state) return { ok: false, status: 503, message: "the agent has no valid fleet-state yet" };
    const bot = state.bots.find((b) => b.id === botId && b.host === this.rt.host);
    if (!bot)
      return { ok: false, status: 404, message: `bot ${botId} is not declared on host ${this.rt.host}` };
    const log = await this.rt.ws.lock.run(() => readAuditLog(this.rt.ws.o.dir));
    let target: RollbackTarget;
    try {
      target = chooseRollbackTarget(
        historyRows(log),
        botId,
        this.rt.book.bot(botId)?.digest ?? null,
        options.to ? { to: options.to } : { previous: true },
      );
    } catch (error) {
      if (error instanceof RollbackTargetError) return { ok: false, status: 409, message: error.message };
      throw error;
    }
    if (bot.pinnedDigest === target.digest)
      return {
        ok: false,
        status: 409,
        message: `bot ${botId} is pinned to ${shortDigest(target.digest)} already`,
      };
    const note = `rolled back by ${actor}${options.reason ? `: ${options.reason}` : ""}; set to null to follow rollouts again`;
    const file = `fleet-state/tenants/${bot.tenant}.yaml`;
    const result = await this.writer.editDesired(
      file,
      (text) => pinBot(text, file, botId, target.digest, note),
      `roll back ${botId} to ${shortDigest(target.digest)}`,
      actor,
      { kind: "bot.rollback", bot: botId, digest: target.digest },
    );
    if (result.ok) this.requestReconcile(`${botId} rolled back by ${actor}`);
    return result;
  }

  async setFleetPaused(paused: boolean, actor: string): Promise<ActionResult> {
    if (!this.rt.desired.current)
      return { ok: false, status: 503, message: "the agent has no valid fleet-state yet" };
    // Holds new starts from now until the edit is in the working tree that the gates read.
    this.rt.pauseRequested = paused;
    try {
      return await this.writer.editDesired(
        "fleet-state/fleet.yaml",
        (text) => setFleetPaused(text, paused, actor),
        paused ? "pause the fleet" : "resume the fleet",
        actor,
        { kind: paused ? "fleet.pause" : "fleet.resume" },
      );
    } finally {
      this.rt.pauseRequested = false;
      if (!paused) this.requestReconcile(`fleet resumed by ${actor}`);
    }
  }

  metrics(): AgentMetrics {
    return this.rt.metrics;
  }
}
