/**
 * Fleetwave's promise after any fault, checked on the real engine, data dir and remote: every declared
 * bot runs healthy on a digest it may be on, its volumes hold exactly what they must for that digest,
 * nothing is left behind (aside containers, strays, journal entries, snapshots, partials, restore
 * staging), the status file tells the truth, and the remote holds nothing the agent did not write.
 *
 * The checker reports every violation it finds instead of stopping at the first, with the figures a
 * fault suite publishes: bots left down, bytes lost, commits that should not be on the remote.
 */
import { execFile } from "node:child_process";
import { readdir } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { isDeepStrictEqual, promisify } from "node:util";
import { parse } from "yaml";
import { asideName, LABEL_BOT } from "#fleetwave/docker/container-spec.ts";
import { containerDigest, type DockerAdapter } from "#fleetwave/docker/docker.ts";
import { type HostStatus, statusSchema } from "#fleetwave/model/status.ts";
import { waitForHttp } from "#test/support/docker.ts";
import type { TreeEntry, TreeManifest } from "#test/support/tree-manifest.ts";
import { treeManifest } from "#test/support/tree-manifest.ts";

const run = promisify(execFile);

/** Volume name → the manifest it must have. */
export type VolumeManifests = Record<string, TreeManifest>;

export interface DeclaredBot {
  id: string;
  /**
   * Each digest the bot may end on, with the manifests its volumes must then have: after a rollback,
   * the pre-update manifest under the old digest; under the new digest, what the new version leaves.
   * A volume not listed is not compared.
   */
  allowed: Record<string, VolumeManifests>;
  /** Answered with `expectStatus` (default 200) and a JSON body containing `expectJson`. */
  health?: { url: string; expectStatus?: number; expectJson?: Record<string, unknown> };
}

export interface RemoteExpectations {
  /** The bare repository (or any local path or URL git can read) and its branch (default main). */
  url: string;
  branch?: string;
  /** `Name <email>` of the agent's commits; each must also carry `Fleetwave-Host: <host>`. */
  agentAuthor: string;
  /** Other authors allowed on the branch (`Name <email>`): operators, CI. */
  otherAuthors: string[];
  /** Commits (SHA or full message) removed from the remote on purpose; none may come back. */
  removed?: string[];
}

export interface HostExpectations {
  host: string;
  docker: DockerAdapter;
  bots: DeclaredBot[];
  /**
   * Managed containers whose name or bot label starts with this prefix belong to the test; any of them
   * that is not exactly a declared bot is a stray. (The engine is shared with other tests.)
   */
  scope: string;
  /** The agent's data dir, checked only once the agent has converged. */
  dataDir?: string;
  /** Snapshots a volume may keep after a successful update (`snapshots.keepAfterSuccess`, default 0). */
  keepSnapshots?: number;
  /** The status file is read from here (the host's status ref, else the file on the branch). */
  remote?: RemoteExpectations;
  /** How long a declared bot's health URL may take to answer (default 10 s). */
  healthTimeoutMs?: number;
  /** Rollouts whose progress in the status file must match the containers (needs `remote`). */
  rollouts?: RolloutExpectations[];
}

export interface RolloutExpectations {
  id: string;
  /** The plan's digest. */
  to: string;
  /** This host's targets. */
  targets: string[];
  /** The plan's number of waves; a completed rollout has done them all. */
  waves: number;
  /** States the rollout may be in once the agent converged (default: completed). */
  states?: string[];
}

/** Collects one violation, a line an operator could act on. */
export type Fail = (line: string) => void;

export interface InvariantReport {
  violations: string[];
  /** Declared bots not running, not healthy or on a digest they may not be on. */
  botsDown: string[];
  /** Bytes of expected file content missing or different, over all volumes. */
  bytesLost: number;
  /** Commits on the remote that neither the agent nor an allowed author wrote, or that were removed. */
  foreignCommits: string[];
  /** What the engine says of each declared bot's container (undefined when there is none). */
  containers: Record<string, { digest: string | undefined; running: boolean } | undefined>;
  /** The status file as read from the remote, when a remote was given and had one. */
  status?: HostStatus;
}

