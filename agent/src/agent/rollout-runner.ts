import type { AuditRecord } from "../audit/commit-message.ts";
import type { FleetBot, FleetState } from "../model/fleet-state.ts";
import type { Rollout, RolloutTarget } from "../model/rollout.ts";
import { type HostStatus, isFinal } from "../model/status.ts";
import { effectiveTenantMode, type HostWaveProgress, targetGate, waveGate } from "../plan/gates.ts";
import {
  choosePlans,
  type FailedTarget,
  failedBots,
  hostProgress,
  markWavesDone,
  targetResults,
  thresholdHit,
} from "../plan/progress.ts";
import { earliestWake } from "../plan/wake.ts";
import { auditRecord, type BotUpdater } from "./bot-updater.ts";
import { setRolloutControl } from "./fleet-edits.ts";
import {
  completedEvent,
  isReporter,
  startedEvent,
  thresholdEvent,
  updateAvailableEvent,
} from "./outcome-events.ts";
import { runPool } from "./pool.ts";
import type { AgentRuntime } from "./runtime.ts";
import type { StatusWriter } from "./status-writer.ts";

/**
 * How a wave advances on this host: for every plan that has targets here, the runner opens the
 * next wave when the wave gate lets it, stops at the failure threshold, offers the update to
 * manual tenants, skips targets whose gates say so and updates the rest through the bot updater,
 * at most `maxParallel` at once.
 */
export class RolloutRunner {
  /** Plans this agent has seen unfinished: only their completion is announced (not old ones after a restart). */
  private readonly seenUnfinished = new Set<string>();

  constructor(
    private readonly rt: AgentRuntime,
    private readonly updater: BotUpdater,
    private readonly writer: StatusWriter,
    /** Re-reads desired state between waves, so a pause or abort in git stops the next wave. */
    private readonly refresh: () => Promise<FleetState | undefined>,
  ) {}

  async runRollouts(): Promise<void> {
    const state = this.rt.desired.current?.state;
    if (!state) return;
    const plans = choosePlans(state.rollouts, this.rt.host);
    this.rt.book.retainRollouts(new Set(state.rollouts.map((r) => r.id)));
    for (const { plan, supersededBy } of plans) {
      if (this.rt.stopping) return;
      const progress = this.rt.book.progress(plan.id);
      if (progress?.state === "aborted") {
        await this.announceCompletion(plan.id);
        continue;
      }
      // Before the completed check: a plan completes while a manual tenant's offer still waits,
      // and a newer plan must withdraw that offer too.
      if (supersededBy && plan.control.state !== "aborted") {
        this.supersede(plan, supersededBy);
        await this.announceCompletion(plan.id);
        continue;
      }
      if (progress?.state === "completed" && this.reopened(state, plan).length > 0)
        progress.state = "in-progress";
      if (progress?.state === "completed") {
        await this.announceCompletion(plan.id);
        continue;
      }
      if (plan.control.state === "aborted") {
        this.rt.book.ensureProgress(plan.id).state = "aborted";
        continue;
      }
      await this.announceCompletion(plan.id);
      await this.runPlan(plan.id);
      await this.announceCompletion(plan.id);
    }
    await this.writer.commitStatus("reconcile rollouts", []);
  }

  /**
   * A manual tenant's bot offered "Update now" whose tenant has since switched to auto: its
   * target is open again, and the next open window updates it like any other.
   */
  private reopened(state: FleetState, plan: Rollout): RolloutTarget[] {
    const progress = this.rt.book.progress(plan.id);
    return this.myTargets(plan).filter((t) => {
      if (progress?.bots[t.bot]?.result !== "update-available") return false;
      const bot = state.bots.find((b) => b.id === t.bot);
      const tenant = state.tenants.find((x) => x.tenant === (bot?.tenant ?? t.tenant));
      return tenant !== undefined && effectiveTenantMode(state.fleet, tenant) === "auto";
    });
  }

  /**
   * \`rollout.started\` and \`rollout.completed\` come from one host only, the host of the plan's
   * first target, so admins hear of each once however many hosts take part.
   */
  private async announceCompletion(planId: string): Promise<void> {
    const state = this.rt.desired.current?.state;
    const plan = state?.rollouts.find((r) => r.id === planId);
    if (!state || !plan || !isReporter(plan, this.rt.host) || plan.control.state === "aborted") return;
    const results = targetResults(state.statuses, plan, this.rt.host, this.rt.book.value);
    const done = plan.targets.every((t) => {
      const r = results.get(t.bot);
      return r !== undefined && isFinal(r);
    });
    if (!done) {
      this.seenUnfinished.add(plan.id);
      return;
    }
    if (!this.seenUnfinished.delete(plan.id)) return;
    await this.rt.notifier?.notify(completedEvent(plan, results));
  }

