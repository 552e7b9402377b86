/**
 * The execution-time gates of a rollout (docs/contracts.md "Rollout semantics"), as pure functions. The agent evaluates them against the
 * LATEST fleet-state (never the plan's copy) right before it starts a bot or a wave.
 */

import type { Fleet } from "../model/fleet.ts";
import type { FleetBot, FleetState } from "../model/fleet-state.ts";
import type { Rollout, RolloutTarget } from "../model/rollout.ts";
import type { Tenant } from "../model/tenant.ts";

const MINUTES_PER_DAY = 24 * 60;

export type TenantMode = "auto" | "manual" | "paused";

/** fleet.yaml `updates.mode: paused`: nothing starts anywhere; bots already updating finish. */
export function isFleetPaused(fleet: Fleet): boolean {
  return fleet.updates.mode === "paused";
}

/**
 * The mode that applies to a tenant right now: a paused fleet pauses everyone, a manual fleet
 * makes everyone manual, otherwise the tenant's own `update.mode`.
 */
export function effectiveTenantMode(fleet: Fleet, tenant: Pick<Tenant, "update">): TenantMode {
  if (fleet.updates.mode === "paused") return "paused";
  if (fleet.updates.mode === "manual") return "manual";
  return tenant.update.mode;
}

/** The tenant's `preferredHourUtc`, or the fleet's `defaultPreferredHourUtc`. */
export function tenantPreferredHour(fleet: Fleet, tenant: Pick<Tenant, "update"> | undefined): number {
  return tenant?.update.preferredHourUtc ?? fleet.updates.defaultPreferredHourUtc;
}

function minuteOfDayUtc(at: Date): number {
  return at.getUTCHours() * 60 + at.getUTCMinutes();
}

/** Minutes since the window last opened, in [0, 1440). */
function minutesSinceOpening(tenantHour: number, at: Date): number {
  const elapsed = (minuteOfDayUtc(at) - tenantHour * 60) % MINUTES_PER_DAY;
  return elapsed < 0 ? elapsed + MINUTES_PER_DAY : elapsed;
}

/**
 * Is a window that opens every day at `tenantHour`:00 UTC and stays open `windowMinutes` open at
 * `at`? The opening minute is inside, the closing minute is not: hour 3 with 60 minutes is open
 * 03:00–03:59. Windows cross midnight: hour 23 with 120 minutes is open at 00:30 and closed at
 * 01:00. A 1440-minute window is always open.
 */
export function isWindowOpen(tenantHour: number, windowMinutes: number, at: Date): boolean {
  // Stryker disable next-line ConditionalExpression,EqualityOperator: minutesSinceOpening is below 1440, so the comparison below opens a full-day window too; this states the rule.
  if (windowMinutes >= MINUTES_PER_DAY) return true;
  return minutesSinceOpening(tenantHour, at) < windowMinutes;
}

/** Whole minutes from `at` until the window next opens; 0 while it is open. */
export function minutesUntilWindow(tenantHour: number, windowMinutes: number, at: Date): number {
  if (isWindowOpen(tenantHour, windowMinutes, at)) return 0;
  return MINUTES_PER_DAY - minutesSinceOpening(tenantHour, at);
}

/**
 * The earliest moment at or after `at` at which the window is open: `at` itself while it is open,
 * otherwise the next `tenantHour`:00:00 UTC. Exact to the millisecond, so an agent can reconcile
 * right when a tenant's window opens.
 */
export function windowOpensAt(tenantHour: number, windowMinutes: number, at: Date): Date {
  if (isWindowOpen(tenantHour, windowMinutes, at)) return new Date(at);
  const today = Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate(), tenantHour);
  // Stryker disable next-line EqualityOperator: at the opening itself the window is open (windowMinutes >= 1), returned above.
  return new Date(today > at.getTime() ? today : today + MINUTES_PER_DAY * 60_000);
}

/** What one host reports for one rollout in its status file (`rollouts.<id>`). */
export interface HostWaveProgress {
  /** The highest wave this host has finished (0 = none). */
  wavesDone: number;
  /** When it finished `wavesDone`; without it the pause is counted from the other hosts only. */
  finishedAt?: string | Date;
}

export type WaveGate =
  | { open: true }
  | { open: false; reason: "hosts-busy"; waitingFor: string[] }
  | { open: false; reason: "pausing"; until: Date };

/**
 * May wave `wave` of `plan` start? Wave 1 always may (the other gates still apply). Wave k > 1 may
 * start when every host that has targets in an earlier wave reports `wavesDone >= k - 1`, and
 * `strategy.pauseSeconds` have passed since the latest `finishedAt` among those hosts that have
 * not yet finished a target of wave k or later. A host
 * missing from `hostProgress` has finished nothing. Hosts without earlier targets are not waited
 * for: a host with nothing in waves 1..k-1 has nothing to finish.
 */
