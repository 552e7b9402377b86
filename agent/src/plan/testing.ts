/**
 * Builds fleet-state YAML text for tests and benchmarks, so they exercise the same validation
 * (`buildFleetState`) that real files go through. Not used by production code.
 */
import { buildFleetState, type FleetState, type StateFile } from "../model/fleet-state.ts";

export const IMAGE = "ghcr.io/acme/app:managed";

/** A valid digest whose hex starts with `prefix` (hex only). */
export function digestOf(prefix: string): string {
  return `sha256:${prefix.padEnd(64, "0")}`;
}

export interface BotSpec {
  id: string;
  host: string;
  image?: string;
  pinnedDigest?: string;
  /** A bot that really runs (the test image): env PORT and its health check on that port. */
  port?: number;
}

export interface TenantSpec {
  tenant: string;
  mode?: "auto" | "manual";
  hour?: number;
  bots: BotSpec[];
}

export interface StatusSpec {
  host: string;
  /** bot id -> running digest */
  bots?: Record<string, string>;
  quarantine?: { image: string; digest: string; rollout: string; reason: string }[];
}

export interface FleetSpec {
  mode?: "auto" | "manual" | "paused";
  defaultHour?: number;
  windowMinutes?: number;
  /** Lines under `strategy:` in fleet.yaml, e.g. { batchPercent: 50 }. */
  strategy?: Record<string, string | number>;
  allowlist?: string[];
  tenants: TenantSpec[];
  statuses?: StatusSpec[];
  /** Lines appended to fleet.yaml, e.g. a `quarantine:` section. */
  fleetExtra?: string;
  /** Extra files, e.g. existing rollouts: path -> text. */
  extra?: Record<string, string>;
}

export function fleetFiles(spec: FleetSpec): StateFile[] {
  const strategy = Object.entries(spec.strategy ?? {})
    .map(([k, v]) => `  ${k}: ${v}\n`)
    .join("");
  const fleet =
    `updates:\n  mode: ${spec.mode ?? "auto"}\n  defaultPreferredHourUtc: ${spec.defaultHour ?? 3}\n` +
    `  windowMinutes: ${spec.windowMinutes ?? 60}\n` +
    (strategy ? `strategy:\n${strategy}` : "") +
    `images:\n  allowlist: [${(spec.allowlist ?? ["ghcr.io/acme/"]).map((p) => JSON.stringify(p)).join(", ")}]\n` +
    (spec.fleetExtra ?? "");
  const files: StateFile[] = [{ path: "fleet.yaml", text: fleet }];
  for (const t of spec.tenants) {
    let text = `tenant: ${t.tenant}\nupdate:\n  mode: ${t.mode ?? "auto"}\n`;
    if (t.hour !== undefined) text += `  preferredHourUtc: ${t.hour}\n`;
    text += "bots:\n";
    for (const b of t.bots) {
      text += `  - id: ${b.id}\n    host: ${b.host}\n    image: ${b.image ?? IMAGE}\n`;
      if (b.pinnedDigest) text += `    pinnedDigest: ${b.pinnedDigest}\n`;
      text += `    volumes:\n      - { name: ${b.id}-data, path: /data }\n`;
      if (b.port) text += `    env: { PORT: "${b.port}" }\n`;
      text += `    health:\n      url: http://127.0.0.1:${b.port ?? 3100}/health\n`;
    }
    if (t.bots.length === 0) text = text.replace("bots:\n", "bots: []\n");
    files.push({ path: `tenants/${t.tenant}.yaml`, text });
  }
  for (const s of spec.statuses ?? []) {
    let text = `host: ${s.host}\nobservedCommit: abc1234\nupdatedAt: 2026-11-27T05:00:00Z\nbots:\n`;
    const bots = Object.entries(s.bots ?? {});
    for (const [id, digest] of bots) text += `  ${id}:\n    digest: ${digest}\n    state: running\n`;
    if (bots.length === 0) text = text.replace("bots:\n", "bots: {}\n");
    if (s.quarantine?.length) {
      text += "quarantine:\n";
      for (const q of s.quarantine) {
        text += `  - { image: ${q.image}, digest: ${q.digest}, rollout: ${q.rollout}, at: 2026-11-27T05:00:00Z, reason: ${JSON.stringify(q.reason)} }\n`;
      }
    }
    files.push({ path: `status/${s.host}.yaml`, text });
  }
  for (const [path, text] of Object.entries(spec.extra ?? {})) files.push({ path, text });
  return files;
}

/** The validated state of `spec`; throws with the problems when it does not validate. */
export function fleetState(spec: FleetSpec): FleetState {
  const result = buildFleetState(fleetFiles(spec));
  if (!result.ok) {
    throw new Error(
      `test fleet invalid:\n${result.problems.map((p) => `${p.file}:${p.line}: ${p.field}: ${p.message}`).join("\n")}`,
    );
  }
  return result.state;
}

export const ROLLOUT_ID = "2026-11-27T0612Z-3f2a9c1b";

/**
 * A rollout file of `IMAGE` at `digestOf("3f2a9c1b")` with the default rolling wave, written out
 * field by field so tests can point at its lines: `targets` (YAML list items) starts at line 18,
 * after the lines of `strategyLines` (more `strategy:` fields, indented by two).
 */
export function rolloutText(targets: string, strategyLines = ""): string {
  return `id: ${ROLLOUT_ID}
createdAt: 2026-11-27T06:12:00Z
basedOn: abc1234
image: ${IMAGE}
digest: ${digestOf("3f2a9c1b")}
strategy:
  name: rolling-wave
  batchPercent: 25
  pauseSeconds: 60
  maxParallel: 4
  maxRetries: 1
  failureThreshold: 3
  onThreshold: abort
  healthCheckTimeoutSeconds: 120
  minHealthySeconds: 10
${strategyLines}control: { state: active }
targets:
${targets}`;
}
