import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import type { AuditRecord } from "../audit/commit-message.ts";
import { ensureBot } from "../engine/ensure-bot.ts";
import { healBot } from "../engine/heal-bot.ts";
import type { UpdateOutcome } from "../engine/outcome.ts";
import { recover } from "../engine/recover.ts";
import type {
  ActionResult,
  AgentControl,
  AgentStatusView,
  Offer,
  RolloutDetailView,
} from "../http/control.ts";
import type { AgentMetrics } from "../http/metrics.ts";
import type { FleetBot, FleetState } from "../model/fleet-state.ts";
import { splitImageRef } from "../model/primitives.ts";
import type { Rollout } from "../model/rollout.ts";
import { statusSchema } from "../model/status.ts";
import { chooseCreateDigest, tagChoice } from "../plan/create-digest.ts";
import type { FleetView } from "../plan/fleet-view.ts";
import { isFleetPaused } from "../plan/gates.ts";
import { BotHealth } from "./bot-health.ts";
import { auditRecord, BotUpdater } from "./bot-updater.ts";
import { ControlAdapter } from "./control-adapter.ts";
import { type DataDirLock, lockDataDir } from "./data-dir-lock.ts";
import type { Loaded } from "./desired-state.ts";
import { DriftKeeper } from "./drift-keeper.ts";
import { hostGuard, selfClaim } from "./host-claim.ts";
import { runPool } from "./pool.ts";
import { RolloutRunner } from "./rollout-runner.ts";
import { type AgentOptions, AgentRuntime, emptyReport, type TickReport } from "./runtime.ts";
import { StatusBook } from "./status-book.ts";
import { StatusWriter } from "./status-writer.ts";

export type { AgentOptions, TickReport } from "./runtime.ts";

/**
 * The on-host agent (docs/architecture.md): pulls desired state from git, reconciles this host's
 * bots, executes rollout waves through the update engine and commits what happened back.
 */
export class Agent implements AgentControl {
  readonly host: string;
  readonly watchedBranch: string;
  private readonly rt: AgentRuntime;
  private readonly o: AgentOptions;
  private reportedRefusedStatus = new Set<string>();
  private reportedInvalid?: string;
  private reportedOrphans = new Set<string>();
  private reportedStopped = new Set<string>();
  private ticking?: Promise<TickReport>;
  private again = false;
  private readonly reconciled = new Set<() => void>();
  private dataDirLock?: DataDirLock;
  private readonly writer: StatusWriter;
  private readonly updater: BotUpdater;
  private readonly health: BotHealth;
  private readonly rollouts: RolloutRunner;
  private readonly control: ControlAdapter;
  private readonly drift: DriftKeeper;

  constructor(o: AgentOptions) {
    this.o = o;
    this.rt = new AgentRuntime(o);
    this.writer = new StatusWriter(this.rt);
    this.updater = new BotUpdater(this.rt);
    this.health = new BotHealth(this.rt, this.writer);
    this.drift = new DriftKeeper(this.rt, this.updater);
    this.rollouts = new RolloutRunner(this.rt, this.updater, this.writer, () => this.refresh());
    this.control = new ControlAdapter(this.rt, this.updater, this.rollouts, this.writer, (reason) =>
      this.requestReconcile(reason),
    );
    this.host = o.host;
    this.watchedBranch = o.branch;
  }