export function waveGate(
  plan: Pick<Rollout, "targets" | "strategy">,
  wave: number,
  hostProgress: ReadonlyMap<string, HostWaveProgress> | Readonly<Record<string, HostWaveProgress>>,
  now: Date,
): WaveGate {
  // Stryker disable next-line ConditionalExpression,EqualityOperator: wave 1 has no earlier targets, so the checks below open it too; this states the rule.
  if (wave <= 1) return { open: true };
  const progressOf = (host: string): HostWaveProgress | undefined =>
    hostProgress instanceof Map
      ? hostProgress.get(host)
      : (hostProgress as Readonly<Record<string, HostWaveProgress>>)[host];
  const hosts = [...new Set(plan.targets.filter((t) => t.wave < wave).map((t) => t.host))].sort();
  const waitingFor = hosts.filter((host) => (progressOf(host)?.wavesDone ?? 0) < wave - 1);
  if (waitingFor.length > 0) return { open: false, reason: "hosts-busy", waitingFor };
  const nextWaveOf = new Map<string, number>();
  for (const t of plan.targets)
    if (t.wave >= wave) nextWaveOf.set(t.host, Math.min(t.wave, nextWaveOf.get(t.host) ?? t.wave));
  let lastFinished = Number.NEGATIVE_INFINITY;
  for (const host of hosts) {
    // finishedAt is one time per host, moved with each wave it finishes. A host that has already
    // finished a target of this wave or a later one passed this gate: its finishedAt is later
    // than its wave - 1, and counting it would restart the pause for the hosts still waiting
    // (each late host's pause would begin again every time an early one finished a wave). A host
    // whose wavesDone moved past wave - 1 only because it has nothing in those waves keeps its
    // finish of wave - 1 as finishedAt, so it still counts.
    const progress = progressOf(host);
    // Stryker disable next-line OptionalChaining: every host here reported wavesDone >= 1 above, so it has progress.
    if ((nextWaveOf.get(host) ?? Number.POSITIVE_INFINITY) <= (progress?.wavesDone ?? 0)) continue;
    // Stryker disable next-line OptionalChaining: as above.
    const finishedAt = progress?.finishedAt;
    // Stryker disable next-line ConditionalExpression: new Date(undefined) is NaN, which the check below skips as well.
    if (finishedAt === undefined) continue;
    const ms = new Date(finishedAt).getTime();
    if (!Number.isNaN(ms)) lastFinished = Math.max(lastFinished, ms);
  }
  const until = lastFinished + plan.strategy.pauseSeconds * 1000;
  if (now.getTime() < until) return { open: false, reason: "pausing", until: new Date(until) };
  return { open: true };
}

/** `waveGate(...).open`: see there. */
export function mayStartWave(
  plan: Pick<Rollout, "targets" | "strategy">,
  wave: number,
  hostProgress: ReadonlyMap<string, HostWaveProgress> | Readonly<Record<string, HostWaveProgress>>,
  now: Date,
): boolean {
  return waveGate(plan, wave, hostProgress, now).open;
}

/** Why a target may not start now, in the order the gates are checked. */
export type TargetHold =
  | "fleet-paused"
  | "rollout-paused"
  | "rollout-aborted"
  | "bot-removed"
  | "bot-moved"
  | "image-changed"
  | "pinned"
  | "manual"
  | "outside-window";

/** `opensAt` of a target outside its tenant's window: when the window opens (windowOpensAt). */
export type TargetGate =
  | { go: true; bot: FleetBot }
  | { go: false; hold: Exclude<TargetHold, "outside-window">; detail: string }
  | { go: false; hold: "outside-window"; detail: string; opensAt: Date };

/**
 * All per-bot gates for one target, against the latest fleet-state: global pause,
 * the rollout's `control.state`, the bot still declared on the same host with the plan's image and
 * not pinned, the tenant's mode (manual waits for "Update now") and its window. `updateNow` is
 * true when a person asked for this bot ("Update now"): it lifts the manual and window gates only.
 */
export function targetGate(
  state: Pick<FleetState, "fleet" | "tenants" | "bots">,
  plan: Pick<Rollout, "image" | "control">,
  target: RolloutTarget,
  now: Date,
  updateNow = false,
): TargetGate {
  const { fleet } = state;
  if (isFleetPaused(fleet))
    return { go: false, hold: "fleet-paused", detail: "fleet.yaml updates.mode is paused" };
  if (plan.control.state === "aborted")
    return { go: false, hold: "rollout-aborted", detail: "the rollout's control.state is aborted" };
  if (plan.control.state === "paused")
    return { go: false, hold: "rollout-paused", detail: "the rollout's control.state is paused" };
  const bot = state.bots.find((b) => b.id === target.bot);
  if (!bot) return { go: false, hold: "bot-removed", detail: `bot ${target.bot} is no longer declared` };
  if (bot.host !== target.host)
    return { go: false, hold: "bot-moved", detail: `bot ${bot.id} now runs on ${bot.host}` };
  if (bot.image !== plan.image)
    return { go: false, hold: "image-changed", detail: `bot ${bot.id} now follows ${bot.image}` };
  if (bot.pinnedDigest)
    return { go: false, hold: "pinned", detail: `bot ${bot.id} is pinned to ${bot.pinnedDigest}` };
  if (updateNow) return { go: true, bot };
  const tenant = state.tenants.find((t) => t.tenant === bot.tenant);
  if (tenant && effectiveTenantMode(fleet, tenant) === "manual")
    return { go: false, hold: "manual", detail: `tenant ${bot.tenant} updates manually ("Update now")` };
  const hour = tenantPreferredHour(fleet, tenant);
  if (!isWindowOpen(hour, fleet.updates.windowMinutes, now)) {
    const opensIn = minutesUntilWindow(hour, fleet.updates.windowMinutes, now);
    return {
      go: false,
      hold: "outside-window",
      detail: `tenant ${bot.tenant}'s window opens at ${String(hour).padStart(2, "0")}:00 UTC (in ${opensIn} min)`,
      opensAt: windowOpensAt(hour, fleet.updates.windowMinutes, now),
    };
  }
  return { go: true, bot };
}
