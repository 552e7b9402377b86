/**
 * The fleet-wide view: every host's bots and every rollout's progress per wave and host, from the
 * status refs an agent already fetches (pure: the state and the clock come in).
 */
import type { FleetState } from "../model/fleet-state.ts";
import type { Rollout } from "../model/rollout.ts";
import type { BotStatus, HostStatus } from "../model/status.ts";
import { effectiveTenantMode, isWindowOpen, tenantPreferredHour } from "./gates.ts";

export interface FleetBotView {
  id: string;
  tenant: string;
  host: string;
  digest: string | null;
  /** The state the host reported, or `unreported` before its agent wrote a status. */
  state: BotStatus["state"] | "unreported";
  last?: { result: string; at: string; rollout?: string };
  updateAvailable?: { rollout: string; digest: string };
}

export interface FleetHostView {
  host: string;
  /** When its agent last committed (its heartbeat); undefined before its first status. */
  updatedAt?: string;
  engineUnavailable: boolean;
  bots: FleetBotView[];
}

/** What a target is doing, as seen from every host's status. */
export type TargetPhase =
  | "done"
  | "in-flight"
  | "failed"
  | "pending"
  | "waiting-window"
  | "waiting-update-now";

export type PhaseCounts = Record<TargetPhase, number>;

export interface FleetRolloutView {
  id: string;
  image: string;
  digest: string;
  control: Rollout["control"]["state"];
  waves: { wave: number; hosts: ({ host: string; total: number } & PhaseCounts)[] }[];
  totals: PhaseCounts & { total: number };
}

export interface FleetView {
  hosts: FleetHostView[];
  rollouts: FleetRolloutView[];
}

const FAILED = new Set(["rolled-back", "rollback-failed", "failed"]);

const zero = (): PhaseCounts => ({
  done: 0,
  "in-flight": 0,
  failed: 0,
  pending: 0,
  "waiting-window": 0,
  "waiting-update-now": 0,
});

/** One target's phase from its host's status and the tenant's gates at `now`. */
export function targetPhase(
  state: Pick<FleetState, "fleet" | "tenants">,
  plan: Rollout,
  target: Rollout["targets"][number],
  status: Pick<HostStatus, "bots" | "rollouts"> | undefined,
  now: Date,
): TargetPhase {
  const progress = status?.rollouts[plan.id]?.bots[target.bot];
  const bot = status?.bots[target.bot];
  if (progress?.result === "updated" || progress?.result === "skipped") return "done";
  if (progress && FAILED.has(progress.result)) return "failed";
  if (bot?.state === "updating") return "in-flight";
  if (progress?.result === "update-available" || bot?.updateAvailable?.rollout === plan.id)
    return "waiting-update-now";
  const tenant = state.tenants.find((t) => t.tenant === target.tenant);
  if (tenant && effectiveTenantMode(state.fleet, tenant) === "auto") {
    const hour = tenantPreferredHour(state.fleet, tenant);
    if (!isWindowOpen(hour, state.fleet.updates.windowMinutes, now)) return "waiting-window";
  }
  return "pending";
}

/**
 * Every host's bots and every rollout's progress. `self` is the calling agent's own status (its
 * book is newer than the status it last pushed).
 */
export function buildFleetView(
  state: Pick<FleetState, "fleet" | "tenants" | "bots" | "rollouts" | "statuses" | "hosts">,
  self: HostStatus | undefined,
  now: Date,
): FleetView {
  const byHost = new Map<string, HostStatus>(state.statuses.map((s) => [s.host, s]));
  if (self) byHost.set(self.host, self);
  const hostIds = [...new Set([...state.hosts, ...byHost.keys()])].sort();
  const hosts = hostIds.map((host): FleetHostView => {
    const status = byHost.get(host);
    return {
      host,
      ...(status ? { updatedAt: status.updatedAt } : {}),
      engineUnavailable: status?.engine?.state === "engine-unavailable",
      bots: state.bots
        .filter((b) => b.host === host)
        .map((b): FleetBotView => {
          const s = status?.bots[b.id];
          return {
            id: b.id,
            tenant: b.tenant,
            host,
            digest: s?.digest ?? null,
            state: s?.state ?? "unreported",
            ...(s?.last
              ? {
                  last: {
                    result: s.last.result,
                    at: s.last.at,
                    ...(s.last.rollout ? { rollout: s.last.rollout } : {}),
                  },
                }
              : {}),
            ...(s?.updateAvailable ? { updateAvailable: s.updateAvailable } : {}),
          };
        }),
    };
  });
  const rollouts = state.rollouts.map((plan): FleetRolloutView => {
    const waves = new Map<number, Map<string, PhaseCounts & { total: number }>>();
    const totals = { ...zero(), total: 0 };
    for (const target of plan.targets) {
      const phase = targetPhase(state, plan, target, byHost.get(target.host), now);
      const wave = waves.get(target.wave) ?? new Map<string, PhaseCounts & { total: number }>();
      waves.set(target.wave, wave);
      const counts = wave.get(target.host) ?? { ...zero(), total: 0 };
      wave.set(target.host, counts);
      counts[phase] += 1;
      counts.total += 1;
      totals[phase] += 1;
      totals.total += 1;
    }
    return {
      id: plan.id,
      image: plan.image,
      digest: plan.digest,
      control: plan.control.state,
      waves: [...waves]
        .sort(([a], [b]) => a - b)
        .map(([wave, hostsOfWave]) => ({
          wave,
          hosts: [...hostsOfWave]
            .sort(([a], [b]) => a.localeCompare(b))
            .map(([host, counts]) => ({ host, ...counts })),
        })),
      totals,
    };
  });
  return { hosts, rollouts };
}
