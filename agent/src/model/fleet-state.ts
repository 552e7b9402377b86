import { posix } from "node:path";
import type { z } from "zod";
import { type Fleet, fleetSchema } from "./fleet.ts";
import { formatField, type Problem, sortProblems } from "./problems.ts";
import { type Rollout, rolloutSchema } from "./rollout.ts";
import { type HostStatus, statusSchema } from "./status.ts";
import { type Bot, type Tenant, tenantSchema } from "./tenant.ts";
import { parseYaml, type YamlSource, zodProblems } from "./yaml-source.ts";

/** A bot with the tenant that owns it. */
export interface FleetBot extends Bot {
  tenant: string;
}

/** Everything in fleet-state/, validated as one whole. */
export interface FleetState {
  fleet: Fleet;
  tenants: Tenant[];
  bots: FleetBot[];
  hosts: string[];
  rollouts: Rollout[];
  statuses: HostStatus[];
}

/** A file of fleet-state/, by its path relative to the fleet-state directory. */
export interface StateFile {
  path: string;
  text: string;
}

export type FleetStateResult = { ok: true; state: FleetState } | { ok: false; problems: Problem[] };

interface Parsed<T> {
  source: YamlSource;
  value: T;
}

/**
 * Validates the files of a fleet-state directory, each on its own and then against each other.
 * Pure: the caller reads the files. `displayPrefix` is put in front of every file name in problems
 * (for example "fleet-state/") so messages point at paths the operator can open.
 */
export function buildFleetState(files: StateFile[], displayPrefix = ""): FleetStateResult {
  const problems: Problem[] = [];
  const shown = (path: string) => `${displayPrefix}${path}`;

  function parse<S extends z.ZodType>(file: StateFile, schema: S): Parsed<z.output<S>> | undefined {
    const parsed = parseYaml(shown(file.path), file.text);
    if (!parsed.ok) {
      problems.push(...parsed.problems);
      return undefined;
    }
    const result = schema.safeParse(parsed.source.data, { reportInput: true });
    if (!result.success) {
      problems.push(...zodProblems(parsed.source, result.error));
      return undefined;
    }
    return { source: parsed.source, value: result.data };
  }

  const report = (source: YamlSource, path: PropertyKey[], message: string) =>
    problems.push({ file: source.file, line: source.lineOf(path), field: formatField(path), message });

  const fleetFile = files.find((f) => f.path === "fleet.yaml");
  const fleet = fleetFile ? parse(fleetFile, fleetSchema) : undefined;
  if (!fleetFile) {
    problems.push({
      file: shown("fleet.yaml"),
      line: 1,
      field: "(file)",
      message: "missing: every fleet-state needs fleet.yaml",
    });
  }

  const tenants: Parsed<Tenant>[] = [];
  let tenantFilesInvalid = 0;
  const rollouts: Parsed<Rollout>[] = [];
  const statuses: Parsed<HostStatus>[] = [];
  for (const file of [...files].sort((a, b) => a.path.localeCompare(b.path))) {
    const dir = posix.dirname(file.path);
    const base = posix.basename(file.path);
    if (file.path === "fleet.yaml" || dir === "schema") continue;
    const known = { tenants: true, rollouts: true, status: true } as Record<string, boolean>;
    if (!known[dir]) continue;
    if (!/\.ya?ml$/.test(base)) {
      problems.push({
        file: shown(file.path),
        line: 1,
        field: "(file)",
        message: "unexpected file; fleet-state files end in .yaml",
      });
      continue;
    }
    const stem = base.replace(/\.ya?ml$/, "");
    if (dir === "tenants") {
      const t = parse(file, tenantSchema);
      if (!t) {
        tenantFilesInvalid += 1;
        continue;
      }
      if (t.value.tenant !== stem)
        report(
          t.source,
          ["tenant"],
          `must equal the file name "${stem}" (or rename the file to ${t.value.tenant}.yaml)`,
        );
      tenants.push(t);
    } else if (dir === "rollouts") {
      const r = parse(file, rolloutSchema);
      if (!r) continue;
      if (r.value.id !== stem) report(r.source, ["id"], `must equal the file name "${stem}"`);
      rollouts.push(r);
    } else {
      const s = parse(file, statusSchema);
      if (!s) continue;
      if (s.value.host !== stem) report(s.source, ["host"], `must equal the file name "${stem}"`);
      statuses.push(s);
    }
  }

  const bots = checkBots(tenants, fleet?.value, report);
  // A bot in a tenant file that failed to parse would look undeclared: do not pile that on.
  checkRollouts(rollouts, bots, fleet?.value, report, tenantFilesInvalid === 0);

  if (problems.length > 0 || !fleet) return { ok: false, problems: sortProblems(problems) };
  const hosts = [...new Set([...bots.map((b) => b.host), ...statuses.map((s) => s.value.host)])].sort();
  return {
    ok: true,
    state: {
      fleet: fleet.value,
      tenants: tenants.map((t) => t.value),
      bots,
      hosts,
      rollouts: rollouts.map((r) => r.value),
      statuses: statuses.map((s) => s.value),
    },
  };
}

