import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import type { AuditRecord } from "../audit/commit-message.ts";
import { containerDigest } from "../docker/docker.ts";
import { ensureBot } from "../engine/ensure-bot.ts";
import type { UpdateOutcome } from "../engine/outcome.ts";
import { recover } from "../engine/recover.ts";
import {
  type ActionResult,
  type AgentControl,
  type AgentStatusView,
  type MetricsSnapshot,
  type RolloutDetailView,
  rolloutDetailView,
  rolloutView,
} from "../http/control.ts";
import type { FleetBot, FleetState } from "../model/fleet-state.ts";
import { splitImageRef } from "../model/primitives.ts";
import type { Rollout } from "../model/rollout.ts";
import { statusSchema } from "../model/status.ts";
import { effectiveTenantMode, isFleetPaused, targetGate } from "../plan/gates.ts";
import { auditRecord, BotUpdater } from "./bot-updater.ts";
import { setFleetPaused, setRolloutControl } from "./fleet-edits.ts";
import { RolloutRunner } from "./rollout-runner.ts";
import { type AgentOptions, AgentRuntime, type TickReport } from "./runtime.ts";
import { StatusBook } from "./status-book.ts";
import { StatusWriter } from "./status-writer.ts";

export type { AgentOptions, TickReport } from "./runtime.ts";

/**
 * The on-host agent (DESIGN §1, §4, §6): pulls desired state from git, reconciles this host's
 * bots, executes rollout waves through the update engine and commits what happened back.
 */
export class Agent implements AgentControl {
  readonly host: string;
  readonly watchedBranch: string;
  private readonly rt: AgentRuntime;
  private readonly o: AgentOptions;
  private reportedInvalid?: string;
  private reportedOrphans = new Set<string>();
  private ticking?: Promise<TickReport>;
  private again = false;
  private readonly writer: StatusWriter;
  private readonly updater: BotUpdater;
  private readonly rollouts: RolloutRunner;

  constructor(o: AgentOptions) {
    this.o = o;
    this.rt = new AgentRuntime(o);
    this.writer = new StatusWriter(this.rt);
    this.updater = new BotUpdater(this.rt);
    this.rollouts = new RolloutRunner(this.rt, this.updater, this.writer, () => this.refresh());
    this.host = o.host;
    this.watchedBranch = o.branch;
  }

  /** Clones or opens the repository and reads this host's last status from it. */
  async start(): Promise<void> {
    await this.rt.ws.lock.run(async () => {
      await this.rt.ws.open();
      await this.rt.ws.sync();
      const text = await this.rt.ws.read(this.rt.statusPath).catch(() => undefined);
      if (text) {
        const parsed = statusSchema.safeParse(parseYaml(text));
        if (parsed.success) this.rt.book = new StatusBook(parsed.data);
        else this.rt.setError("status", `${this.rt.statusPath} is invalid; starting from an empty status`);
      }
      this.writer.lastCommittedBody = this.writer.body(this.rt.book.value);
    });
  }

  // ---------------------------------------------------------------- the loop

  /** One reconcile; concurrent requests join the running one and schedule one more pass. */
  reconcile(reason: string): Promise<TickReport> {
    if (this.ticking) {
      this.again = true;
      return this.ticking;
    }
    this.ticking = (async () => {
      let report: TickReport;
      do {
        this.again = false;
        report = await this.tick(reason);
      } while (this.again && !this.rt.stopping);
      return report;
    })().finally(() => {
      this.ticking = undefined;
    });
    return this.ticking;
  }

  requestReconcile(reason: string): void {
    const work = this.reconcile(reason).catch((error: Error) => this.rt.setError("reconcile", error.message));
    this.rt.track(work);
  }

  /** Stops starting new work, lets in-flight bot updates finish, pushes what it can. */
  async stop(): Promise<void> {
    this.rt.stopping = true;
    await this.ticking?.catch(() => undefined);
    await Promise.allSettled([...this.rt.background]);
    await this.rt.ws.lock.run(() => this.writer.pushQueued());
    await this.rt.notifier?.flush(5000);
    await this.rt.notifier?.stop();
  }

  private async tick(reason: string): Promise<TickReport> {
    const started = performance.now();
    this.rt.report = { outcomes: [], failed: [], errors: [] };
    this.rt.log(`reconcile (${reason})`);
    try {
      const state = await this.refresh();
      if (state) {
        if (!this.rt.recovered) await this.recoverInterrupted(state);
        await this.reconcileBots(state);
        await this.rollouts.runRollouts();
      }
      await this.rt.ws.lock.run(() => this.writer.pushQueued());
      this.rt.counters.reconciles.ok += 1;
    } catch (error) {
      this.rt.counters.reconciles.failed += 1;
      this.rt.setError("reconcile", (error as Error).message);
      this.rt.report.errors.push((error as Error).message);
    }
    const seconds = (performance.now() - started) / 1000;
    this.rt.counters.reconciles.durationSecondsSum += seconds;
    this.rt.counters.lastReconcileDurationSeconds = seconds;
    this.rt.lastReconcileAt = this.rt.now().toISOString();
    return this.rt.report;
  }

