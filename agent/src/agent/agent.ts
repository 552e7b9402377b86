import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { type AuditRecord, formatAuditCommit } from "../audit/commit-message.ts";
import type { DockerAdapter } from "../docker/docker.ts";
import { EngineAvailability } from "../engine/engine-wait.ts";
import { ensureBot } from "../engine/ensure-bot.ts";
import { type HealResult, healBot, IncidentBook } from "../engine/heal-bot.ts";
import { Journal } from "../engine/journal.ts";
import type { UpdateOutcome } from "../engine/outcome.ts";
import { recover } from "../engine/recover.ts";
import { type EngineOptions, updateBot } from "../engine/update-bot.ts";
import { MountpointSnapshotter } from "../engine/volume-snapshots.ts";
import {
  type ActionResult,
  type AgentControl,
  type AgentErrorView,
  type AgentStatusView,
  type MetricsSnapshot,
  type RolloutDetailView,
  rolloutDetailView,
  rolloutView,
} from "../http/control.ts";
import type { FleetBot, FleetState } from "../model/fleet-state.ts";
import { splitImageRef } from "../model/primitives.ts";
import type { Rollout, RolloutTarget } from "../model/rollout.ts";
import { type HostStatus, statusSchema } from "../model/status.ts";
import type { Strategy } from "../model/strategy.ts";
import {
  effectiveTenantMode,
  type HostWaveProgress,
  isFleetPaused,
  targetGate,
  waveGate,
} from "../plan/gates.ts";
import { SnapshotStore } from "../snapshot/index.ts";
import { DesiredState } from "./desired-state.ts";
import { EditError, setFleetPaused, setRolloutControl } from "./fleet-edits.ts";
import type { Notifier } from "./notifier.ts";
import { runPool } from "./pool.ts";
import { isFailure, isFinal, StatusBook } from "./status-book.ts";
import { type Identity, Workspace } from "./workspace.ts";

export interface AgentOptions {
  repo: string;
  host: string;
  branch: string;
  dataDir: string;
  docker: DockerAdapter;
  identity?: Identity;
  /** Made once the first valid fleet-state is loaded (it carries the SMTP and webhook config). */
  notifier?: (state: FleetState) => Promise<Notifier>;
  log?: (line: string) => void;
  now?: () => Date;
  stopTimeoutSeconds?: number;
}

/** What one reconcile did; `--once` exits 1 when `failed`, `errors` or `down` is not empty. */
export interface TickReport {
  outcomes: UpdateOutcome[];
  failed: string[];
  errors: string[];
  /** Declared bots left not running (or not healthy) by this reconcile. */
  down: string[];
}

const FAILURE_RESULTS = new Set(["failed", "rolled-back", "rollback-failed"]);

/**
 * The on-host agent (DESIGN §1, §4, §6): pulls desired state from git, reconciles this host's
 * bots, executes rollout waves through the update engine and commits what happened back.
 */
export class Agent implements AgentControl {
  readonly host: string;
  readonly watchedBranch: string;
  private readonly ws: Workspace;
  private readonly desired: DesiredState;
  private readonly journal: Journal;
  private readonly store: SnapshotStore;
  private readonly snapshotter: MountpointSnapshotter;
  private readonly log: (line: string) => void;
  private readonly now: () => Date;
  private book: StatusBook;
  private lastCommittedBody = "";
  private lastError?: AgentErrorView;
  private lastReconcileAt?: string;
  private reportedInvalid?: string;
  private recovered = false;
  private stopping = false;
  private pauseRequested = false;
  private readonly updating = new Set<string>();
  private reportedOrphans = new Set<string>();
  private ticking?: Promise<TickReport>;
  private again = false;
  private readonly background = new Set<Promise<unknown>>();
  private notifier?: Notifier;
  private report: TickReport = { outcomes: [], failed: [], errors: [], down: [] };
  private readonly availability = new EngineAvailability();
  private readonly incidents = new IncidentBook();
  private readonly counters: MetricsSnapshot = {
    updates: {},
    rollbacks: 0,
    reconciles: { ok: 0, failed: 0, durationSecondsSum: 0 },
    pushQueueLength: 0,
  };