  private supersede(plan: Rollout, by: string): void {
    const progress = this.rt.book.ensureProgress(plan.id);
    for (const target of plan.targets.filter((t) => t.host === this.rt.host)) {
      const current = progress.bots[target.bot];
      // A waiting offer is final for the wave but not done: the newer plan's offer replaces it.
      if (!current || !isFinal(current.result) || current.result === "update-available") {
        this.rt.book.setTarget(plan.id, target.bot, {
          result: "skipped",
          wave: target.wave,
          reason: `superseded by rollout ${by}`,
        });
      }
    }
    progress.state = "completed";
    for (const [id, status] of Object.entries(this.rt.book.value.bots)) {
      if (status.updateAvailable?.rollout === plan.id)
        this.rt.book.setBot(id, { ...status, updateAvailable: undefined });
    }
  }

  private myTargets(plan: Rollout): RolloutTarget[] {
    return plan.targets.filter((t) => t.host === this.rt.host);
  }

  /** Waves of one plan on this host, for as long as the next wave may start now. */
  private async runPlan(planId: string): Promise<void> {
    for (;;) {
      const state = this.rt.desired.current?.state;
      const plan = state?.rollouts.find((r) => r.id === planId);
      if (!state || !plan || this.rt.stopping) return;
      const mine = this.myTargets(plan);
      const progress = this.rt.book.ensureProgress(plan.id);
      for (const t of mine)
        if (!progress.bots[t.bot])
          this.rt.book.setTarget(plan.id, t.bot, { result: "pending", wave: t.wave });
      const reopened = new Set(this.reopened(state, plan).map((t) => t.bot));
      const open = openTargets(mine, progress, reopened);
      const fresh = mine.every((t) => progress.bots[t.bot]!.result === "pending");
      const lastWave = Math.max(...plan.targets.map((t) => t.wave));
      this.markWavesDone(plan);
      if (open.length === 0) {
        completeProgress(progress, lastWave);
        return;
      }
      if (plan.control.state === "paused") {
        progress.state = "paused";
        return;
      }
      const wave = Math.min(...open.map((t) => t.wave));
      const gate = waveGate(plan, wave, this.hostProgress(state, plan.id), this.rt.now());
      this.rt.report.wakeAt = earliestWake(this.rt.report.wakeAt, gate);
      if (!gate.open) return;
      if (await this.thresholdReached(state, plan)) return;
      progress.state = "in-progress";

      const go: { target: RolloutTarget; bot: FleetBot }[] = [];
      let held = false;
      let offered = false;
      for (const target of open.filter((t) => t.wave === wave)) {
        const g = targetGate(state, plan, target, this.rt.now());
        this.rt.report.wakeAt = earliestWake(this.rt.report.wakeAt, g);
        if (g.go) {
          go.push({ target, bot: g.bot });
          continue;
        }
        if (g.hold === "fleet-paused" || g.hold === "rollout-paused" || g.hold === "rollout-aborted")
          held = true;
        else if (g.hold === "manual") {
          if (!reopened.has(target.bot)) await this.offerUpdate(plan, target);
          offered = true;
        } else if (g.hold !== "outside-window") {
          this.rt.book.setTarget(plan.id, target.bot, {
            result: "skipped",
            wave: target.wave,
            reason: g.detail,
          });
        }
      }
      if (held || this.rt.pauseRequested) return;
      if (fresh && (go.length > 0 || offered) && isReporter(plan, this.rt.host))
        await this.rt.notifier?.notify(startedEvent(plan));

      const records: AuditRecord[] = [];
      await runPool(
        go,
        plan.strategy.maxParallel,
        async ({ target, bot }) => {
          const outcome = await this.updater.updateWithRetries(
            bot,
            plan.digest,
            plan.strategy,
            state,
            plan,
            target.wave,
          );
          if (outcome) records.push(auditRecord(outcome));
        },
        () => !this.rt.stopping && !this.rt.pauseRequested && !this.thresholdHit(state, plan),
      );
      const before = progress.wavesDone;
      this.markWavesDone(plan);
      // This host's last open target just finished: the wave's commit says the rollout is
      // completed here, rather than a further fetch, load and commit after it (at 500 hosts on
      // two cores that round trip was the last ~4 minutes of a rollout).
      const stillOpen = openTargets(mine, progress, reopened).length > 0;
      if (!stillOpen) completeProgress(progress, lastWave);
      if (records.length > 0 || progress.wavesDone !== before) {
        await this.writer.commitStatus(`rollout ${plan.id} wave ${wave}`, records, { rollout: plan.id });
        await this.rt.ws.lock.run(() => this.writer.pushQueued());
      }
      if (!stillOpen || (go.length === 0 && progress.wavesDone === before)) return;
      if (!(await this.refresh())) return;
    }
  }

