import { posix } from "node:path";
import type { z } from "zod";
import { imageAllowed } from "./allowlist.ts";
import { type Fleet, fleetSchema } from "./fleet.ts";
import { healthUrlProblem } from "./health-url.ts";
import { formatBytes, MAX_FILE_BYTES, MAX_VALUE_BYTES, oversizedValues } from "./limits.ts";
import { type PublishedPort, parsePort, portSpec, portsOverlap } from "./ports.ts";
import { formatField, type Problem, quote, sortProblems } from "./problems.ts";
import { type Rollout, type RolloutTarget, rolloutSchema, rolloutTargetSchema } from "./rollout.ts";
import { type HostStatus, statusSchema } from "./status.ts";
import { type Bot, botSchema, type Tenant, tenantSchema, type Volume, volumeSchema } from "./tenant.ts";
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

/** A file over MAX_FILE_BYTES, measured but not read. */
export interface OversizedFile {
  path: string;
  bytes: number;
}

export type FleetStateResult = { ok: true; state: FleetState } | { ok: false; problems: Problem[] };

/** One file read on its own: parsed and checked against its schema, with the problems of that. */
export interface FileRead<T = unknown> {
  source?: YamlSource;
  value?: T;
  problems: readonly Problem[];
}

/**
 * What each file gave on its own in the last build, by path and text: a build that finds a file
 * with the same text takes that instead of parsing and validating it again. An agent reloads a
 * 10,000-bot fleet whenever one status file or one tenant changed; the rules between files still
 * run over every file each time. The values are shared between builds, as a FleetState is never
 * changed after it was built.
 */
export class FileReadCache {
  private entries = new Map<string, { text: string; read: FileRead }>();

  get(path: string, text: string): FileRead | undefined {
    const entry = this.entries.get(path);
    return entry?.text === text ? entry.read : undefined;
  }

  set(path: string, text: string, read: FileRead): void {
    this.entries.set(path, { text, read });
  }

  /** Forgets every file but `paths` (the files of the last build). */
  retain(paths: ReadonlySet<string>): void {
    for (const path of this.entries.keys()) if (!paths.has(path)) this.entries.delete(path);
  }

  get size(): number {
    return this.entries.size;
  }
}

interface Parsed<T> {
  source: YamlSource;
  value: T;
}

/**
 * What the rules between files need of one file: its fully validated value when the file passed
 * its schema, otherwise every part of it that is valid on its own, so that one schema error does
 * not hide a duplicate id or an image outside the allowlist elsewhere.
 */
interface BotView extends Partial<Omit<Bot, "volumes" | "ports">> {
  index: number;
  /** Items at their index; undefined where an item is invalid on its own. */
  volumes: (Volume | undefined)[];
  ports: (string | undefined)[];
}

interface TenantView {
  source: YamlSource;
  stem: string;
  tenant?: string;
  bots: BotView[];
  /** Every bot of the file has a known id, so a bot missing from the fleet is really missing. */
  allIdsKnown: boolean;
}

interface RolloutView {
  source: YamlSource;
  stem: string;
  value: Partial<Omit<Rollout, "targets">>;
  targets: (Partial<RolloutTarget> | undefined)[];
}

