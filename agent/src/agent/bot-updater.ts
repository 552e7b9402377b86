import type { AuditRecord } from "../audit/commit-message.ts";
import { pruneImages } from "../engine/image-cleanup.ts";
import type { UpdateOutcome } from "../engine/outcome.ts";
import { updateBot } from "../engine/update-bot.ts";
import type { FleetBot, FleetState } from "../model/fleet-state.ts";
import { splitImageRef } from "../model/primitives.ts";
import type { Rollout } from "../model/rollout.ts";
import type { Strategy } from "../model/strategy.ts";
import { outcomeEvent } from "./outcome-events.ts";
import type { AgentRuntime } from "./runtime.ts";

const FAILURE_RESULTS = new Set(["failed", "rolled-back", "rollback-failed"]);

/**
 * What happens to one bot that should move to a new digest: the engine is asked up to
 * 1 + maxRetries times, every attempt is counted, the result goes into the status book (a
 * rollback quarantines the rollout's digest) and the people who need to know are told.
 */
export class BotUpdater {
  constructor(private readonly rt: AgentRuntime) {}

  /** Up to 1 + maxRetries attempts; records the result and tells the people who need to know. */
  async updateWithRetries(
    bot: FleetBot,
    digest: string,
    strategy: Strategy,
    state: FleetState,
    plan?: Rollout,
    wave?: number,
    actor?: string,
  ): Promise<UpdateOutcome | undefined> {
    // "Update now" and a wave may reach the same bot; the second one leaves it to the first.
    if (this.rt.updating.has(bot.id)) return undefined;
    this.rt.updating.add(bot.id);
    const before = this.rt.book.bot(bot.id);
    this.rt.book.setBot(bot.id, { state: "updating" });
    let outcome: UpdateOutcome;
    let attempts = 0;
    const started = performance.now();
    const log = this.rt.log.child({ bot: bot.id, ...(plan ? { rollout: plan.id } : {}) });
    const engine = this.rt.engineOptions(state.fleet, strategy, log);
    try {
      do {
        attempts += 1;
        outcome = await updateBot(bot, digest, engine);
        this.rt.metrics.recordAttempt(outcome);
      } while (
        FAILURE_RESULTS.has(outcome.result) &&
        outcome.result !== "rollback-failed" &&
        attempts <= strategy.maxRetries &&
        !this.rt.stopping
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
      this.rt.updating.delete(bot.id);
    }
    this.rt.metrics.recordUpdate(outcome, performance.now() - started);
    log[FAILURE_RESULTS.has(outcome.result) ? "warn" : "info"](
      { result: outcome.result, attempts, durationMs: outcome.durationMs },
      outcome.reason,
    );
    this.rt.book.recordOutcome(outcome, this.rt.now(), {
      ...(plan ? { rollout: plan.id } : {}),
      ...(wave !== undefined ? { wave } : {}),
      attempts,
      ...(actor ? { actor } : {}),
    });
    this.rt.report.outcomes.push(outcome);
    if (FAILURE_RESULTS.has(outcome.result)) this.rt.report.failed.push(`${bot.id}: ${outcome.reason}`);
    if (plan && outcome.result === "rolled-back")
      this.rt.book.quarantine(plan, `${bot.id}: ${outcome.reason}`, this.rt.now());
    await this.notifyOutcome(bot, outcome, plan, attempts);
    if (outcome.result === "updated") await this.cleanImages(bot, state);
    return outcome;
  }

  /** Old images of the bot's repository nothing needs any more go; the update stands whatever happens. */
  private async cleanImages(bot: FleetBot, state: FleetState): Promise<void> {
    const { repository } = splitImageRef(bot.image);
    try {
      const { choices, failed } = await pruneImages(
        this.rt.o.docker,
        this.rt.store,
        repository,
        state.fleet.images.keepOnHost,
        false,
      );
      const removed = choices.filter((c) => c.remove).map((c) => c.refs[0] ?? c.id);
      if (removed.length > 0)
        this.rt.log.info({ bot: bot.id }, `removed unused images ${removed.join(", ")}`);
      for (const f of failed) this.rt.log.warn({ bot: bot.id }, `could not remove image ${f}`);
    } catch (error) {
      this.rt.log.warn({ bot: bot.id }, `image clean-up failed: ${(error as Error).message}`);
    }
  }

  private async notifyOutcome(
    bot: FleetBot,
    outcome: UpdateOutcome,
    plan: Rollout | undefined,
    attempts: number,
  ): Promise<void> {
    const n = this.rt.notifier;
    if (!n) return;
    const event = outcomeEvent(bot, outcome, plan, attempts);
    if (event) await n.notify(event);
  }

  /** An update the engine finished on its own (recovery, a created bot): one attempt, one update. */
  countOutcome(outcome: UpdateOutcome): void {
    this.rt.metrics.recordAttempt(outcome);
    this.rt.metrics.recordUpdate(outcome, outcome.durationMs);
  }
}

/** The line an update adds to its status commit (the audit trail). */
export function auditRecord(outcome: UpdateOutcome): AuditRecord {
  return {
    bot: outcome.bot,
    result: outcome.result,
    from: outcome.from,
    to: outcome.to,
    reason: outcome.reason,
    durationMs: outcome.durationMs,
  };
}