type Report = (source: YamlSource, path: PropertyKey[], message: string) => void;

const allowed = (fleet: Fleet, image: string) =>
  fleet.images.allowlist.some((prefix) => image.startsWith(prefix));

function checkBots(tenants: Parsed<Tenant>[], fleet: Fleet | undefined, report: Report): FleetBot[] {
  const byId = new Map<string, { source: YamlSource; index: number }>();
  const volumeOwner = new Map<string, string>();
  const bots: FleetBot[] = [];
  for (const { source, value: tenant } of tenants) {
    tenant.bots.forEach((bot, index) => {
      const first = byId.get(bot.id);
      if (first) {
        report(
          source,
          ["bots", index, "id"],
          `"${bot.id}" is already declared at ${first.source.file}:${first.source.lineOf(["bots", first.index, "id"])}; bot ids are container names and must be unique across the fleet`,
        );
      } else {
        byId.set(bot.id, { source, index });
      }
      if (fleet && !allowed(fleet, bot.image)) {
        report(
          source,
          ["bots", index, "image"],
          `"${bot.image}" is not allowed; fleet.yaml images.allowlist has ${fleet.images.allowlist.join(", ")}`,
        );
      }
      const names = new Set<string>();
      const paths = new Set<string>();
      bot.volumes.forEach((volume, v) => {
        if (names.has(volume.name))
          report(
            source,
            ["bots", index, "volumes", v, "name"],
            `volume "${volume.name}" is listed twice for this bot`,
          );
        if (paths.has(volume.path))
          report(
            source,
            ["bots", index, "volumes", v, "path"],
            `mount path "${volume.path}" is used twice for this bot`,
          );
        names.add(volume.name);
        paths.add(volume.path);
        const owner = volumeOwner.get(volume.name);
        if (owner && owner !== bot.id) {
          report(
            source,
            ["bots", index, "volumes", v, "name"],
            `volume "${volume.name}" already belongs to bot "${owner}"; a volume is snapshotted and restored with one bot only`,
          );
        }
        volumeOwner.set(volume.name, bot.id);
      });
      bots.push({ ...bot, tenant: tenant.tenant });
    });
  }
  return bots;
}

function checkRollouts(
  rollouts: Parsed<Rollout>[],
  bots: FleetBot[],
  fleet: Fleet | undefined,
  report: Report,
  allBotsKnown: boolean,
): void {
  const botsById = new Map(bots.map((b) => [b.id, b]));
  for (const { source, value: rollout } of rollouts) {
    const digestHex = rollout.digest.slice("sha256:".length, "sha256:".length + 8);
    if (!rollout.id.endsWith(`-${digestHex}`))
      report(source, ["id"], `must end with "-${digestHex}", the first 8 hex of the digest`);
    if (fleet && !allowed(fleet, rollout.image)) {
      report(
        source,
        ["image"],
        `"${rollout.image}" is not allowed; fleet.yaml images.allowlist has ${fleet.images.allowlist.join(", ")}`,
      );
    }
    const seen = new Set<string>();
    rollout.targets.forEach((target, i) => {
      if (seen.has(target.bot))
        report(source, ["targets", i, "bot"], `bot "${target.bot}" is targeted twice`);
      seen.add(target.bot);
      const bot = botsById.get(target.bot);
      if (!bot) {
        if (allBotsKnown)
          report(source, ["targets", i, "bot"], `no bot "${target.bot}" is declared in tenants/`);
        return;
      }
      if (bot.tenant !== target.tenant)
        report(
          source,
          ["targets", i, "tenant"],
          `bot "${bot.id}" belongs to tenant "${bot.tenant}", not "${target.tenant}"`,
        );
      if (bot.host !== target.host)
        report(
          source,
          ["targets", i, "host"],
          `bot "${bot.id}" runs on host "${bot.host}", not "${target.host}"`,
        );
    });
  }
}
