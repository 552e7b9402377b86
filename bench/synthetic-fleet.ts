/**
 * The synthetic fleet the benches share: 2,000 tenants × 5 bots = 10,000 bots over 50 hosts, as
 * fleet-state YAML text files, with a status file per host.
 */
import type { StateFile } from "../agent/src/model/fleet-state.ts";
import {
  type BotSpec,
  digestOf,
  fleetFiles,
  type StatusSpec,
  type TenantSpec,
} from "../agent/src/plan/testing.ts";

export const TENANTS = 2_000;
export const BOTS_PER_TENANT = 5;
export const HOSTS = 50;
/** The digest every bot runs in the status files. */
export const OLD_DIGEST = digestOf("aaaa");

export const hostName = (i: number): string => `host-${String(i).padStart(2, "0")}`;

export interface SyntheticFleetOptions {
  /** Rewrites a bot before it is written, e.g. the bots of a host that really runs them. */
  bot?: (spec: BotSpec) => BotSpec;
  /** Lines under `strategy:` in fleet.yaml. */
  strategy?: Record<string, string | number>;
  allowlist?: string[];
}

export function syntheticFleet(o: SyntheticFleetOptions = {}): StateFile[] {
  const tenants: TenantSpec[] = [];
  const statuses = new Map<string, StatusSpec>();
  for (let t = 0; t < TENANTS; t += 1) {
    const tenant = `tenant-${String(t).padStart(4, "0")}`;
    const bots: BotSpec[] = [];
    for (let b = 0; b < BOTS_PER_TENANT; b += 1) {
      const n = t * BOTS_PER_TENANT + b;
      const host = hostName(n % HOSTS);
      const id = `${tenant}-bot-${b}`;
      // A realistic mix: 2% on a canary channel, 1% pinned, the rest on the managed channel.
      const spec: BotSpec = {
        id,
        host,
        ...(n % 50 === 7 ? { image: "ghcr.io/acme/app:canary" } : {}),
        ...(n % 100 === 3 ? { pinnedDigest: OLD_DIGEST } : {}),
      };
      bots.push(o.bot ? o.bot(spec) : spec);
      const status = statuses.get(host) ?? { host, bots: {} };
      status.bots![id] = OLD_DIGEST;
      statuses.set(host, status);
    }
    tenants.push({ tenant, mode: t % 3 === 0 ? "manual" : "auto", hour: t % 24, bots });
  }
  return fleetFiles({
    tenants,
    statuses: [...statuses.values()],
    windowMinutes: 120,
    ...(o.strategy ? { strategy: o.strategy } : {}),
    ...(o.allowlist ? { allowlist: o.allowlist } : {}),
  });
}