  constructor(private readonly o: AgentOptions) {
    this.host = o.host;
    this.watchedBranch = o.branch;
    this.log = o.log ?? ((line) => process.stderr.write(`${line}\n`));
    this.now = o.now ?? (() => new Date());
    this.ws = new Workspace({
      repo: o.repo,
      branch: o.branch,
      dir: join(o.dataDir, "repo"),
      identity: o.identity ?? {
        name: `Fleetwave Agent (${o.host})`,
        email: `fleetwave-agent@${o.host}.invalid`,
      },
      log: this.log,
    });
    this.desired = new DesiredState(this.ws, o.dataDir);
    this.journal = new Journal(o.dataDir);
    this.store = new SnapshotStore({ dataDir: o.dataDir });
    this.snapshotter = new MountpointSnapshotter(o.docker, this.store);
    this.book = StatusBook.empty(o.host);
    this.availability.onChange((since) => {
      if (since)
        this.setError("docker-engine", `the Docker Engine is unavailable since ${since.toISOString()}`);
      else if (this.lastError?.source === "docker-engine") this.lastError = undefined;
    });
  }

  private get statusPath(): string {
    return `fleet-state/status/${this.host}.yaml`;
  }

  /** Clones or opens the repository and reads this host's last status from it. */
  async start(): Promise<void> {
    await this.ws.lock.run(async () => {
      await this.ws.open();
      await this.ws.sync();
      const text = await this.ws.read(this.statusPath).catch(() => undefined);
      if (text) {
        const parsed = statusSchema.safeParse(parseYaml(text));
        if (parsed.success) this.book = new StatusBook(parsed.data);
        else this.setError("status", `${this.statusPath} is invalid; starting from an empty status`);
      }
      this.lastCommittedBody = this.body(this.book.value);
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
      } while (this.again && !this.stopping);
      return report;
    })().finally(() => {
      this.ticking = undefined;
    });
    return this.ticking;
  }

  requestReconcile(reason: string): void {
    const work = this.reconcile(reason).catch((error: Error) => this.setError("reconcile", error.message));
    this.track(work);
  }

  private track(work: Promise<unknown>): void {
    this.background.add(work);
    void work.finally(() => this.background.delete(work));
  }

  /** Stops starting new work, lets in-flight bot updates finish, pushes what it can. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.ticking?.catch(() => undefined);
    await Promise.allSettled([...this.background]);
    await this.ws.lock.run(() => this.pushQueued());
    await this.notifier?.flush(5000);
    await this.notifier?.stop();
  }

  private async tick(reason: string): Promise<TickReport> {
    const started = performance.now();
    this.report = { outcomes: [], failed: [], errors: [], down: [] };
    this.log(`reconcile (${reason})`);
    try {
      const state = await this.refresh();
      if (state && (await this.engineAnswers())) {
        // Every tick: an update that outwaited an absent Engine left its journal entry for later.
        await this.recoverInterrupted(state);
        await this.reconcileBots(state);
        await this.runRollouts();
      }
      await this.ws.lock.run(() => this.pushQueued());
      this.counters.reconciles.ok += 1;
    } catch (error) {
      this.counters.reconciles.failed += 1;
      this.setError("reconcile", (error as Error).message);
      this.report.errors.push((error as Error).message);
    }
    const seconds = (performance.now() - started) / 1000;
    this.counters.reconciles.durationSecondsSum += seconds;
    this.counters.lastReconcileDurationSeconds = seconds;
    this.lastReconcileAt = this.now().toISOString();
    return this.report;
  }

  /** Fetches, fast-forwards and loads fleet-state; an invalid commit keeps the last valid state. */
  private async refresh(): Promise<FleetState | undefined> {
    return this.ws.lock.run(async () => {
      const synced = await this.ws.sync();
      if (!synced.ok) this.setError("git-fetch", synced.error);
      const loaded = await this.desired.load();
      const current = this.desired.current;
      if (current && !this.notifier && this.o.notifier) this.notifier = await this.o.notifier(current.state);
      else if (current) this.notifier?.updateConfig(current.state.fleet, current.state.tenants);
      if (!loaded.ok) {
        const lines = loaded.problems.map((p) => `${p.file}:${p.line}: ${p.field}: ${p.message}`);
        this.setError(
          "fleet-state",
          `commit ${loaded.commit.slice(0, 12)} is invalid; acting on ${loaded.fallback?.commit.slice(0, 12) ?? "nothing"}: ${lines.join("; ")}`,
        );
        if (this.reportedInvalid !== loaded.commit) {
          this.reportedInvalid = loaded.commit;
          this.log(`fleet-state at ${loaded.commit.slice(0, 12)} is invalid:\n  ${lines.join("\n  ")}`);
          await this.notifier?.notify({
            type: "fleet_state.invalid",
            commit: loaded.commit,
            problems: loaded.problems,
            ...(loaded.fallback ? { lastValidCommit: loaded.fallback.commit } : {}),
          });
        }
      } else if (this.lastError?.source === "fleet-state") {
        this.lastError = undefined;
      }
      return this.desired.current?.state;
    });
  }

  private engineOptions(fleet: FleetState["fleet"], strategy: Strategy): EngineOptions {
    return {
      docker: this.o.docker,
      journal: this.journal,
      snapshots: this.snapshotter,
      allowlist: fleet.images.allowlist,
      healthCheckTimeoutSeconds: strategy.healthCheckTimeoutSeconds,
      minHealthySeconds: strategy.minHealthySeconds,
      keepSnapshots: fleet.snapshots.keepAfterSuccess,
      stopTimeoutSeconds: this.o.stopTimeoutSeconds ?? 10,
      availability: this.availability,
      log: this.log,
    };
  }

  private async recoverInterrupted(state: FleetState): Promise<void> {
    const outcomes = await recover(this.engineOptions(state.fleet, state.fleet.strategy), {
      claim: (id) => {
        if (this.updating.has(id)) return undefined;
        this.updating.add(id);
        return () => this.updating.delete(id);
      },
    });
    this.recovered = true;
    if (outcomes.length === 0) return;
    const records: AuditRecord[] = [];
    for (const outcome of outcomes) {
      this.book.recordOutcome(outcome, this.now(), {});
      this.countOutcome(outcome);
      records.push(this.auditRecord(outcome));
      this.report.outcomes.push(outcome);
      // The old version back is a recovered bot; a recovery that could not finish is a failure.
      if (outcome.result === "rollback-failed") this.report.failed.push(`${outcome.bot}: ${outcome.reason}`);
    }
    await this.commitStatus("recover interrupted updates", records);
  }

  // ---------------------------------------------------------------- this host's bots

  private async reconcileBots(state: FleetState): Promise<void> {
    const mine = state.bots.filter((b) => b.host === this.host);
    const records: AuditRecord[] = [];
    const notes: string[] = [];
    for (const bot of mine) {
      if (this.stopping) break;
      if (this.updating.has(bot.id)) continue;
      const healed = await healBot(bot, this.engineOptions(state.fleet, state.fleet.strategy));
      if (healed.action === "in-update") continue;
      if (healed.action === "missing") {
        const outcome = await this.createMissing(bot, state);
        if (outcome) records.push(this.auditRecord(outcome));
        continue;
      }
      const up = await this.noteHealed(bot, healed, notes);
      const running = healed.digest;
      const recorded = this.book.bot(bot.id)?.digest;
      if (recorded && running && recorded !== running) {
        notes.push(`drift: ${bot.id} runs ${running}, the status said ${recorded}`);
        this.log(`drift: ${bot.id} runs ${running}, the status said ${recorded}`);
      }
      this.book.setBot(bot.id, { digest: running, state: "state" in healed ? healed.state : "running" });
      const last = this.book.bot(bot.id)?.last;
      const pinFailed = last?.to === bot.pinnedDigest && last.result !== "updated";
      if (up && bot.pinnedDigest && running !== bot.pinnedDigest && !pinFailed && this.isUpdatable(state)) {
        const outcome = await this.updateWithRetries(bot, bot.pinnedDigest, state.fleet.strategy, state);
        if (outcome) records.push(this.auditRecord(outcome));
      }
    }
    const declared = new Set(mine.map((b) => b.id));
    this.incidents.retain(declared);
    for (const id of Object.keys(this.book.value.bots)) if (!declared.has(id)) this.book.removeBot(id);
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
    await this.commitStatus("reconcile", records, { notes });
  }

  /** Records what healBot found and did; tells the admins once per incident. True when the bot is up. */
  private async noteHealed(bot: FleetBot, healed: HealResult, notes: string[]): Promise<boolean> {
    const wasDown = healed.action !== "running";
    const up = healed.action === "running" || ("healthy" in healed && healed.healthy);
    const reason = "reason" in healed ? healed.reason : "it runs again";
    if (wasDown) notes.push(`${up ? "healed" : "down"}: ${bot.id}: ${reason}`);
    if (!up) this.report.down.push(`${bot.id}: ${reason}`);
    const notice = this.incidents.observe(bot.id, wasDown, up, this.now());
    if (notice)
      await this.notifier?.notify({
        type: notice.event,
        bot: bot.id,
        tenant: bot.tenant,
        since: notice.since,
        reason,
        ...(healed.action !== "missing" && healed.action !== "in-update" && healed.digest
          ? { digest: healed.digest }
          : {}),
      });
    return up;
  }

  /** Pings the Engine; while it is away the status says so (with since when) and no bot is touched. */
  private async engineAnswers(): Promise<boolean> {
    if (await this.o.docker.ping()) {
      this.availability.markUp();
      delete this.book.value.engine;
      return true;
    }
    this.availability.markDown(this.now());
    const since = this.availability.unavailableSince!.toISOString();
    this.book.value.engine = { state: "engine-unavailable", since };
    this.report.errors.push(
      `the Docker Engine is unavailable since ${since}; no bot was touched (check dockerd)`,
    );
    await this.commitStatus("docker engine unavailable", []);
    return false;
  }

  private isUpdatable(state: FleetState): boolean {
    return !this.stopping && !this.pauseRequested && !isFleetPaused(state.fleet);
  }

  /** A declared bot without a container: created at its recorded digest, else its channel's. */
  private async createMissing(bot: FleetBot, state: FleetState): Promise<UpdateOutcome | undefined> {
    let digest = bot.pinnedDigest ?? this.book.bot(bot.id)?.digest ?? undefined;
    if (!digest) {
      const { repository, tag } = splitImageRef(bot.image);
      try {
        digest = await this.o.docker.resolveTag(repository, tag);
      } catch (error) {
        this.setError(
          "reconcile",
          `${bot.id} has no container and its image cannot be resolved: ${(error as Error).message}`,
        );
        return undefined;
      }
    }
    const result = await ensureBot(bot, digest, this.engineOptions(state.fleet, state.fleet.strategy));
    if (result.action !== "created") return undefined;
    this.book.recordOutcome(result.outcome, this.now(), {});
    this.countOutcome(result.outcome);
    this.report.outcomes.push(result.outcome);
    if (result.outcome.result !== "updated") this.report.failed.push(`${bot.id}: ${result.outcome.reason}`);
    return result.outcome;
  }

  // ---------------------------------------------------------------- rollouts

  private async runRollouts(): Promise<void> {
    const state = this.desired.current?.state;
    if (!state) return;
    const plans = state.rollouts
      .filter((p) => p.targets.some((t) => t.host === this.host))
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
    this.book.retainRollouts(new Set(state.rollouts.map((r) => r.id)));
    const newest = new Map<string, string>();
    for (const plan of plans) newest.set(plan.image, plan.id);
    for (const plan of plans) {
      if (this.stopping) return;
      const progress = this.book.progress(plan.id);
      if (progress?.state === "completed" || progress?.state === "aborted") continue;
      if (plan.control.state === "aborted") {
        this.book.ensureProgress(plan.id).state = "aborted";
        continue;
      }
      if (newest.get(plan.image) !== plan.id) {
        this.supersede(plan, newest.get(plan.image)!);
        continue;
      }
      await this.runPlan(plan.id);
    }
    await this.commitStatus("reconcile rollouts", []);
  }

  private supersede(plan: Rollout, by: string): void {
    const progress = this.book.ensureProgress(plan.id);
    for (const target of plan.targets.filter((t) => t.host === this.host)) {
      const current = progress.bots[target.bot];
      if (!current || !isFinal(current.result)) {
        this.book.setTarget(plan.id, target.bot, {
          result: "skipped",
          wave: target.wave,
          reason: `superseded by rollout ${by}`,
        });
      }
    }
    progress.state = "completed";
    for (const [id, status] of Object.entries(this.book.value.bots)) {
      if (status.updateAvailable?.rollout === plan.id)
        this.book.setBot(id, { ...status, updateAvailable: undefined });
    }
  }

  private myTargets(plan: Rollout): RolloutTarget[] {
    return plan.targets.filter((t) => t.host === this.host);
  }

  /** Waves of one plan on this host, for as long as the next wave may start now. */
  private async runPlan(planId: string): Promise<void> {
    for (;;) {
      const state = this.desired.current?.state;
      const plan = state?.rollouts.find((r) => r.id === planId);
      if (!state || !plan || this.stopping) return;
      const mine = this.myTargets(plan);
      const progress = this.book.ensureProgress(plan.id);
      for (const t of mine)
        if (!progress.bots[t.bot]) this.book.setTarget(plan.id, t.bot, { result: "pending", wave: t.wave });
      const open = mine.filter((t) => !isFinal(progress.bots[t.bot]!.result));
      const lastWave = Math.max(...plan.targets.map((t) => t.wave));
      this.markWavesDone(plan);
      if (open.length === 0) {
        progress.state = "completed";
        progress.wavesDone = lastWave;
        return;
      }
      if (plan.control.state === "paused") {
        progress.state = "paused";
        return;
      }
      const wave = Math.min(...open.map((t) => t.wave));
      const gate = waveGate(plan, wave, this.hostProgress(state, plan.id), this.now());
      if (!gate.open) return;
      if (await this.thresholdReached(state, plan)) return;
      progress.state = "in-progress";

      const go: { target: RolloutTarget; bot: FleetBot }[] = [];
      let held = false;
      for (const target of open.filter((t) => t.wave === wave)) {
        const g = targetGate(state, plan, target, this.now());
        if (g.go) {
          go.push({ target, bot: g.bot });
          continue;
        }
        if (g.hold === "fleet-paused" || g.hold === "rollout-paused" || g.hold === "rollout-aborted")
          held = true;
        else if (g.hold === "manual") await this.offerUpdate(plan, target);
        else if (g.hold !== "outside-window") {
          this.book.setTarget(plan.id, target.bot, {
            result: "skipped",
            wave: target.wave,
            reason: g.detail,
          });
        }
      }
      if (held || this.pauseRequested) return;

      const records: AuditRecord[] = [];
      await runPool(
        go,
        plan.strategy.maxParallel,
        async ({ target, bot }) => {
          const outcome = await this.updateWithRetries(
            bot,
            plan.digest,
            plan.strategy,
            state,
            plan,
            target.wave,
          );
          if (outcome) records.push(this.auditRecord(outcome));
        },
        () => !this.stopping && !this.pauseRequested && !this.thresholdHit(state, plan),
      );
      const before = progress.wavesDone;
      this.markWavesDone(plan);
      if (records.length > 0 || progress.wavesDone !== before) {
        await this.commitStatus(`rollout ${plan.id} wave ${wave}`, records, { rollout: plan.id });
        await this.ws.lock.run(() => this.pushQueued());
      }
      if (go.length === 0 && progress.wavesDone === before) return;
      if (!(await this.refresh())) return;
    }
  }

  /** wavesDone = the highest wave up to which every target of this host has a final result. */
  private markWavesDone(plan: Rollout): void {
    const progress = this.book.ensureProgress(plan.id);
    const open = this.myTargets(plan).filter((t) => !isFinal(progress.bots[t.bot]?.result ?? "pending"));
    const lastWave = Math.max(...plan.targets.map((t) => t.wave));
    const done = open.length === 0 ? lastWave : Math.min(...open.map((t) => t.wave)) - 1;
    if (done > progress.wavesDone) {
      progress.wavesDone = done;
      progress.finishedAt = this.now().toISOString();
    }
  }

  private hostProgress(state: FleetState, rollout: string): Map<string, HostWaveProgress> {
    const map = new Map<string, HostWaveProgress>();
    for (const status of state.statuses) {
      const p = status.rollouts[rollout];
      if (p && status.host !== this.host)
        map.set(status.host, {
          wavesDone: p.wavesDone,
          ...(p.finishedAt ? { finishedAt: p.finishedAt } : {}),
        });
    }
    const mine = this.book.progress(rollout);
    if (mine)
      map.set(this.host, {
        wavesDone: mine.wavesDone,
        ...(mine.finishedAt ? { finishedAt: mine.finishedAt } : {}),
      });
    return map;
  }

  /** Failed bots of a rollout on every host: this host from memory, the others from git. */
  private failedBots(
    state: FleetState,
    plan: Rollout,
  ): { bot: string; host: string; result: string; reason: string }[] {
    const failed: { bot: string; host: string; result: string; reason: string }[] = [];
    // A person who resumes a rollout paused at the threshold gives it a fresh count: only
    // failures after the resume count, or the rollout would pause again at once.
    const since = plan.control.state === "active" && plan.control.at ? plan.control.at : undefined;
    const add = (host: string, status: Pick<HostStatus, "bots" | "rollouts"> | undefined) => {
      for (const [bot, r] of Object.entries(status?.rollouts[plan.id]?.bots ?? {})) {
        const at = status?.bots[bot]?.last?.at;
        if (since && at && Date.parse(at) < Date.parse(since)) continue;
        if (isFailure(r.result)) failed.push({ bot, host, result: r.result, reason: r.reason ?? r.result });
      }
    };
    for (const s of state.statuses) if (s.host !== this.host) add(s.host, s);
    add(this.host, this.book.value);
    return failed;
  }

  private thresholdHit(state: FleetState, plan: Rollout): boolean {
    if (plan.strategy.name === "immediate") return false;
    return this.failedBots(state, plan).length >= plan.strategy.failureThreshold;
  }

  /** At the threshold: abort (final) or pause the rollout in git, tell the admins, start nothing. */
  private async thresholdReached(state: FleetState, plan: Rollout): Promise<boolean> {
    if (!this.thresholdHit(state, plan)) return false;
    const failed = this.failedBots(state, plan);
    const next = plan.strategy.onThreshold === "abort" ? "aborted" : "paused";
    const reason = `${failed.length} failed bots reached the failure threshold of ${plan.strategy.failureThreshold}`;
    this.book.ensureProgress(plan.id).state = next;
    if (next === "aborted") this.book.quarantine(plan, reason, this.now());
    this.log(`rollout ${plan.id}: ${reason}; ${next}`);
    const edit = await this.editDesired(
      `fleet-state/rollouts/${plan.id}.yaml`,
      (text) =>
        setRolloutControl(text, `${plan.id}.yaml`, {
          state: next,
          by: `agent ${this.host}`,
          at: this.now(),
          reason,
        }),
      `${next === "aborted" ? "abort" : "pause"} rollout ${plan.id}`,
      `agent ${this.host}`,
      plan.id,
    );
    if (!edit.ok) this.setError("git-push", edit.message);
    // Every host that sees the threshold tries the edit; only the one whose edit landed tells the admins.
    if (!edit.ok || !edit.commit) return true;
    await this.notifier?.notify({
      type: next === "aborted" ? "rollout.aborted" : "rollout.paused",
      rollout: plan.id,
      image: plan.image,
      digest: plan.digest,
      reason,
      failed: failed.map((f) => ({ bot: f.bot, host: f.host, result: f.result, reason: f.reason })),
      failureThreshold: plan.strategy.failureThreshold,
    });
    return true;
  }

  /** A manual tenant's bot: remember the waiting update and tell the tenant, once. */
  private async offerUpdate(plan: Rollout, target: RolloutTarget): Promise<void> {
    const current = this.book.bot(target.bot);
    this.book.setBot(target.bot, {
      state: current?.state ?? "running",
      updateAvailable: { rollout: plan.id, digest: plan.digest },
    });
    this.book.setTarget(plan.id, target.bot, { result: "update-available", wave: target.wave });
    await this.notifier?.notify({
      type: "bot.update_available",
      bot: target.bot,
      tenant: target.tenant,
      rollout: plan.id,
      to: plan.digest,
      ...(current?.digest ? { from: current.digest } : {}),
      ...(plan.changelog ? { changelog: plan.changelog } : {}),
    });
  }

  /** Up to 1 + maxRetries attempts; records the result and tells the people who need to know. */
  private async updateWithRetries(
    bot: FleetBot,
    digest: string,
    strategy: Strategy,
    state: FleetState,
    plan?: Rollout,
    wave?: number,
    actor?: string,
  ): Promise<UpdateOutcome | undefined> {
    // "Update now" and a wave may reach the same bot; the second one leaves it to the first.
    if (this.updating.has(bot.id)) return undefined;
    this.updating.add(bot.id);
    const before = this.book.bot(bot.id);
    this.book.setBot(bot.id, { state: "updating" });
    let outcome: UpdateOutcome;
    let attempts = 0;
    try {
      do {
        attempts += 1;
        outcome = await updateBot(bot, digest, this.engineOptions(state.fleet, strategy));
        this.countOutcome(outcome);
      } while (
        FAILURE_RESULTS.has(outcome.result) &&
        outcome.result !== "rollback-failed" &&
        attempts <= strategy.maxRetries &&
        !this.stopping
      );
    } catch (error) {
      outcome = {
        bot: bot.id,
        result: "failed",
        from: before?.digest ?? null,
        to: digest,
        reason: (error as Error).message,
        durationMs: 0,
        timings: {},
        snapshots: [],
      };
    } finally {
      this.updating.delete(bot.id);
    }
    this.book.recordOutcome(outcome, this.now(), {
      ...(plan ? { rollout: plan.id } : {}),
      ...(wave !== undefined ? { wave } : {}),
      attempts,
      ...(actor ? { actor } : {}),
    });
    this.report.outcomes.push(outcome);
    if (FAILURE_RESULTS.has(outcome.result)) this.report.failed.push(`${bot.id}: ${outcome.reason}`);
    if (plan && outcome.result === "rolled-back")
      this.book.quarantine(plan, `${bot.id}: ${outcome.reason}`, this.now());
    await this.notifyOutcome(bot, outcome, plan, attempts);
    return outcome;
  }

  private async notifyOutcome(
    bot: FleetBot,
    outcome: UpdateOutcome,
    plan: Rollout | undefined,
    attempts: number,
  ): Promise<void> {
    const n = this.notifier;
    if (!n) return;
    const base = { bot: bot.id, tenant: bot.tenant, ...(plan ? { rollout: plan.id } : {}), to: outcome.to };
    const from = outcome.from ?? "none";
    switch (outcome.result) {
      case "updated":
        await n.notify({
          ...base,
          type: "bot.updated",
          ...(outcome.from ? { from: outcome.from } : {}),
          durationMs: outcome.durationMs,
          ...(plan?.changelog ? { changelog: plan.changelog } : {}),
        });
        break;
      case "rolled-back":
        await n.notify({ ...base, type: "bot.rolled_back", from, reason: outcome.reason });
        break;
      case "rollback-failed":
        await n.notify({
          ...base,
          type: "bot.rollback_failed",
          from,
          reason: outcome.reason,
          snapshots: outcome.snapshots,
        });
        break;
      case "failed":
        await n.notify({
          ...base,
          type: "bot.update_failed",
          ...(outcome.from ? { from: outcome.from } : {}),
          reason: outcome.reason,
          attempts,
        });
        break;
      default:
        break;
    }
  }

  private countOutcome(outcome: UpdateOutcome): void {
    this.counters.updates[outcome.result] = (this.counters.updates[outcome.result] ?? 0) + 1;
    if (outcome.result === "rolled-back" || outcome.result === "rollback-failed")
      this.counters.rollbacks += 1;
  }

  private auditRecord(outcome: UpdateOutcome): AuditRecord {
    return {
      bot: outcome.bot,
      result: outcome.result,
      from: outcome.from,
      to: outcome.to,
      reason: outcome.reason,
      durationMs: outcome.durationMs,
    };
  }

  // ---------------------------------------------------------------- git

  private body(status: HostStatus): string {
    const { updatedAt: _updatedAt, observedCommit: _observed, ...rest } = status;
    return JSON.stringify(rest);
  }

  /** Commits this host's status when it changed (one commit per wave or reconcile). */
  private async commitStatus(
    subject: string,
    records: AuditRecord[],
    extra: { rollout?: string; actor?: string; notes?: string[] } = {},
  ): Promise<void> {
    const body = this.body(this.book.value);
    const notes = extra.notes ?? [];
    if (body === this.lastCommittedBody && records.length === 0 && notes.length === 0) return;
    await this.ws.lock.run(async () => {
      this.book.observe(this.desired.current?.commit ?? "none", this.now());
      const message = formatAuditCommit({
        host: this.host,
        subject,
        records,
        notes,
        ...(extra.rollout ? { rollout: extra.rollout } : {}),
        ...(extra.actor ? { actor: extra.actor } : {}),
      });
      await this.ws.commit({ [this.statusPath]: this.book.toYaml() }, message, extra.actor);
      this.lastCommittedBody = body;
    });
  }

  /** Must run under the workspace lock. */
  private async pushQueued(): Promise<void> {
    const pushed = await this.ws.push();
    this.counters.pushQueueLength = await this.ws.unpushed();
    if (!pushed.ok) {
      this.setError("git-push", `${pushed.error}; ${this.counters.pushQueueLength} commits queued locally`);
    } else if (this.lastError?.source === "git-push") {
      this.lastError = undefined;
    }
  }

  /**
   * An edit of desired state for an API call or a threshold: applied to the fresh HEAD,
   * committed as `actor`, pushed, and re-applied on the newer HEAD when the push is rejected.
   */
  private async editDesired(
    path: string,
    edit: (text: string) => string,
    subject: string,
    actor: string,
    rollout?: string,
  ): Promise<ActionResult> {
    return this.ws.lock.run(async () => {
      await this.ws.sync();
      const message = formatAuditCommit({
        host: this.host,
        subject,
        records: [],
        actor,
        ...(rollout ? { rollout } : {}),
      });
      const apply = async (): Promise<boolean> => {
        const text = await this.ws.read(path);
        const next = edit(text);
        if (next === text) return false;
        return this.ws.commit({ [path]: next }, message, actor);
      };
      let changed: boolean;
      try {
        changed = await apply();
      } catch (error) {
        if (error instanceof EditError) return { ok: false, status: 409, message: error.message };
        if ((error as NodeJS.ErrnoException).code === "ENOENT")
          return { ok: false, status: 404, message: `${path} does not exist` };
        throw error;
      }
      if (!changed) return { ok: true, message: "already so; nothing to change" };
      let refused: EditError | undefined;
      const pushed = await this.ws.push(async () => {
        try {
          await apply();
        } catch (error) {
          // Someone changed the same file first in a way this edit may not follow (e.g. aborted).
          if (error instanceof EditError) refused = error;
          throw error;
        }
      });
      await this.desired.load();
      if (refused) return { ok: false, status: 409, message: refused.message };
      if (!pushed.ok) {
        this.setError("git-push", pushed.error);
        return {
          ok: true,
          message: `committed locally; the push is queued: ${pushed.error}`,
          commit: await this.ws.head(),
        };
      }
      return { ok: true, message: `${subject}: committed as ${actor}`, commit: pushed.commit };
    });
  }

  private setError(source: string, message: string): void {
    this.lastError = { source, message, at: this.now().toISOString() };
    this.log(`error (${source}): ${message}`);
  }

  // ---------------------------------------------------------------- AgentControl (HTTP API)

  status(): AgentStatusView {
    const state = this.desired.current?.state;
    const bots = (state?.bots ?? [])
      .filter((b) => b.host === this.host)
      .map((b) => {
        const s = this.book.bot(b.id);
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
      observedCommit: this.desired.current?.commit ?? null,
      paused: state ? isFleetPaused(state.fleet) : false,
      ...(this.lastReconcileAt ? { lastReconcileAt: this.lastReconcileAt } : {}),
      ...(this.lastError ? { lastError: this.lastError } : {}),
      bots,
      rollouts: (state?.rollouts ?? []).map((r) => rolloutView(r, this.host, this.book.progress(r.id))),
    };
  }

  rollout(id: string): RolloutDetailView | undefined {
    const plan = this.desired.current?.state.rollouts.find((r) => r.id === id);
    return plan ? rolloutDetailView(plan, this.host, this.book.progress(id)) : undefined;
  }

  async updateBotNow(botId: string, actor: string): Promise<ActionResult> {
    const state = this.desired.current?.state;
    if (!state || this.stopping || !this.recovered)
      return {
        ok: false,
        status: 503,
        message: "the agent is starting (recovering interrupted updates) or stopping; try again shortly",
      };
    const bot = state.bots.find((b) => b.id === botId && b.host === this.host);
    if (!bot) return { ok: false, status: 404, message: `bot ${botId} is not declared on host ${this.host}` };
    if (isFleetPaused(state.fleet) || this.pauseRequested)
      return { ok: false, status: 423, message: "the fleet is paused (fleet.yaml updates.mode)" };
    if (this.updating.has(botId))
      return { ok: false, status: 409, message: `bot ${botId} is being updated right now` };
    const waiting = this.book.bot(botId)?.updateAvailable;
    const plan =
      state.rollouts.find((r) => r.id === waiting?.rollout) ??
      [...state.rollouts]
        .filter((r) => r.control.state !== "aborted" && r.targets.some((t) => t.bot === botId))
        .sort((a, b) => b.createdAt.localeCompare(a.createdAt))[0];
    if (!plan || plan.control.state === "aborted")
      return { ok: false, status: 409, message: `no update is waiting for bot ${botId}` };
    const target = plan.targets.find((t) => t.bot === botId)!;
    const gate = targetGate(state, plan, target, this.now(), true);
    if (!gate.go) return { ok: false, status: 409, message: gate.detail };
    const work = (async () => {
      const outcome = await this.updateWithRetries(
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
        this.book.setBot(botId, { state: "running", digest: outcome.to, updateAvailable: undefined });
      const status = this.book.value.bots[botId];
      if (status && outcome.result === "updated") delete status.updateAvailable;
      this.markWavesDone(plan);
      await this.commitStatus(`update now ${botId}`, [this.auditRecord(outcome)], {
        rollout: plan.id,
        actor,
      });
      await this.ws.lock.run(() => this.pushQueued());
    })().catch((error: Error) => this.setError("update-now", error.message));
    this.track(work);
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
    if (!this.desired.current?.state.rollouts.some((r) => r.id === id))
      return { ok: false, status: 404, message: `no rollout ${id}` };
    const verb = state === "active" ? "resume" : state === "paused" ? "pause" : "abort";
    const result = await this.editDesired(
      `fleet-state/rollouts/${id}.yaml`,
      (text) =>
        setRolloutControl(text, `${id}.yaml`, {
          state,
          by: actor,
          at: this.now(),
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
    if (!this.desired.current)
      return { ok: false, status: 503, message: "the agent has no valid fleet-state yet" };
    // Holds new starts from now until the edit is in the working tree that the gates read.
    this.pauseRequested = paused;
    try {
      return await this.editDesired(
        "fleet-state/fleet.yaml",
        (text) => setFleetPaused(text, paused, actor),
        paused ? "pause the fleet" : "resume the fleet",
        actor,
      );
    } finally {
      this.pauseRequested = false;
      if (!paused) this.requestReconcile(`fleet resumed by ${actor}`);
    }
  }

  metrics(): MetricsSnapshot {
    return {
      ...this.counters,
      ...(this.notifier ? { notificationQueueLength: this.notifier.pendingCount() } : {}),
    };
  }

  /** For `--once` and tests: the last loaded, valid desired state. */
  get desiredState(): FleetState | undefined {
    return this.desired.current?.state;
  }

  /** For tests and the status command: the raw status file text in the clone. */
  async statusFileText(): Promise<string> {
    return readFile(join(this.ws.o.dir, this.statusPath), "utf8");
  }
}