  /** Fetches, fast-forwards and loads fleet-state; an invalid commit keeps the last valid state. */
  private async refresh(): Promise<FleetState | undefined> {
    return this.rt.ws.lock.run(async () => {
      const synced = await this.rt.ws.sync();
      if (!synced.ok) this.rt.setError("git-fetch", synced.error);
      const loaded = await this.rt.desired.load();
      const current = this.rt.desired.current;
      if (current && !this.rt.notifier && this.o.notifier)
        this.rt.notifier = await this.o.notifier(current.state);
      else if (current) this.rt.notifier?.updateConfig(current.state.fleet, current.state.tenants);
      if (!loaded.ok) {
        const lines = loaded.problems.map((p) => `${p.file}:${p.line}: ${p.field}: ${p.message}`);
        this.rt.setError(
          "fleet-state",
          `commit ${loaded.commit.slice(0, 12)} is invalid; acting on ${loaded.fallback?.commit.slice(0, 12) ?? "nothing"}: ${lines.join("; ")}`,
        );
        if (this.reportedInvalid !== loaded.commit) {
          this.reportedInvalid = loaded.commit;
          this.rt.log(`fleet-state at ${loaded.commit.slice(0, 12)} is invalid:\n  ${lines.join("\n  ")}`);
          await this.rt.notifier?.notify({
            type: "fleet_state.invalid",
            commit: loaded.commit,
            problems: loaded.problems,
            ...(loaded.fallback ? { lastValidCommit: loaded.fallback.commit } : {}),
          });
        }
      } else if (this.rt.lastError?.source === "fleet-state") {
        this.rt.lastError = undefined;
      }
      return this.rt.desired.current?.state;
    });
  }

  private async recoverInterrupted(state: FleetState): Promise<void> {
    const outcomes = await recover(this.rt.engineOptions(state.fleet, state.fleet.strategy));
    this.rt.recovered = true;
    if (outcomes.length === 0) return;
    const records: AuditRecord[] = [];
    for (const outcome of outcomes) {
      this.rt.book.recordOutcome(outcome, this.rt.now(), {});
      this.updater.countOutcome(outcome);
      records.push(auditRecord(outcome));
    }
    await this.writer.commitStatus("recover interrupted updates", records);
  }

  // ---------------------------------------------------------------- this host's bots

  private async reconcileBots(state: FleetState): Promise<void> {
    const mine = state.bots.filter((b) => b.host === this.host);
    const records: AuditRecord[] = [];
    const notes: string[] = [];
    for (const bot of mine) {
      if (this.rt.stopping) break;
      if (this.rt.updating.has(bot.id)) continue;
      const info = await this.o.docker.inspect(bot.id);
      if (!info) {
        const outcome = await this.createMissing(bot, state);
        if (outcome) records.push(auditRecord(outcome));
        continue;
      }
      const running = containerDigest(info) ?? null;
      const recorded = this.rt.book.bot(bot.id)?.digest;
      if (recorded && running && recorded !== running) {
        notes.push(`drift: ${bot.id} runs ${running}, the status said ${recorded}`);
        this.rt.log(`drift: ${bot.id} runs ${running}, the status said ${recorded}`);
      }
      this.rt.book.setBot(bot.id, { digest: running, state: info.State.Running ? "running" : "stopped" });
      const last = this.rt.book.bot(bot.id)?.last;
      const pinFailed = last?.to === bot.pinnedDigest && last.result !== "updated";
      if (bot.pinnedDigest && running !== bot.pinnedDigest && !pinFailed && this.isUpdatable(state)) {
        const outcome = await this.updater.updateWithRetries(
          bot,
          bot.pinnedDigest,
          state.fleet.strategy,
          state,
        );
        if (outcome) records.push(auditRecord(outcome));
      }
    }
    const declared = new Set(mine.map((b) => b.id));
    for (const id of Object.keys(this.rt.book.value.bots)) if (!declared.has(id)) this.rt.book.removeBot(id);
    const orphans = new Set<string>();
    for (const c of await this.o.docker.listManaged()) {
      const bot = c.labels["fleetwave.bot"];
      if (
        bot &&
        !declared.has(bot) &&
        !c.name.endsWith(".fleetwave-old") &&
        !state.bots.some((b) => b.id === bot && b.host !== this.host)
      ) {
        orphans.add(c.name);
        // Reported once per agent run: a note on every tick would be a commit on every tick.
        if (!this.reportedOrphans.has(c.name)) {
          notes.push(
            `orphan: container ${c.name} (bot ${bot}) is managed but no longer declared for ${this.host}; it was left running`,
          );
        }
      }
    }
    this.reportedOrphans = orphans;
    await this.writer.commitStatus("reconcile", records, { notes });
  }

