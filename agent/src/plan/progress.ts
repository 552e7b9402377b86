/**
 * How a rollout advances on one host, as pure functions over the status files: which waves are
 * done, what every host reports, which bots failed, whether the failure threshold is reached and
 * which plans this host works on. The agent's rollout runner does the I/O around them.
 */

import type { Rollout } from "../model/rollout.ts";
import type { HostStatus } from "../model/status.ts";
import { isFailure, isFinal, type TargetResult } from "../model/status.ts";
import type { HostWaveProgress } from "./gates.ts";

export type RolloutProgress = HostStatus["rollouts"][string];

/** A failed bot of a rollout, on any host. */
export interface FailedTarget {
  bot: string;
  host: string;
  result: string;
  reason: string;
}

/**
 * wavesDone = the highest wave up to which every target of this host has a final result.
 * Moves `progress.wavesDone` forward only, and stamps `finishedAt` when it moves.
 */
export function markWavesDone(
  progress: RolloutProgress,
  plan: Pick<Rollout, "targets">,
  host: string,
  now: Date,
): void {
  // Stryker disable StringLiteral: any non-final stand-in behaves the same; "pending" says what a missing entry means.
  const open = plan.targets
    .filter((t) => t.host === host)
    .filter((t) => !isFinal(progress.bots[t.bot]?.result ?? "pending"));
  // Stryker restore StringLiteral
  const lastWave = Math.max(...plan.targets.map((t) => t.wave));
  const done = open.length === 0 ? lastWave : Math.min(...open.map((t) => t.wave)) - 1;
  if (done > progress.wavesDone) {
    progress.wavesDone = done;
    progress.finishedAt = now.toISOString();
  }
}

/** What every host reports for `rollout`: the others from git, this host from `mine` (memory). */
export function hostProgress(
  statuses: readonly Pick<HostStatus, "host" | "rollouts">[],
  rollout: string,
  host: string,
  mine: RolloutProgress | undefined,
): Map<string, HostWaveProgress> {
  const map = new Map<string, HostWaveProgress>();
  for (const status of statuses) {
    const p = status.rollouts[rollout];
    if (p && status.host !== host)
      map.set(status.host, {
        wavesDone: p.wavesDone,
        ...(p.finishedAt ? { finishedAt: p.finishedAt } : {}),
      });
  }
  if (mine)
    map.set(host, {
      wavesDone: mine.wavesDone,
      ...(mine.finishedAt ? { finishedAt: mine.finishedAt } : {}),
    });
  return map;
}

/** Failed bots of a rollout on every host: this host from `mine` (memory), the others from git. */
export function failedBots(
  statuses: readonly Pick<HostStatus, "host" | "bots" | "rollouts">[],
  plan: Pick<Rollout, "id" | "control">,
  host: string,
  mine: Pick<HostStatus, "bots" | "rollouts">,
): FailedTarget[] {
  const failed: FailedTarget[] = [];
  // A person who resumes a rollout paused at the threshold gives it a fresh count: only
  // failures after the resume count, or the rollout would pause again at once.
  const since = plan.control.state === "active" && plan.control.at ? plan.control.at : undefined;
  const add = (from: string, status: Pick<HostStatus, "bots" | "rollouts">) => {
    for (const [bot, r] of Object.entries(status.rollouts[plan.id]?.bots ?? {})) {
      const at = status.bots[bot]?.last?.at;
      // Stryker disable next-line ConditionalExpression,LogicalOperator: Date.parse(undefined) is NaN and a comparison with NaN is false, so the `since && at` guard only states the intent.
      if (since && at && Date.parse(at) < Date.parse(since)) continue;
      if (isFailure(r.result))
        failed.push({ bot, host: from, result: r.result, reason: r.reason ?? r.result });
    }
  };
  for (const s of statuses) if (s.host !== host) add(s.host, s);
  add(host, mine);
  return failed;
}

/** Each target's result as known here: this host's from `mine` (memory), the others' from git. */
export function targetResults(
  statuses: readonly Pick<HostStatus, "host" | "rollouts">[],
  plan: Pick<Rollout, "id" | "targets">,
  host: string,
  mine: Pick<HostStatus, "rollouts">,
): Map<string, TargetResult> {
  const byHost = new Map(statuses.map((s) => [s.host, s]));
  const results = new Map<string, TargetResult>();
  for (const t of plan.targets) {
    const source = t.host === host ? mine : byHost.get(t.host);
    const r = source?.rollouts[plan.id]?.bots[t.bot]?.result;
    if (r) results.set(t.bot, r);
  }
  return results;
}

/** Has the rollout as many failed bots as its strategy tolerates? The immediate strategy never stops. */
export function thresholdHit(
  statuses: readonly Pick<HostStatus, "host" | "bots" | "rollouts">[],
  plan: Pick<Rollout, "id" | "control" | "strategy">,
  host: string,
  mine: Pick<HostStatus, "bots" | "rollouts">,
): boolean {
  if (plan.strategy.name === "immediate") return false;
  return failedBots(statuses, plan, host, mine).length >= plan.strategy.failureThreshold;
}

/** A plan this host has targets in, oldest first; `supersededBy` names a newer plan of the same image. */
export interface PlanChoice {
  plan: Rollout;
  supersededBy?: string;
}

/** The plans this host works on, oldest first: only the newest plan per image runs, the older ones are superseded. */
export function choosePlans(rollouts: readonly Rollout[], host: string): PlanChoice[] {
  const plans = rollouts
    .filter((p) => p.targets.some((t) => t.host === host))
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
  const newest = new Map<string, string>();
  for (const plan of plans) newest.set(plan.image, plan.id);
  return plans.map((plan) =>
    newest.get(plan.image) === plan.id ? { plan } : { plan, supersededBy: newest.get(plan.image)! },
  );
}
