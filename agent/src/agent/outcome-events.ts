import type { UpdateOutcome } from "../engine/outcome.ts";
import type { FleetBot } from "../model/fleet-state.ts";
import type { Rollout, RolloutTarget } from "../model/rollout.ts";
import { isFailure, type TargetResult } from "../model/status.ts";
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
    // Stryker disable next-line ConditionalExpression: without this case the switch falls out of the function, which returns undefined as well.
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

/** The host that announces a rollout's start and completion: the host of its first target. */
export function isReporter(plan: Pick<Rollout, "targets">, host: string): boolean {
  return plan.targets[0]?.host === host;
}

/** The rollout's first bots are starting; tells the admins. */
export function startedEvent(
  plan: Pick<Rollout, "id" | "image" | "digest" | "strategy" | "targets">,
): NotifyEvent {
  return {
    type: "rollout.started",
    rollout: plan.id,
    image: plan.image,
    digest: plan.digest,
    strategy: plan.strategy.name,
    targets: plan.targets.length,
  };
}

/** Every target has a final result on every host; tells the admins the counts. */
export function completedEvent(
  plan: Pick<Rollout, "id" | "image" | "digest">,
  results: ReadonlyMap<string, TargetResult>,
): NotifyEvent {
  const summary = { updated: 0, failed: 0, skipped: 0, waiting: 0 };
  for (const r of results.values()) {
    if (r === "updated") summary.updated += 1;
    else if (isFailure(r)) summary.failed += 1;
    else if (r === "skipped") summary.skipped += 1;
    else if (r === "update-available") summary.waiting += 1;
  }
  return { type: "rollout.completed", rollout: plan.id, image: plan.image, digest: plan.digest, summary };
}