export async function checkInvariants(h: HostExpectations): Promise<InvariantReport> {
  const report: InvariantReport = {
    violations: [],
    botsDown: [],
    bytesLost: 0,
    foreignCommits: [],
    containers: {},
  };
  const fail = (line: string) => report.violations.push(line);

  for (const bot of h.bots) await checkBot(h, bot, report, fail);
  await checkStrays(h, fail);
  if (h.dataDir) await checkDataDir(h.dataDir, h.keepSnapshots ?? 0, h.bots, fail);
  if (h.remote) {
    report.status = await readStatus(h.remote, h.host, fail);
    if (report.status)
      checkStatus(
        h.host,
        h.bots.map((b) => b.id),
        report.status,
        report.containers,
        fail,
      );
    if (report.status)
      for (const r of h.rollouts ?? []) checkRollout(r, report.status, report.containers, fail);
    report.foreignCommits = await checkCommits(h.remote, h.host, fail);
  }
  return report;
}

async function checkBot(
  h: HostExpectations,
  bot: DeclaredBot,
  report: InvariantReport,
  fail: Fail,
): Promise<void> {
  const down = (why: string) => {
    if (!report.botsDown.includes(bot.id)) report.botsDown.push(bot.id);
    fail(`${bot.id}: ${why}`);
  };
  const info = await h.docker.inspect(bot.id);
  const digest = info ? containerDigest(info) : undefined;
  report.containers[bot.id] = info ? { digest, running: info.State.Running } : undefined;
  if (!info) {
    down("has no container");
  } else if (!info.State.Running) {
    down(`container is ${info.State.Status}, not running`);
  } else if (!digest || !(digest in bot.allowed)) {
    down(`runs ${digest ?? "an unpinned image"}, not one of ${Object.keys(bot.allowed).join(", ")}`);
  } else if (bot.health) {
    const answer = await waitForHttp(bot.health.url, h.healthTimeoutMs ?? 10_000).catch((e: Error) => e);
    if (answer instanceof Error) down(`health ${bot.health.url}: ${answer.message}`);
    else if (answer.status !== (bot.health.expectStatus ?? 200))
      down(`health ${bot.health.url} answered ${answer.status}`);
    else if (bot.health.expectJson && !containsJson(answer.body, bot.health.expectJson))
      down(`health ${bot.health.url} answered ${answer.body.slice(0, 200)}`);
  }

  // Volumes are compared whatever the container's state: data lost is lost even on a bot left down.
  const manifests = (digest && bot.allowed[digest]) ?? Object.values(bot.allowed)[0] ?? {};
  for (const [volume, expected] of Object.entries(manifests)) {
    const mount = await h.docker.volumeMountpoint(volume).catch(() => undefined);
    if (!mount) {
      fail(`${bot.id}: volume ${volume} is gone`);
      report.bytesLost += dataBytesOf(expected.entries);
      continue;
    }
    const actual = await treeManifest(mount, { xattrs: expected.root.xattrs !== undefined });
    const diff = diffManifests(expected, actual);
    if (diff.lines.length > 0) fail(`${bot.id}: volume ${volume} differs: ${diff.lines.join("; ")}`);
    report.bytesLost += diff.bytesLost;
    await checkVolumeDir(mount, volume, fail);
  }
}

/** A Docker local volume's directory holds `_data` only: a direct restore stages beside it. */
async function checkVolumeDir(mount: string, volume: string, fail: Fail): Promise<void> {
  if (basename(mount) !== "_data") return;
  const extra = (await readdir(dirname(mount))).filter((n) => n !== "_data");
  if (extra.length > 0) fail(`volume ${volume}: leftovers beside _data: ${extra.join(", ")}`);
}

function containsJson(body: string, expected: Record<string, unknown>): boolean {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return false;
  }
  if (typeof parsed !== "object" || parsed === null) return false;
  const record = parsed as Record<string, unknown>;
  return Object.entries(expected).every(([key, value]) => isDeepStrictEqual(record[key], value));
}

function dataBytesOf(entries: TreeEntry[]): number {
  return entries.filter((e) => e.type === "file").reduce((sum, e) => sum + e.size, 0);
}

export interface ManifestDiff {
  /** At most a dozen human lines, then a count of the rest. */
  lines: string[];
  bytesLost: number;
}