  markWavesDone(plan: Rollout): void {
    markWavesDone(this.rt.book.ensureProgress(plan.id), plan, this.rt.host, this.rt.now());
  }

  private hostProgress(state: FleetState, rollout: string): Map<string, HostWaveProgress> {
    return hostProgress(state.statuses, rollout, this.rt.host, this.rt.book.progress(rollout));
  }

  private failedBots(state: FleetState, plan: Rollout): FailedTarget[] {
    return failedBots(state.statuses, plan, this.rt.host, this.rt.book.value);
  }

  private thresholdHit(state: FleetState, plan: Rollout): boolean {
    return thresholdHit(state.statuses, plan, this.rt.host, this.rt.book.value);
  }

  /** At the threshold: abort (final) or pause the rollout in git, tell the admins, start nothing. */
  private async thresholdReached(state: FleetState, plan: Rollout): Promise<boolean> {
    if (!this.thresholdHit(state, plan)) return false;
    const failed = this.failedBots(state, plan);
    const next = plan.strategy.onThreshold === "abort" ? "aborted" : "paused";
    const reason = `${failed.length} failed bots reached the failure threshold of ${plan.strategy.failureThreshold}`;
    this.rt.book.ensureProgress(plan.id).state = next;
    if (next === "aborted") this.rt.book.quarantine(plan, reason, this.rt.now());
    this.rt.log.warn({ rollout: plan.id }, `${reason}; ${next}`);
    const edit = await this.writer.editDesired(
      `fleet-state/rollouts/${plan.id}.yaml`,
      (text) =>
        setRolloutControl(text, `${plan.id}.yaml`, {
          state: next,
          by: `agent ${this.rt.host}`,
          at: this.rt.now(),
          reason,
        }),
      `${next === "aborted" ? "abort" : "pause"} rollout ${plan.id}`,
      `agent ${this.rt.host}`,
      { kind: next === "aborted" ? "rollout.abort" : "rollout.pause", rollout: plan.id },
    );
    if (!edit.ok) this.rt.setError("git-push", edit.message);
    // Every host that sees the threshold tries the edit; only the one whose edit landed tells the admins.
    if (!edit.ok || !edit.commit) return true;
    await this.rt.notifier?.notify(thresholdEvent(plan, next, reason, failed));
    return true;
  }

  /** A manual tenant's bot: remember the waiting update and tell the tenant, once. */
  private async offerUpdate(plan: Rollout, target: RolloutTarget): Promise<void> {
    const current = this.rt.book.bot(target.bot);
    this.rt.book.setBot(target.bot, {
      state: current?.state ?? "running",
      updateAvailable: { rollout: plan.id, digest: plan.digest },
    });
    this.rt.book.setTarget(plan.id, target.bot, { result: "update-available", wave: target.wave });
    await this.rt.notifier?.notify(updateAvailableEvent(plan, target, current?.digest));
  }
}

type RolloutProgress = HostStatus["rollouts"][string];

/**
 * This host's targets still to run: not final, or an offer whose tenant has since switched to
 * auto (once such a bot has run, its new result is what counts).
 */
function openTargets(
  mine: RolloutTarget[],
  progress: RolloutProgress,
  reopened: ReadonlySet<string>,
): RolloutTarget[] {
  return mine.filter((t) => {
    const result = progress.bots[t.bot]!.result;
    return !isFinal(result) || (reopened.has(t.bot) && result === "update-available");
  });
}

function completeProgress(progress: RolloutProgress, lastWave: number): void {
  progress.state = "completed";
  progress.wavesDone = lastWave;
}
