import type { UpdateOutcome } from "../engine/outcome.ts";
import type { FleetBot } from "../model/fleet-state.ts";
import type { Rollout, RolloutTarget } from "../model/rollout.ts";
import type { NotifyEvent } from "../notify/events.ts";
import type { FailedTarget } from "../plan/progress.ts";

/**
 * What the people around a bot are told about one update: the tenant hears of a success, the
 * admins of a failure, a rollback or a failed rollback. `skipped` tells nobody.
 */
export function outcomeEvent(
  bot: Pick<FleetBot, "id" | "tenant">,
  outcome: UpdateOutcome,
  plan: Pick<Rollout, "id" | "changelog"> | undefined,
  attempts: number,
): NotifyEvent | undefined {
  const base = { bot: bot.id, tenant: bot.tenant, ...(plan ? { rollout: plan.id } : {}), to: outcome.to };
  const from = outcome.from ?? "none";
  switch (outcome.result) {
    case "updated":
      return {
        ...base,
        type: "bot.updated",
        ...(outcome.from ? { from: outcome.from } : {}),
        durationMs: outcome.durationMs,
        ...(plan?.changelog ? { changelog: plan.changelog } : {}),
      };
    case "rolled-back":
      return { ...base, type: "bot.rolled_back", from, reason: outcome.reason };
    case "rollback-failed":
      return {
        ...base,
        type: "bot.rollback_failed",
        from,
        reason: outcome.reason,
        snapshots: outcome.snapshots,
      };
    case "failed":
      return {
        ...base,
        type: "bot.update_failed",
        ...(outcome.from ? { from: outcome.from } : {}),
        reason: outcome.reason,
        attempts,
      };
    default:
      return undefined;
  }
}

/** A manual tenant's bot has a version waiting for "Update now"; tells the tenant. */
export function updateAvailableEvent(
  plan: Pick<Rollout, "id" | "digest" | "changelog">,
  target: Pick<RolloutTarget, "bot" | "tenant">,
  runningDigest: string | null | undefined,
): NotifyEvent {
  return {
    type: "bot.update_available",
    bot: target.bot,
    tenant: target.tenant,
    rollout: plan.id,
    to: plan.digest,
    ...(runningDigest ? { from: runningDigest } : {}),
    ...(plan.changelog ? { changelog: plan.changelog } : {}),
  };
}

/** The failure threshold stopped a rollout; tells the admins which bots failed. */
export function thresholdEvent(
  plan: Pick<Rollout, "id" | "image" | "digest" | "strategy">,
  next: "aborted" | "paused",
  reason: string,
  failed: readonly FailedTarget[],
): NotifyEvent {
  return {
    type: next === "aborted" ? "rollout.aborted" : "rollout.paused",
    rollout: plan.id,
    image: plan.image,
    digest: plan.digest,
    reason,
    failed: failed.map((f) => ({ bot: f.bot, host: f.host, result: f.result, reason: f.reason })),
    failureThreshold: plan.strategy.failureThreshold,
  };
}