/** What differs between two manifests, and how many bytes of the expected files are not intact. */
export function diffManifests(expected: TreeManifest, actual: TreeManifest): ManifestDiff {
  const all: string[] = [];
  let bytesLost = 0;
  if (!isDeepStrictEqual(expected.root, actual.root))
    all.push(`root ${JSON.stringify(actual.root)}, expected ${JSON.stringify(expected.root)}`);
  const found = new Map(actual.entries.map((e) => [e.path, e]));
  const wanted = new Set(expected.entries.map((e) => e.path));
  for (const e of expected.entries) {
    const a = found.get(e.path);
    if (!a) {
      all.push(`missing ${JSON.stringify(e.path)}`);
      bytesLost += e.size;
    } else if (!isDeepStrictEqual(a, e)) {
      const fields = (Object.keys(e) as Array<keyof TreeEntry>).filter((k) => !isDeepStrictEqual(a[k], e[k]));
      all.push(`changed ${JSON.stringify(e.path)} (${fields.join(", ")})`);
      if (a.sha256 !== e.sha256) bytesLost += e.size;
    }
  }
  for (const a of actual.entries) if (!wanted.has(a.path)) all.push(`extra ${JSON.stringify(a.path)}`);
  const lines = all.length > 12 ? [...all.slice(0, 12), `and ${all.length - 12} more`] : all;
  return { lines, bytesLost };
}

async function checkStrays(h: HostExpectations, fail: Fail): Promise<void> {
  const declared = new Set(h.bots.map((b) => b.id));
  for (const c of await h.docker.listManaged()) {
    const bot = c.labels[LABEL_BOT] ?? "";
    const ours = c.name.startsWith(h.scope) || bot.startsWith(h.scope);
    if (!ours || declared.has(c.name)) continue;
    if (declared.has(bot) && c.name === asideName(bot)) fail(`${c.name}: aside container left (${c.state})`);
    else fail(`${c.name}: stray managed container (bot label ${bot || "none"}, ${c.state})`);
  }
}

export async function checkDataDir(
  dataDir: string,
  keep: number,
  bots: DeclaredBot[],
  fail: Fail,
): Promise<void> {
  const journal = await readdir(join(dataDir, "journal")).catch(() => [] as string[]);
  if (journal.length > 0) fail(`journal not empty: ${journal.join(", ")}`);

  const names = await readdir(join(dataDir, "snapshots")).catch(() => [] as string[]);
  const partial = names.filter((n) => n.endsWith(".partial") || n.endsWith(".tmp"));
  if (partial.length > 0) fail(`incomplete snapshot files left: ${partial.join(", ")}`);
  const staging = await readdir(join(dataDir, "snapshots", ".restore")).catch(() => [] as string[]);
  if (staging.length > 0) fail(`restore staging left: ${staging.join(", ")}`);
  const listings = names.filter((n) => n.endsWith(".snar"));
  if (listings.length > 0) fail(`level-0 listings left (a pair never completed): ${listings.join(", ")}`);
  // A pair's level-1 (<id>.l1.tar) belongs to the manifest of its level-0 (<id>.json).
  const level1s = names.filter((n) => n.endsWith(".l1.tar"));
  const unowned = level1s.filter((n) => !names.includes(`${n.slice(0, -".l1.tar".length)}.json`));
  if (unowned.length > 0) fail(`level-1 tars without their pair's manifest: ${unowned.join(", ")}`);
  const tars = names.filter((n) => n.endsWith(".tar") && !n.endsWith(".l1.tar"));
  const limit =
    keep * bots.reduce((sum, b) => sum + Object.keys(Object.values(b.allowed)[0] ?? {}).length, 0);
  if (tars.length > limit)
    fail(`${tars.length} snapshots left, at most ${limit} may be kept: ${tars.join(", ")}`);
  const manifests = names.filter((n) => n.endsWith(".json"));
  const orphans = manifests.filter((n) => !names.includes(`${n.slice(0, -5)}.tar`));
  const bare = tars.filter((n) => !names.includes(`${n.slice(0, -4)}.json`));
  if (orphans.length + bare.length > 0)
    fail(`snapshot tar and manifest not paired: ${[...orphans, ...bare].join(", ")}`);
}

async function git(cwd: string | undefined, ...args: string[]): Promise<string> {
  const { stdout } = await run("git", args, { cwd, maxBuffer: 64 << 20 });
  return stdout;
}

async function readStatus(
  remote: RemoteExpectations,
  host: string,
  fail: Fail,
): Promise<HostStatus | undefined> {
  const path = `fleet-state/status/${host}.yaml`;
  const text = await git(remote.url, "show", `refs/heads/fleetwave/status/${host}:${path}`).catch(() =>
    git(remote.url, "show", `${remote.branch ?? "main"}:${path}`).catch(() => undefined),
  );
  if (text === undefined) {
    fail(`the remote has no ${path}`);
    return undefined;
  }
  const parsed = statusSchema.safeParse(parse(text));
  if (!parsed.success) {
    fail(`${path} on the remote is invalid: ${parsed.error.issues[0]?.message}`);
    return undefined;
  }
  return parsed.data;
}

