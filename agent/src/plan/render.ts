/**
 * A plan as text: the YAML file agents read, the summary people read (like `terraform plan`), the
 * markdown table for a GitHub step summary and the commit message. Pure.
 */
import { Document, isMap, isSeq } from "yaml";
import type { Fleet } from "../model/fleet.ts";
import type { Rollout } from "../model/rollout.ts";
import type { Tenant } from "../model/tenant.ts";
import { shortDigest } from "../text/digest.ts";
import { effectiveTenantMode, tenantPreferredHour } from "./gates.ts";
import { type Exclusion, type ExclusionReason, waveCount } from "./planner.ts";

export const ROLLOUT_SCHEMA_COMMENT = "# yaml-language-server: $schema=../schema/rollout.schema.json";

/** `rollouts/<id>.yaml`, relative to the fleet-state directory. */
export function rolloutFileName(plan: Pick<Rollout, "id">): string {
  return `rollouts/${plan.id}.yaml`;
}

/** The rollout file: schema comment, fields in the order of docs/contracts.md, one flow map per target. */
export function renderRolloutYaml(plan: Rollout): string {
  const ordered: Rollout = {
    id: plan.id,
    createdAt: plan.createdAt,
    basedOn: plan.basedOn,
    image: plan.image,
    digest: plan.digest,
    ...(plan.source ? { source: plan.source } : {}),
    ...(plan.changelog ? { changelog: plan.changelog } : {}),
    strategy: plan.strategy,
    control: plan.control,
    targets: plan.targets.map((t) => ({ bot: t.bot, tenant: t.tenant, host: t.host, wave: t.wave })),
  };
  const doc = new Document(ordered);
  const root = doc.contents;
  if (isMap(root)) {
    const control = root.get("control", true);
    if (isMap(control)) control.flow = true;
    const targets = root.get("targets", true);
    if (isSeq(targets)) {
      for (const item of targets.items) if (isMap(item)) item.flow = true;
    }
  }
  return `${ROLLOUT_SCHEMA_COMMENT}\n${doc.toString({ lineWidth: 0, flowCollectionPadding: true })}`;
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

export interface WaveSummary {
  wave: number;
  bots: string[];
  tenants: string[];
  hosts: string[];
}

/** Per wave: its bots (plan order), tenants and hosts (sorted, distinct). */
export function summarizeWaves(plan: Pick<Rollout, "targets">): WaveSummary[] {
  const waves: WaveSummary[] = [];
  for (let wave = 1; wave <= waveCount(plan); wave += 1) {
    const targets = plan.targets.filter((t) => t.wave === wave);
    waves.push({
      wave,
      bots: targets.map((t) => t.bot),
      tenants: [...new Set(targets.map((t) => t.tenant))].sort(),
      hosts: [...new Set(targets.map((t) => t.host))].sort(),
    });
  }
  return waves;
}

export function describeStrategy(plan: Pick<Rollout, "strategy" | "targets">): string {
  const s = plan.strategy;
  const retries = `${plural(s.maxRetries, "retry", "retries")} per bot, health timeout ${s.healthCheckTimeoutSeconds}s, healthy for ${s.minHealthySeconds}s`;
  if (s.name === "immediate")
    return `immediate: one wave, ${s.maxParallel} in parallel, failures skipped (no threshold); ${retries}`;
  if (s.name === "single-bot") return `single-bot: one bot; ${retries}`;
  const size = plan.targets.filter((t) => t.wave === 1).length;
  return (
    `rolling-wave: ${s.batchPercent}% per wave (${plural(size, "bot")}), pause ${s.pauseSeconds}s, ` +
    `${s.maxParallel} in parallel, ${s.onThreshold} after ${plural(s.failureThreshold, "failed bot")}; ${retries}`
  );
}

function describeChangelog(plan: Pick<Rollout, "changelog">): string | undefined {
  const c = plan.changelog;
  if (!c) return undefined;
  const counts = c.sections.map((section) => `${section.items.length} ${section.title.toLowerCase()}`);
  return `${c.version} (${c.date})${counts.length > 0 ? `: ${counts.join(", ")}` : ""}`;
}

const reasonOrder: ExclusionReason[] = ["quarantined", "pinned", "up-to-date", "not-selected", "other-image"];

export interface SummaryOptions {
  /** Lists at most this many bots per wave and per exclusion reason ("… and N more"). */
  limit?: number;
  /** Adds the tenant's mode and window to each target (needs the fleet and tenants). */
  fleet?: Fleet;
  tenants?: Tenant[];
}

function columnWidths(rows: string[][]): number[] {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  }
  return widths;
}