/** What the rules need of fleet.yaml; undefined where that part is invalid (its rules are skipped). */
interface FleetView {
  allowlist?: string[];
  allowHosts?: string[];
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  // Stryker disable next-line ConditionalExpression: a string or number has none of the schema's field names, so it reads like an empty map.
  value !== null && typeof value === "object" && !Array.isArray(value);

/** Each field of `raw` that is valid on its own (a left-out field takes its default). */
function salvage<Shape extends z.ZodRawShape>(
  shape: Shape,
  raw: unknown,
): { [K in keyof Shape]?: z.output<Shape[K]> } {
  const out: { [K in keyof Shape]?: z.output<Shape[K]> } = {};
  if (!isRecord(raw)) return out;
  for (const key of Object.keys(shape) as (keyof Shape & string)[]) {
    const result = (shape[key] as z.ZodType).safeParse(raw[key]);
    // Stryker disable next-line ConditionalExpression: a failed field's data is undefined, and every reader treats an undefined field as a left-out one.
    if (result.success) out[key] = result.data as z.output<Shape[typeof key]>;
  }
  return out;
}

/** The items of a list, each kept at its index when valid on its own. */
function salvageItems<T>(schema: z.ZodType<T>, raw: unknown): (T | undefined)[] {
  if (!Array.isArray(raw)) return [];
  return raw.map((item) => {
    const result = schema.safeParse(item);
    return result.success ? result.data : undefined;
  });
}

/** A valid tenant's bots as the rules read them; a FileReadCache hands the same Tenant to each build. */
const botViews = new WeakMap<Tenant, BotView[]>();

function tenantView(source: YamlSource, stem: string, parsed: Tenant | undefined): TenantView {
  // Stryker disable next-line ConditionalExpression,BlockStatement: the salvage below gives a file that passed its schema the same view; this is the fast path for valid files.
  if (parsed) {
    let bots = botViews.get(parsed);
    if (!bots) {
      bots = parsed.bots.map((bot, index) => ({ ...bot, index }));
      botViews.set(parsed, bots);
    }
    return { source, stem, tenant: parsed.tenant, bots, allIdsKnown: true };
  }
  const raw = isRecord(source.data) ? source.data : {};
  const rawBots = raw.bots === undefined ? [] : raw.bots;
  // Stryker disable next-line ArrayDeclaration: with `bots` not a list allIdsKnown is false anyway, and a bot salvaged from a string has no field to check.
  const bots = (Array.isArray(rawBots) ? rawBots : []).map((rawBot: unknown, index): BotView => {
    const bot = salvage(botSchema.shape, rawBot);
    const fields = isRecord(rawBot) ? rawBot : {};
    return {
      ...bot,
      index,
      volumes: bot.volumes ?? salvageItems(volumeSchema, fields.volumes),
      ports: bot.ports ?? salvageItems(portSpec, fields.ports),
    };
  });
  return {
    source,
    stem,
    tenant: salvage({ tenant: tenantSchema.shape.tenant }, raw).tenant,
    bots,
    allIdsKnown: Array.isArray(rawBots) && bots.every((bot) => bot.id !== undefined),
  };
}

function rolloutView(source: YamlSource, stem: string, parsed: Rollout | undefined): RolloutView {
  // Stryker disable next-line ConditionalExpression: the salvage below gives a rollout that passed its schema the same view; this is the fast path for valid files.
  if (parsed) return { source, stem, value: parsed, targets: parsed.targets };
  const raw = isRecord(source.data) ? source.data : {};
  // Stryker disable ArrayDeclaration: a made-up target is not a map, has no bot and is skipped like no target at all.
  const targets = Array.isArray(raw.targets)
    ? raw.targets.map((t: unknown) => (isRecord(t) ? salvage(rolloutTargetSchema.shape, t) : undefined))
    : [];
  // Stryker restore ArrayDeclaration
  return { source, stem, value: salvage(rolloutSchema.shape, raw), targets };
}

function fleetView(source: YamlSource | undefined, parsed: Fleet | undefined): FleetView {
  // Stryker disable next-line ConditionalExpression: the salvage below gives a fleet.yaml that passed its schema the same view; this is the fast path.
  if (parsed) return { allowlist: parsed.images.allowlist, allowHosts: parsed.healthChecks.allowHosts };
  if (!source) return {};
  const fleet = salvage(fleetSchema.shape, source.data);
  return { allowlist: fleet.images?.allowlist, allowHosts: fleet.healthChecks?.allowHosts };
}

/**
 * Validates the files of a fleet-state directory, each on its own and then against each other.
 * Pure: the caller reads the files. `displayPrefix` is put in front of every file name in problems
 * (for example "fleet-state/") so messages point at paths the operator can open. Every problem of
 * every file is reported: the rules between files run over whatever parts of the files are valid.
 * With `cache`, a file whose text did not change since the last build is not read again.
 */
export function buildFleetState(
  files: readonly (StateFile | OversizedFile)[],
  displayPrefix = "",
  cache?: FileReadCache,
): FleetStateResult {
  const problems: Problem[] = [];
  const shown = (path: string) => `${displayPrefix}${path}`;
  const fileProblem = (path: string, message: string) =>
    problems.push({ file: shown(path), line: 1, field: "(file)", message });

  /** The file as YAML, refused before parsing when it is too large. */
  function read(file: StateFile | OversizedFile): YamlSource | undefined {
    // Stryker disable next-line StringLiteral: Buffer.byteLength counts UTF-8 when no encoding is named.
    const bytes = "bytes" in file ? file.bytes : Buffer.byteLength(file.text, "utf8");
    if (!("text" in file) || bytes > MAX_FILE_BYTES) {
      fileProblem(
        file.path,
        `is ${formatBytes(bytes)}; a fleet-state file may be at most ${formatBytes(MAX_FILE_BYTES)} (keep bulky data out of fleet-state: a value may be at most ${formatBytes(MAX_VALUE_BYTES)})`,
      );
      return undefined;
    }
    const parsed = parseYaml(shown(file.path), file.text);
    if (!parsed.ok) {
      problems.push(...parsed.problems);
      return undefined;
    }
    for (const { path, bytes: size, isKey } of oversizedValues(parsed.source.data)) {
      report(
        parsed.source,
        path,
        `${isKey ? "holds a key of" : "is"} ${formatBytes(size)}; a value in fleet-state may be at most ${formatBytes(MAX_VALUE_BYTES)}`,
      );
    }
    return parsed.source;
  }

  function validate<S extends z.ZodType>(source: YamlSource, schema: S): z.output<S> | undefined {
    const result = schema.safeParse(source.data, { reportInput: true });
    if (result.success) return result.data;
    problems.push(...zodProblems(source, result.error));
    return undefined;
  }

  const report: Report = (source, path, message) =>
    problems.push({ file: source.file, line: source.lineOf(path), field: formatField(path), message });

  const readPaths = new Set<string>();
  /** The file parsed and checked against `schema`, from `cache` when its text is unchanged. */
  function readValid<S extends z.ZodType>(file: StateFile | OversizedFile, schema: S): FileRead<z.output<S>> {
    const path = shown(file.path);
    const text = "text" in file ? file.text : undefined;
    if (text !== undefined) readPaths.add(path);
    const cached = text === undefined ? undefined : cache?.get(path, text);
    if (cached) {
      problems.push(...cached.problems);
      return cached as FileRead<z.output<S>>;
    }
    const before = problems.length;
    const source = read(file);
    const value = source ? validate(source, schema) : undefined;
    const result: FileRead<z.output<S>> = {
      ...(source ? { source } : {}),
      ...(value !== undefined ? { value } : {}),
      problems: problems.slice(before),
    };
    if (text !== undefined) cache?.set(path, text, result);
    return result;
  }

  const fleetFile = files.find((f) => f.path === "fleet.yaml");
  const fleetRead = fleetFile ? readValid(fleetFile, fleetSchema) : undefined;
  const fleetSource = fleetRead?.source;
  const fleet = fleetRead?.value;
  if (!fleetFile) fileProblem("fleet.yaml", "missing: every fleet-state needs fleet.yaml");

  const tenants: Parsed<Tenant>[] = [];
  const tenantViews: TenantView[] = [];
  let tenantFileUnread = false;
  const rollouts: Parsed<Rollout>[] = [];
  const rolloutViews: RolloutView[] = [];
  const statuses: Parsed<HostStatus>[] = [];
  for (const file of [...files].sort((a, b) => a.path.localeCompare(b.path))) {
    const dir = posix.dirname(file.path);
    const base = posix.basename(file.path);
    // Stryker disable next-line ConditionalExpression,LogicalOperator,StringLiteral: "." and "schema" are not in `known` below either; this line names what is read elsewhere or not at all.
    if (file.path === "fleet.yaml" || dir === "schema") continue;
    const known = { tenants: true, rollouts: true, status: true } as Record<string, boolean>;
    if (!known[dir]) continue;
    if (!/\.ya?ml$/.test(base)) {
      fileProblem(file.path, "unexpected file; fleet-state files end in .yaml");
      continue;
    }
    const stem = base.replace(/\.ya?ml$/, "");
    if (dir === "tenants") {
      const { source, value } = readValid(file, tenantSchema);
      if (!source) {
        tenantFileUnread = true;
        continue;
      }
      // Stryker disable next-line ConditionalExpression: a file that fails its schema adds a problem, so the state built from this list is never returned.
      if (value) tenants.push({ source, value });
      tenantViews.push(tenantView(source, stem, value));
    } else if (dir === "rollouts") {
      const { source, value } = readValid(file, rolloutSchema);
      if (!source) continue;
      // Stryker disable next-line ConditionalExpression: a file that fails its schema adds a problem, so the state built from this list is never returned.
      if (value) rollouts.push({ source, value });
      rolloutViews.push(rolloutView(source, stem, value));
    } else {
      const { source, value } = readValid(file, statusSchema);
      if (!source) continue;
      // Stryker disable next-line ConditionalExpression: a file that fails its schema adds a problem, so the state built from this list is never returned.
      if (value) statuses.push({ source, value });
      const host = value?.host ?? salvage({ host: statusSchema.shape.host }, source.data).host;
      if (host !== undefined && host !== stem)
        report(source, ["host"], `must equal the file name ${quote(stem)}`);
    }
  }

  const rules = fleetView(fleetSource, fleet);
  const botsById = checkBots(tenantViews, rules, report);
  // A bot in a tenant file that could not be read would look undeclared: do not pile that on.
  const allBotsKnown = !tenantFileUnread && tenantViews.every((t) => t.allIdsKnown);
  checkRollouts(rolloutViews, botsById, rules, report, allBotsKnown);
  cache?.retain(readPaths);

  if (problems.length > 0 || !fleet) return { ok: false, problems: sortProblems(problems) };
  const bots = tenants.flatMap((t) => t.value.bots.map((bot) => ({ ...bot, tenant: t.value.tenant })));
  const hosts = [...new Set([...bots.map((b) => b.host), ...statuses.map((s) => s.value.host)])].sort();
  return {
    ok: true,
    state: {
      fleet,
      tenants: tenants.map((t) => t.value),
      bots,
      hosts,
      rollouts: rollouts.map((r) => r.value),
      statuses: statuses.map((s) => s.value),
    },
  };
}

type Report = (source: YamlSource, path: PropertyKey[], message: string) => void;

const notAllowed = (image: string, allowlist: string[]) =>
  `${quote(image)} is not allowed; fleet.yaml images.allowlist has ${allowlist.join(", ")}`;

/** Where a declared thing is, for messages that name a second location. */
interface Place {
  source: YamlSource;
  path: PropertyKey[];
}
const at = ({ source, path }: Place) => `${source.file}:${source.lineOf(path)} (${formatField(path)})`;

interface DeclaredBot {
  tenant?: string;
  host?: string;
}

/** Checks every bot against the others and fleet.yaml; returns the bots by id for the rollouts. */
function checkBots(tenants: TenantView[], fleet: FleetView, report: Report): Map<string, DeclaredBot> {
  const byId = new Map<string, DeclaredBot & { place: Place }>();
  const volumeOwner = new Map<string, string>();
  /** Per host, every published port seen so far with where it was declared. */
  const published = new Map<string, { port: PublishedPort; bot: string; place: Place }[]>();
  for (const { source, stem, tenant, bots } of tenants) {
    if (tenant !== undefined && tenant !== stem)
      report(
        source,
        ["tenant"],
        `must equal the file name ${quote(stem)} (or rename the file to ${tenant}.yaml)`,
      );
    for (const bot of bots) {
      const path = (...rest: PropertyKey[]) => ["bots", bot.index, ...rest];
      if (bot.id !== undefined) {
        const first = byId.get(bot.id);
        if (first) {
          report(
            source,
            path("id"),
            `"${bot.id}" is already declared at ${first.place.source.file}:${first.place.source.lineOf(first.place.path)}; bot ids are container names and must be unique across the fleet`,
          );
        } else {
          byId.set(bot.id, { tenant, host: bot.host, place: { source, path: path("id") } });
        }
      }
      if (fleet.allowlist && bot.image !== undefined && !imageAllowed(fleet.allowlist, bot.image))
        report(source, path("image"), notAllowed(bot.image, fleet.allowlist));
      checkVolumes(bot, source, volumeOwner, report);
      const ports = checkPorts(bot, source, published, report);
      if (bot.health && bot.network !== undefined) {
        const problem = healthUrlProblem(bot.health.url, {
          network: bot.network,
          ports,
          allowHosts: fleet.allowHosts,
        });
        if (problem) report(source, path("health", "url"), problem);
      }
    }
  }
  return byId;
}

function checkVolumes(bot: BotView, source: YamlSource, owners: Map<string, string>, report: Report): void {
  const names = new Set<string>();
  const paths = new Set<string>();
  bot.volumes.forEach((volume, v) => {
    if (!volume) return;
    const path = (field: string) => ["bots", bot.index, "volumes", v, field];
    if (names.has(volume.name))
      report(source, path("name"), `volume "${volume.name}" is listed twice for this bot`);
    if (paths.has(volume.path))
      report(source, path("path"), `mount path ${quote(volume.path)} is used twice for this bot`);
    names.add(volume.name);
    paths.add(volume.path);
    if (bot.id === undefined) return;
    const owner = owners.get(volume.name);
    if (owner && owner !== bot.id)
      report(
        source,
        path("name"),
        `volume "${volume.name}" already belongs to bot "${owner}"; a volume is snapshotted and restored with one bot only`,
      );
    owners.set(volume.name, bot.id);
  });
}

/**
 * Two containers on one host cannot bind the same host port: the second would fail to start in
 * the middle of an update. On network "host" Docker publishes nothing (the bot binds the host's
 * ports itself), so its `ports` are not counted. Returns the bot's published ports.
 */
function checkPorts(
  bot: BotView,
  source: YamlSource,
  published: Map<string, { port: PublishedPort; bot: string; place: Place }[]>,
  report: Report,
): PublishedPort[] {
  // Stryker disable next-line ArrayDeclaration: the health URL check looks for a published port by its fields, which a string has not.
  const own: PublishedPort[] = [];
  bot.ports.forEach((spec, p) => {
    // Stryker disable next-line ConditionalExpression: parsePort refuses undefined too ("undefined" is no port spec); the check says an invalid item is skipped.
    const port = spec === undefined ? undefined : parsePort(spec);
    if (!port) return;
    own.push(port);
    if (bot.host === undefined || bot.network === undefined || bot.network === "host") return;
    const place = { source, path: ["bots", bot.index, "ports", p] };
    const onHost = published.get(bot.host) ?? [];
    const clash = onHost.find((other) => portsOverlap(other.port, port));
    if (clash) {
      const by = clash.bot === bot.id ? "this bot" : `bot "${clash.bot}"`;
      report(
        source,
        place.path,
        `host port ${port.ip}:${port.hostPort}/${port.protocol} on host "${bot.host}" is already published as ${clash.port.ip}:${clash.port.hostPort}/${clash.port.protocol} by ${by} at ${at(clash.place)}; two containers cannot bind one port`,
      );
    }
    onHost.push({ port, bot: bot.id ?? `#${bot.index + 1} of ${source.file}`, place });
    published.set(bot.host, onHost);
  });
  return own;
}

function checkRollouts(
  rollouts: RolloutView[],
  botsById: Map<string, DeclaredBot>,
  fleet: FleetView,
  report: Report,
  allBotsKnown: boolean,
): void {
  for (const { source, stem, value: rollout, targets } of rollouts) {
    if (rollout.id !== undefined && rollout.id !== stem)
      report(source, ["id"], `must equal the file name ${quote(stem)}`);
    if (rollout.id !== undefined && rollout.digest !== undefined) {
      const digestHex = rollout.digest.slice("sha256:".length, "sha256:".length + 8);
      if (!rollout.id.endsWith(`-${digestHex}`))
        report(source, ["id"], `must end with "-${digestHex}", the first 8 hex of the digest`);
    }
    if (fleet.allowlist && rollout.image !== undefined && !imageAllowed(fleet.allowlist, rollout.image))
      report(source, ["image"], notAllowed(rollout.image, fleet.allowlist));
    const seen = new Map<string, number>();
    targets.forEach((target, i) => {
      if (target?.bot === undefined) return;
      const first = seen.get(target.bot);
      if (first !== undefined)
        report(
          source,
          ["targets", i, "bot"],
          `bot "${target.bot}" is targeted twice (first at line ${source.lineOf(["targets", first, "bot"])}, targets[${first}])`,
        );
      else seen.set(target.bot, i);
      const bot = botsById.get(target.bot);
      if (!bot) {
        if (allBotsKnown)
          report(source, ["targets", i, "bot"], `no bot "${target.bot}" is declared in tenants/`);
        return;
      }
      if (bot.tenant !== undefined && target.tenant !== undefined && bot.tenant !== target.tenant)
        report(
          source,
          ["targets", i, "tenant"],
          `bot "${target.bot}" belongs to tenant "${bot.tenant}", not "${target.tenant}"`,
        );
      if (bot.host !== undefined && target.host !== undefined && bot.host !== target.host)
        report(
          source,
          ["targets", i, "host"],
          `bot "${target.bot}" runs on host "${bot.host}", not "${target.host}"`,
        );
    });
  }
}
