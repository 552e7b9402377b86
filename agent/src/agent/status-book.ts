import { stringify } from "yaml";
import type { UpdateOutcome } from "../engine/outcome.ts";
import type { Rollout } from "../model/rollout.ts";
import type { BotStatus, HostStatus } from "../model/status.ts";
import { liftOf, type QuarantineLift } from "../plan/quarantine.ts";

type Progress = HostStatus["rollouts"][string];
type BotProgress = Progress["bots"][string];

/**
 * This host's status file in memory (fleet-state/status/<host>.yaml, docs/contracts.md). The agent is its only
 * writer; every change goes through here so the file always says what the agent believes.
 */
export class StatusBook {
  constructor(private status: HostStatus) {}

  static empty(host: string): StatusBook {
    return new StatusBook({
      host,
      observedCommit: "none",
      updatedAt: new Date().toISOString(),
      bots: {},
      rollouts: {},
      quarantine: [],
    });
  }

  get value(): HostStatus {
    return this.status;
  }

  bot(id: string): BotStatus | undefined {
    return this.status.bots[id];
  }

  setBot(id: string, patch: Partial<BotStatus> & Pick<BotStatus, "state">): void {
    const current = this.status.bots[id];
    this.status.bots[id] = { digest: current?.digest ?? null, ...current, ...patch };
  }

  removeBot(id: string): void {
    delete this.status.bots[id];
  }

  /** Names this agent instance as the file's writer (a change is committed with the next status). */
  claim(agent: NonNullable<HostStatus["agent"]>): void {
    this.status.agent = agent;
  }

  /** Whether the last commit is old enough that other agents need a fresh heartbeat. */
  heartbeatDue(now: Date, everyMs: number): boolean {
    return now.getTime() - Date.parse(this.status.updatedAt) >= everyMs;
  }

  observe(commit: string, now: Date): void {
    this.status.observedCommit = commit;
    this.status.updatedAt = now.toISOString();
  }

  progress(rollout: string): Progress | undefined {
    return this.status.rollouts[rollout];
  }

  ensureProgress(rollout: string): Progress {
    this.status.rollouts[rollout] ??= { state: "in-progress", wavesDone: 0, bots: {} };
    return this.status.rollouts[rollout];
  }

  setTarget(
    rollout: string,
    bot: string,
    patch: Omit<BotProgress, "attempts"> & { attempts?: number },
  ): void {
    const progress = this.ensureProgress(rollout);
    const current = progress.bots[bot];
    progress.bots[bot] = { attempts: current?.attempts ?? 0, ...patch };
  }

  /** Records one finished update of a bot: its status entry, and its result in the rollout. */
  recordOutcome(
    outcome: UpdateOutcome,
    now: Date,
    context: { rollout?: string; wave?: number; attempts?: number; actor?: string },
  ): void {
    const running = outcome.result === "updated" ? outcome.to : outcome.from;
    const state: BotStatus["state"] =
      outcome.result === "rollback-failed" ? "failed" : running ? "running" : "missing";
    const bot = this.status.bots[outcome.bot];
    const keepAvailable = outcome.result !== "updated" && bot?.updateAvailable?.digest !== outcome.to;
    this.status.bots[outcome.bot] = {
      digest: running,
      state,
      ...(keepAvailable && bot?.updateAvailable ? { updateAvailable: bot.updateAvailable } : {}),
      last: {
        ...(context.rollout ? { rollout: context.rollout } : {}),
        result: outcome.result,
        from: outcome.from,
        to: outcome.to,
        at: now.toISOString(),
        durationMs: outcome.durationMs,
        ...(outcome.reason ? { reason: outcome.reason } : {}),
        ...(context.actor ? { actor: context.actor } : {}),
      },
    };
    if (context.rollout && context.wave !== undefined) {
      this.setTarget(context.rollout, outcome.bot, {
        result: outcome.result,
        wave: context.wave,
        attempts: context.attempts ?? 1,
        ...(outcome.result === "updated" ? {} : { reason: outcome.reason }),
      });
    }
  }

  quarantine(plan: Pick<Rollout, "id" | "image" | "digest">, reason: string, now: Date): void {
    if (this.isQuarantined(plan.image, plan.digest)) return;
    this.status.quarantine.push({
      image: plan.image,
      digest: plan.digest,
      rollout: plan.id,
      at: now.toISOString(),
      reason,
    });
  }

  /**
   * Forgets the quarantine records a lift in fleet.yaml cleared, so the file says what is in
   * force and a later failure of the same digest quarantines it again. Returns them.
   */
  dropLifted(lifts: readonly QuarantineLift[]): HostStatus["quarantine"] {
    const lifted = this.status.quarantine.filter((q) => liftOf(q, lifts));
    if (lifted.length > 0) this.status.quarantine = this.status.quarantine.filter((q) => !liftOf(q, lifts));
    return lifted;
  }

  isQuarantined(image: string, digest: string): boolean {
    return this.status.quarantine.some((q) => q.image === image && q.digest === digest);
  }

  /** Forgets rollouts that are no longer in fleet-state, so the file does not grow forever. */
  retainRollouts(ids: ReadonlySet<string>): void {
    for (const id of Object.keys(this.status.rollouts)) if (!ids.has(id)) delete this.status.rollouts[id];
  }

  toYaml(): string {
    return `# yaml-language-server: $schema=../schema/status.schema.json\n# Written by the fleetwave agent on ${this.status.host}; do not edit by hand.\n${stringify(this.status, { lineWidth: 0 })}`;
  }
}