function formatRow(row: string[], widths: number[]): string {
  return row
    .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
    .join("  ")
    .trimEnd();
}

/**
 * The plan as people review it: header, each wave's bots × tenants × hosts, the excluded bots
 * with their reasons, and a one-line total. Columns line up across all waves and exclusions.
 */
export function formatPlanSummary(
  plan: Rollout,
  excluded: Exclusion[],
  options: SummaryOptions = {},
): string {
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  const tenants = new Map((options.tenants ?? []).map((t) => [t.tenant, t]));
  const fleet = options.fleet;

  const header: string[][] = [
    ["  image", plan.image],
    ["  digest", plan.digest],
    ["  based on", plan.basedOn],
    ["  strategy", describeStrategy(plan)],
  ];
  const changelog = describeChangelog(plan);
  if (changelog) header.push(["  changelog", changelog]);
  if (plan.source) {
    const run = plan.source.run ? ` (${plan.source.run})` : "";
    header.push(["  source", `${plan.source.repository}@${plan.source.commit}${run}`]);
  }

  const waves = summarizeWaves(plan).map((wave) => {
    const targets = plan.targets.filter((t) => t.wave === wave.wave);
    const rows = targets.slice(0, limit).map((t) => {
      const row = ["  +", t.bot, t.tenant, t.host];
      if (fleet) {
        const tenant = tenants.get(t.tenant);
        const hour = String(tenantPreferredHour(fleet, tenant)).padStart(2, "0");
        const mode = tenant ? effectiveTenantMode(fleet, tenant) : fleet.updates.mode;
        row.push(`${mode}, window ${hour}:00 UTC +${fleet.updates.windowMinutes}m`);
      }
      return row;
    });
    return { wave, rows, more: targets.length - rows.length };
  });
  const groups = reasonOrder.map((reason) => {
    const group = excluded.filter((e) => e.reason === reason);
    const rows = group.slice(0, limit).map((e) => ["  -", e.bot, e.tenant, e.host, `${reason}: ${e.detail}`]);
    return { reason, rows, more: group.length - rows.length };
  });
  const widths = columnWidths([...waves.flatMap((w) => w.rows), ...groups.flatMap((g) => g.rows)]);
  const headerWidths = columnWidths(header);

  const lines: string[] = [
    `Rollout plan ${plan.id}`,
    ...header.map((row) => formatRow(row, headerWidths)),
    "",
  ];
  if (fleet && fleet.updates.mode !== "auto") {
    lines.push(
      fleet.updates.mode === "paused"
        ? "Note: fleet.yaml updates.mode is paused: no bot starts until it is set back to auto or manual.\n"
        : 'Note: fleet.yaml updates.mode is manual: every bot waits for "Update now".\n',
    );
  }
  for (const { wave, rows, more } of waves) {
    lines.push(
      `Wave ${wave.wave}: ${plural(wave.bots.length, "bot")}, ${plural(wave.tenants.length, "tenant")}, ${plural(wave.hosts.length, "host")}`,
      ...rows.map((row) => formatRow(row, widths)),
    );
    if (more > 0) lines.push(`  … and ${more} more`);
  }
  if (plan.targets.length === 0) lines.push("No targets: no bot on this image needs the digest.");
  if (excluded.length > 0) {
    lines.push("", `Excluded: ${plural(excluded.length, "bot")}`);
    for (const { reason, rows, more } of groups) {
      lines.push(...rows.map((row) => formatRow(row, widths)));
      if (more > 0) lines.push(`  … and ${more} more ${reason}`);
    }
  }

  const tenantCount = new Set(plan.targets.map((t) => t.tenant)).size;
  const hostCount = new Set(plan.targets.map((t) => t.host)).size;
  lines.push(
    "",
    `Plan: ${plural(plan.targets.length, "bot")} in ${plural(waveCount(plan), "wave")} across ${plural(tenantCount, "tenant")} on ${plural(hostCount, "host")}; ${excluded.length} excluded.`,
  );
  return lines.join("\n");
}