  private isUpdatable(state: FleetState): boolean {
    return !this.rt.stopping && !this.rt.pauseRequested && !isFleetPaused(state.fleet);
  }

  /** A declared bot without a container: created at its recorded digest, else its channel's. */
  private async createMissing(bot: FleetBot, state: FleetState): Promise<UpdateOutcome | undefined> {
    let digest = bot.pinnedDigest ?? this.rt.book.bot(bot.id)?.digest ?? undefined;
    if (!digest) {
      const { repository, tag } = splitImageRef(bot.image);
      try {
        digest = await this.o.docker.resolveTag(repository, tag);
      } catch (error) {
        this.rt.setError(
          "reconcile",
          `${bot.id} has no container and its image cannot be resolved: ${(error as Error).message}`,
        );
        return undefined;
      }
    }
    const result = await ensureBot(bot, digest, this.rt.engineOptions(state.fleet, state.fleet.strategy));
    if (result.action !== "created") return undefined;
    this.rt.book.recordOutcome(result.outcome, this.rt.now(), {});
    this.updater.countOutcome(result.outcome);
    this.rt.report.outcomes.push(result.outcome);
    if (result.outcome.result !== "updated")
      this.rt.report.failed.push(`${bot.id}: ${result.outcome.reason}`);
    return result.outcome;
  }

  // ---------------------------------------------------------------- AgentControl (HTTP API)

  status(): AgentStatusView {
    const state = this.rt.desired.current?.state;
    const bots = (state?.bots ?? [])
      .filter((b) => b.host === this.host)
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
      host: this.host,
      observedCommit: this.rt.desired.current?.commit ?? null,
      paused: state ? isFleetPaused(state.fleet) : false,
      ...(this.rt.lastReconcileAt ? { lastReconcileAt: this.rt.lastReconcileAt } : {}),
      ...(this.rt.lastError ? { lastError: this.rt.lastError } : {}),
      bots,
      rollouts: (state?.rollouts ?? []).map((r) => rolloutView(r, this.host, this.rt.book.progress(r.id))),
    };
  }

  rollout(id: string): RolloutDetailView | undefined {
    const plan = this.rt.desired.current?.state.rollouts.find((r) => r.id === id);
    return plan ? rolloutDetailView(plan, this.host, this.rt.book.progress(id)) : undefined;
  }

  async updateBotNow(botId: string, actor: string): Promise<ActionResult> {
    const state = this.rt.desired.current?.state;
    if (!state || this.rt.stopping || !this.rt.recovered)
      return {
        ok: false,
        status: 503,
        message: "the agent is starting (recovering interrupted updates) or stopping; try again shortly",
      };
    const bot = state.bots.find((b) => b.id === botId && b.host === this.host);
    if (!bot) return { ok: false, status: 404, message: `bot ${botId} is not declared on host ${this.host}` };
    if (isFleetPaused(state.fleet) || this.rt.pauseRequested)
      return { ok: false, status: 423, message: "the fleet is paused (fleet.yaml updates.mode)" };
    if (this.rt.updating.has(botId))
      return { ok: false, status: 409, message: `bot ${botId} is being updated right now` };
    const waiting = this.rt.book.bot(botId)?.updateAvailable;
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
      id,
    );
    if (result.ok) this.requestReconcile(`${verb} rollout ${id} by ${actor}`);
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
      );
    } finally {
      this.rt.pauseRequested = false;
      if (!paused) this.requestReconcile(`fleet resumed by ${actor}`);
    }
  }

  metrics(): MetricsSnapshot {
    return {
      ...this.rt.counters,
      ...(this.rt.notifier ? { notificationQueueLength: this.rt.notifier.pendingCount() } : {}),
    };
  }

  /** For `--once` and tests: the last loaded, valid desired state. */
  get desiredState(): FleetState | undefined {
    return this.rt.desired.current?.state;
  }

  /** For tests and the status command: the raw status file text in the clone. */
  async statusFileText(): Promise<string> {
    return readFile(join(this.rt.ws.o.dir, this.rt.statusPath), "utf8");
  }
}