  /** Clones or opens the repository and reads this host's last status from it. */
  async start(): Promise<void> {
    this.dataDirLock = await lockDataDir(this.o.dataDir);
    const self = await selfClaim(this.o.dataDir);
    this.rt.ws.guard = hostGuard(this.host, self, this.rt.now);
    await this.rt.ws.lock.run(async () => {
      await this.rt.ws.open();
      await this.rt.ws.sync();
      // The status ref, or the file on the branch from before this host's agent moved to the ref.
      const text =
        (await this.rt.ws.statusRefs()).get(this.host)?.text ??
        (await this.rt.ws.read(this.rt.statusPath).catch(() => undefined));
      if (text) {
        const parsed = statusSchema.safeParse(parseYaml(text));
        if (parsed.success) this.rt.book = new StatusBook(parsed.data);
        else this.rt.setError("status", `${this.rt.statusPath} is invalid; starting from an empty status`);
      }
      this.writer.lastCommittedBody = this.writer.body(this.rt.book.value);
      this.rt.book.claim(self);
    });
    const leftovers = await this.rt.store.cleanIncomplete();
    if (leftovers.length > 0)
      this.rt.log.warn(`removed what interrupted snapshots left: ${leftovers.join(", ")}`);
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
      for (const listener of this.reconciled) listener();
    });
    return this.ticking;
  }

  /**
   * Calls `listener` after every reconcile, whatever asked for it, so the schedule
   * (reconcile-schedule.ts) plans the next one from its `wakeAt`; returns what unsubscribes it.
   */
  onReconciled(listener: () => void): () => void {
    this.reconciled.add(listener);
    return () => this.reconciled.delete(listener);
  }

  /**
   * The last reconcile's earliest time a gate this host waits on opens by the clock (a wave's
   * pause, a tenant's window); undefined when only git can open what it waits on. Each tick
   * starts without one, so a time never outlives the tick that found it.
   */
  get wakeAt(): Date | undefined {
    return this.rt.report.wakeAt;
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
    await this.dataDirLock?.release();
  }

  private async tick(reason: string): Promise<TickReport> {
    const started = performance.now();
    this.rt.report = emptyReport();
    this.rt.log.info(`reconcile (${reason})`);
    let ok = false;
    try {
      const state = await this.refresh();
      if (state && (await this.health.engineAnswers())) {
        // Every tick: an update that outwaited an absent Engine left its journal entry for later.
        await this.recoverInterrupted(state);
        await this.reconcileBots(state);
        await this.rollouts.runRollouts();
      }
      await this.rt.ws.lock.run(() => this.writer.pushQueued());
      ok = true;
    } catch (error) {
      this.rt.setError("reconcile", (error as Error).message);
      this.rt.report.errors.push((error as Error).message);
    }
    this.rt.metrics.recordReconcile(ok, (performance.now() - started) / 1000);
    this.rt.lastReconcileAt = this.rt.now().toISOString();
    return this.rt.report;
  }

  /** Fetches, fast-forwards and loads fleet-state; an invalid commit keeps the last valid state. */
  private async refresh(): Promise<FleetState | undefined> {
    return this.rt.ws.lock.run(async () => {
      const synced = await this.rt.ws.sync();
      if (!synced.ok) this.rt.setError(synced.held ? "host-held" : "git-fetch", synced.error);
      else if (this.rt.lastError?.source === "host-held" || this.rt.lastError?.source === "git-fetch")
        this.rt.lastError = undefined;
      if (!synced.ok && synced.held) {
        this.rt.report.errors.push(synced.error);
        return undefined;
      }
      const loaded = await this.rt.desired.load();
      const current = this.rt.desired.current;
      if (current && !this.rt.notifier && this.o.notifier)
        this.rt.notifier = await this.o.notifier(current.state);
      else if (current) this.rt.notifier?.updateConfig(current.state.fleet, current.state.tenants);
      this.noteUnverified(loaded);
      for (const refused of this.rt.desired.refusedStatus) {
        this.rt.setError("status-signature", `${refused}; the last verified status of that host is read`);
        if (!this.reportedRefusedStatus.has(refused)) this.rt.log.warn(refused);
      }
      this.reportedRefusedStatus = new Set(this.rt.desired.refusedStatus);
      if (!loaded.ok) {
        const lines = loaded.problems.map((p) => `${p.file}:${p.line}: ${p.field}: ${p.message}`);
        const what = loaded.unverified ? "is not verified" : "is invalid";
        this.rt.setError(
          "fleet-state",
          `commit ${loaded.commit.slice(0, 12)} ${what}; acting on ${loaded.fallback?.commit.slice(0, 12) ?? "nothing"}: ${lines.join("; ")}`,
        );
        if (this.reportedInvalid !== loaded.commit) {
          this.reportedInvalid = loaded.commit;
          this.rt.log.error(
            { commit: loaded.commit, problems: lines },
            `fleet-state at ${loaded.commit.slice(0, 12)} ${what}: ${lines.join("; ")}`,
          );
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

  /** The status file says which commit is refused for its signature, for as long as it is. */
  private noteUnverified(loaded: Loaded): void {
    const status = this.rt.book.value;
    if (loaded.ok || !loaded.unverified) {
      delete status.unverified;
      return;
    }
    if (status.unverified?.commit === loaded.commit) return;
    status.unverified = {
      commit: loaded.commit,
      reason: loaded.problems.map((p) => p.message).join("; "),
      actingOn: loaded.fallback?.commit ?? null,
      since: this.rt.now().toISOString(),
    };
  }

  private async recoverInterrupted(state: FleetState): Promise<void> {
    const outcomes = await recover(this.rt.engineOptions(state.fleet, state.fleet.strategy), {
      claim: (id) => {
        if (this.rt.updating.has(id)) return undefined;
        this.rt.updating.add(id);
        return () => this.rt.updating.delete(id);
      },
    });
    this.rt.recovered = true;
    if (outcomes.length === 0) return;
    const records: AuditRecord[] = [];
    for (const outcome of outcomes) {
      this.rt.book.recordOutcome(outcome, this.rt.now(), {});
      this.updater.countOutcome(outcome);
      records.push(auditRecord(outcome));
      this.rt.report.outcomes.push(outcome);
      // The old version back is a recovered bot; a recovery that could not finish is a failure.
      if (outcome.result === "rollback-failed")
        this.rt.report.failed.push(`${outcome.bot}: ${outcome.reason}`);
    }
    await this.writer.commitStatus("recover interrupted updates", records);
  }

  // ---------------------------------------------------------------- this host's bots

  private async reconcileBots(state: FleetState): Promise<void> {
    const mine = state.bots.filter((b) => b.host === this.host);
    const records: AuditRecord[] = [];
    const notes: string[] = [];
    for (const q of this.rt.book.dropLifted(state.fleet.quarantine.lifted))
      notes.push(`quarantine lifted: ${q.digest} may be planned again for ${q.image}`);
    const missing: FleetBot[] = [];
    for (const bot of mine) {
      if (this.rt.stopping) break;
      if (this.rt.updating.has(bot.id)) continue;
      if (state.fleet.drift.stopped === "respect" && (await this.leftStopped(bot, notes))) continue;
      const healed = await healBot(bot, this.rt.engineOptions(state.fleet, state.fleet.strategy));
      if (healed.action === "in-update") continue;
      if (healed.action === "missing") {
        missing.push(bot);
        continue;
      }
      const up = await this.health.noteHealed(bot, healed, notes);
      const running = healed.digest;
      const recorded = this.rt.book.bot(bot.id)?.digest;
      if (recorded && running && recorded !== running) {
        notes.push(`drift: ${bot.id} runs ${running}, the status said ${recorded}`);
        this.rt.log.warn({ bot: bot.id }, `drift: runs ${running}, the status said ${recorded}`);
      }
      const corrected =
        up && running
          ? await this.drift.check(
              bot,
              state,
              recorded ?? running,
              notes,
              healed.action === "running" ? healed.container : undefined,
            )
          : undefined;
      if (corrected) {
        records.push(auditRecord(corrected));
        continue;
      }
      this.rt.book.setBot(bot.id, { digest: running, state: "state" in healed ? healed.state : "running" });
      const last = this.rt.book.bot(bot.id)?.last;
      const pinFailed = last?.to === bot.pinnedDigest && last.result !== "updated";
      if (up && bot.pinnedDigest && running !== bot.pinnedDigest && !pinFailed && this.isUpdatable(state)) {
        const outcome = await this.updater.updateWithRetries(
          bot,
          bot.pinnedDigest,
          state.fleet.strategy,
          state,
        );
        if (outcome) records.push(auditRecord(outcome));
      }
    }
    // New bots are created side by side (a host given 30 new bots must not take 30 pull-and-start
    // times), at most maxParallel at once like the updates of a wave.
    await runPool(
      missing,
      state.fleet.strategy.maxParallel,
      async (bot) => {
        const outcome = await this.createMissing(bot, state);
        if (outcome) records.push(auditRecord(outcome));
      },
      () => !this.rt.stopping,
    );
    const declared = new Set(mine.map((b) => b.id));
    this.rt.incidents.retain(declared);
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

  /**
   * With `drift.stopped: respect`, a container stopped by hand (exited and not restarting, which
   * its `unless-stopped` policy would otherwise do) stays stopped; reported once per agent run.
   */
  private async leftStopped(bot: FleetBot, notes: string[]): Promise<boolean> {
    const info = await this.o.docker.inspect(bot.id);
    if (info?.State.Status !== "exited" || info.State.Restarting) {
      this.reportedStopped.delete(bot.id);
      return false;
    }
    if (!this.reportedStopped.has(bot.id)) {
      this.reportedStopped.add(bot.id);
      notes.push(`stopped: ${bot.id} was stopped by hand; left stopped (fleet.yaml drift.stopped: respect)`);
    }
    this.rt.book.setBot(bot.id, { state: "stopped" });
    return true;
  }

  private isUpdatable(state: FleetState): boolean {
    return !this.rt.stopping && !this.rt.pauseRequested && !isFleetPaused(state.fleet);
  }

  /**
   * A declared bot without a container: created at its pin, its recorded digest or the digest the
   * fleet confirmed for its image; only with nothing confirmed at its tag's digest, and never at
   * a quarantined one (plan/create-digest.ts).
   */
  private async createMissing(bot: FleetBot, state: FleetState): Promise<UpdateOutcome | undefined> {
    const own = this.rt.book.value;
    const choice = chooseCreateDigest(bot, state.bots, state.statuses, own);
    let digest: string;
    let why: string;
    if (choice.kind === "digest") ({ digest, why } = choice);
    else {
      const { repository, tag } = splitImageRef(bot.image);
      let tagDigest: string;
      try {
        tagDigest = await this.o.docker.resolveTag(repository, tag);
      } catch (error) {
        this.rt.setError(
          "reconcile",
          `${bot.id} has no container and its image cannot be resolved: ${(error as Error).message}`,
        );
        return undefined;
      }
      const chosen = tagChoice(bot, tagDigest, [own, ...state.statuses.filter((s) => s.host !== own.host)]);
      if (!chosen.ok) {
        this.rt.setError("reconcile", `${bot.id} has no container: ${chosen.reason}`);
        return undefined;
      }
      ({ digest, why } = chosen);
    }
    const result = await ensureBot(
      bot,
      digest,
      this.rt.engineOptions(state.fleet, state.fleet.strategy),
      why,
    );
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
    return this.control.status();
  }

  rollout(id: string): RolloutDetailView | undefined {
    return this.control.rollout(id);
  }

  updateBotNow(botId: string, actor: string, offer?: Offer): Promise<ActionResult> {
    return this.control.updateBotNow(botId, actor, offer);
  }

  setRolloutControl(
    id: string,
    state: Rollout["control"]["state"],
    actor: string,
    reason?: string,
  ): Promise<ActionResult> {
    return this.control.setRolloutControl(id, state, actor, reason);
  }

  setFleetPaused(paused: boolean, actor: string): Promise<ActionResult> {
    return this.control.setFleetPaused(paused, actor);
  }

  rollbackBot(
    botId: string,
    actor: string,
    options: { to?: string; reason?: string },
  ): Promise<ActionResult> {
    return this.control.rollbackBot(botId, actor, options);
  }

  metrics(): AgentMetrics {
    return this.control.metrics();
  }

  fleet(): FleetView {
    return this.control.fleet();
  }

  /** For `--once` and tests: the last loaded, valid desired state. */
  get desiredState(): FleetState | undefined {
    return this.rt.desired.current?.state;
  }

  /** For tests and the status command: the raw status file text as last committed. */
  async statusFileText(): Promise<string> {
    const atRef = (await this.rt.ws.statusRefs()).get(this.host)?.text;
    return atRef ?? readFile(join(this.rt.ws.o.dir, this.rt.statusPath), "utf8");
  }
}