const md = (s: string) => s.replace(/\|/g, "\\|");

/** GitHub step summary: header, a table of the waves and a table of exclusion counts. */
export function formatPlanMarkdown(
  plan: Rollout,
  excluded: Exclusion[],
  options: { limit?: number; planPath?: string; planUrl?: string } = {},
): string {
  const limit = options.limit ?? 20;
  const lines = [
    `### Rollout plan \`${plan.id}\``,
    "",
    `- **Image:** \`${plan.image}\``,
    `- **Digest:** \`${plan.digest}\``,
    `- **Strategy:** ${md(describeStrategy(plan))}`,
    `- **Based on:** \`${plan.basedOn}\``,
  ];
  if (options.planPath && options.planUrl)
    lines.push(`- **Plan file:** [\`${options.planPath}\`](${options.planUrl})`);
  else if (options.planPath) lines.push(`- **Plan file:** \`${options.planPath}\``);
  const changelog = describeChangelog(plan);
  if (changelog) lines.push(`- **Changelog:** ${md(changelog)}`);
  lines.push("", "| Wave | Bots | Tenants | Hosts |", "| ---: | --- | --- | --- |");
  const list = (items: string[]) =>
    md(items.slice(0, limit).join(", ") + (items.length > limit ? `, … ${items.length - limit} more` : ""));
  for (const wave of summarizeWaves(plan)) {
    lines.push(
      `| ${wave.wave} | ${wave.bots.length}: ${list(wave.bots)} | ${wave.tenants.length}: ${list(wave.tenants)} | ${wave.hosts.join(", ")} |`,
    );
  }
  if (plan.targets.length === 0) lines.push("| – | no targets | | |");
  if (excluded.length > 0) {
    lines.push("", "| Excluded because | Bots |", "| --- | --- |");
    for (const reason of reasonOrder) {
      const group = excluded.filter((e) => e.reason === reason);
      if (group.length > 0) lines.push(`| ${reason} | ${group.length}: ${list(group.map((e) => e.bot))} |`);
    }
  }
  return `${lines.join("\n")}\n`;
}

/** The plan commit's message: subject, per-wave lines, trailers (`Fleetwave-Rollout: <id>`). */
export function formatPlanCommitMessage(plan: Rollout, excluded: Exclusion[]): string {
  const subject = `fleetwave: plan rollout ${plan.id} for ${plan.image}@${shortDigest(plan.digest).slice("sha256:".length)}`;
  const body = [
    `${plural(plan.targets.length, "bot")} in ${plural(waveCount(plan), "wave")}, ${describeStrategy(plan)}.`,
    "",
    ...summarizeWaves(plan).map(
      (w) =>
        `wave ${w.wave}: ${plural(w.bots.length, "bot")} (${plural(w.tenants.length, "tenant")} on ${w.hosts.join(", ")})`,
    ),
  ];
  const counts = reasonOrder
    .map((reason) => [reason, excluded.filter((e) => e.reason === reason).length] as const)
    .filter(([, n]) => n > 0)
    .map(([reason, n]) => `${n} ${reason}`);
  if (counts.length > 0) body.push(`excluded: ${counts.join(", ")}`);
  const trailers = [
    `Fleetwave-Rollout: ${plan.id}`,
    `Fleetwave-Event: rollout.planned`,
    `Fleetwave-Image: ${plan.image}`,
    `Fleetwave-Digest: ${plan.digest}`,
    `Fleetwave-Based-On: ${plan.basedOn}`,
  ];
  return `${subject}\n\n${body.join("\n")}\n\n${trailers.join("\n")}\n`;
}
