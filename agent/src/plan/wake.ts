/**
 * When the agent should reconcile again on its own: the earliest time at which a gate it waits on
 * opens by the clock alone, so a wave starts when its pause ends and a target when its tenant's
 * window opens, not at the next poll. Gates that only a change in git opens (other hosts still
 * busy, a paused or aborted rollout or fleet, a manual tenant) give no time: the poll or a
 * webhook notices those.
 */

import type { TargetGate, WaveGate } from "./gates.ts";

/** When `gate` opens by the clock alone; undefined when it is open or only git can open it. */
export function gateOpensAt(gate: WaveGate | TargetGate): Date | undefined {
  // Stryker disable next-line ConditionalExpression,LogicalOperator: only a pausing gate has `until`; any other reads undefined, the same answer.
  if ("open" in gate) return !gate.open && gate.reason === "pausing" ? gate.until : undefined;
  // Stryker disable next-line ConditionalExpression,LogicalOperator: only an outside-window hold has `opensAt`; any other reads undefined, the same answer.
  return !gate.go && gate.hold === "outside-window" ? gate.opensAt : undefined;
}

/** The earlier of `wakeAt` and the time `gate` opens by the clock; `wakeAt` when it gives none. */
export function earliestWake(wakeAt: Date | undefined, gate: WaveGate | TargetGate): Date | undefined {
  const opens = gateOpensAt(gate);
  if (opens === undefined) return wakeAt;
  // Stryker disable next-line EqualityOperator: two equal times are the same wake-up whichever is kept.
  return wakeAt === undefined || opens.getTime() < wakeAt.getTime() ? opens : wakeAt;
}