/** The status file must say what `docker inspect` says: the digest, and whether the bot runs. */
export function checkStatus(
  host: string,
  bots: string[],
  status: HostStatus,
  containers: InvariantReport["containers"],
  fail: Fail,
): void {
  if (status.host !== host) fail(`status: host ${status.host}, expected ${host}`);
  for (const bot of bots) {
    const said = status.bots[bot];
    const seen = containers[bot];
    if (!said) {
      fail(`status: ${bot} is missing`);
      continue;
    }
    if (said.digest !== (seen?.digest ?? null))
      fail(`status: ${bot} digest ${said.digest}, but the container runs ${seen?.digest ?? "nothing"}`);
    const truth = !seen ? "missing" : seen.running ? "running" : "not running";
    const claims =
      said.state === "running" ? "running" : said.state === "missing" ? "missing" : "not running";
    if (claims !== truth) fail(`status: ${bot} is "${said.state}", but the container is ${truth}`);
  }
}

const FAILED = new Set(["rolled-back", "rollback-failed", "failed"]);

/**
 * A rollout's progress must say what happened: finished targets only, "updated" only for a bot on the
 * plan's digest, a failure only for a bot that is not on it, and every wave done once completed.
 */
export function checkRollout(
  r: RolloutExpectations,
  status: HostStatus,
  containers: InvariantReport["containers"],
  fail: Fail,
): void {
  const progress = status.rollouts[r.id];
  if (!progress) {
    fail(`rollout ${r.id}: no progress in the status file`);
    return;
  }
  const states = r.states ?? ["completed"];
  if (!states.includes(progress.state))
    fail(`rollout ${r.id}: ${progress.state}, expected ${states.join(" or ")}`);
  if (progress.state === "completed" && progress.wavesDone !== r.waves)
    fail(`rollout ${r.id}: completed with wavesDone ${progress.wavesDone} of ${r.waves}`);
  for (const bot of r.targets) {
    const said = progress.bots[bot];
    const digest = containers[bot]?.digest;
    if (!said) fail(`rollout ${r.id}: ${bot} has no result`);
    else if (said.result === "pending" || said.result === "update-available")
      fail(`rollout ${r.id}: ${bot} is still ${said.result}`);
    else if (said.result === "updated" && digest !== r.to)
      fail(`rollout ${r.id}: ${bot} "updated", but runs ${digest ?? "nothing"}`);
    else if (FAILED.has(said.result) && digest === r.to)
      fail(`rollout ${r.id}: ${bot} "${said.result}", but runs the plan's digest`);
  }
  for (const bot of Object.keys(progress.bots))
    if (!r.targets.includes(bot)) fail(`rollout ${r.id}: ${bot} has a result but is not a target`);
}

/** Every commit on the remote's branch is by the agent (with its host trailer) or an allowed author. */
export async function checkCommits(remote: RemoteExpectations, host: string, fail: Fail): Promise<string[]> {
  const log = await git(remote.url, "log", "--format=%H%x00%an <%ae>%x00%B%x1e", remote.branch ?? "main");
  const foreign: string[] = [];
  for (const record of log.split("\x1e")) {
    const [sha, author, body] = record.replace(/^\n/, "").split("\0");
    if (!sha || author === undefined || body === undefined) continue;
    const subject = body.split("\n")[0] ?? "";
    const removed = remote.removed?.some((r) => r === sha || r.trim() === body.trim());
    if (removed) {
      foreign.push(sha);
      fail(`commit ${sha.slice(0, 12)} "${subject}" was removed from the remote and came back`);
    } else if (author === remote.agentAuthor) {
      if (!new RegExp(`^Fleetwave-Host: ${escapeRegExp(host)}$`, "m").test(body)) {
        foreign.push(sha);
        fail(`commit ${sha.slice(0, 12)} "${subject}" has the agent's author but no Fleetwave-Host: ${host}`);
      }
    } else if (!remote.otherAuthors.includes(author)) {
      foreign.push(sha);
      fail(`commit ${sha.slice(0, 12)} "${subject}" by ${author}: neither the agent nor an allowed author`);
    }
  }
  return foreign;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
