/**
 * Before the sync touches anything: the date is valid, the clone is a clean, idle work tree,
 * the hosted-mode config loads, the remotes exist, upstream and origin are fetched, and the
 * fork and upstream share history. Also the ref helpers the later steps use.
 */
import { access } from "node:fs/promises";
import { join, resolve } from "node:path";
import { FleetwaveError } from "#fleetwave/errors.ts";
import {
  DEFAULT_HOSTED_MODE_FILE,
  type HostedModeConfig,
  loadHostedModeConfig,
} from "../changelog/exclusions.ts";
import { Git } from "./git.ts";
import type { SyncOptions } from "./types.ts";

export function backupBranchName(date: string): string {
  return `backup/pre-sync-${date}`;
}

/** The checked-out branch name, or the sha when HEAD is detached. */
export async function currentHead(git: Git): Promise<string> {
  const symbolic = await git.tryRun(["symbolic-ref", "-q", "--short", "HEAD"]);
  if (symbolic.code === 0) return symbolic.stdout.trim();
  return (await git.run(["rev-parse", "HEAD"])).trim();
}

/** Every ref and the object it points at, in one call. */
async function readRefs(git: Git): Promise<Map<string, string>> {
  const out = await git.run(["for-each-ref", "--format=%(objectname) %(refname)"]);
  const refs = new Map<string, string>();
  for (const line of out.split("\n")) {
    const space = line.indexOf(" ");
    if (space > 0) refs.set(line.slice(space + 1), line.slice(0, space));
  }
  return refs;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

export async function operationInProgress(gitDir: string): Promise<string | null> {
  for (const [name, what] of [
    ["rebase-merge", "a rebase"],
    ["rebase-apply", "a rebase"],
    ["MERGE_HEAD", "a merge"],
    ["CHERRY_PICK_HEAD", "a cherry-pick"],
  ] as const) {
    if (await exists(join(gitDir, name))) return what;
  }
  return null;
}

async function ensureUpstreamRemote(
  git: Git,
  remotes: readonly string[],
  url: string | undefined,
): Promise<void> {
  if (url) {
    if (remotes.includes("upstream")) await git.run(["remote", "set-url", "upstream", url]);
    else await git.run(["remote", "add", "upstream", url]);
    return;
  }
  if (!remotes.includes("upstream")) {
    throw new FleetwaveError("the repository has no `upstream` remote; pass --upstream URL");
  }
}

async function fetchUpstream(git: Git, branch: string, log: (line: string) => void): Promise<void> {
  const refspec = `+refs/heads/${branch}:refs/remotes/upstream/${branch}`;
  const withTags = await git.tryRun(["fetch", "--quiet", "upstream", refspec]);
  if (withTags.code === 0) return;
  // A tag upstream that clashes with one of the fork's must not block the nightly sync.
  log(`fetching upstream with its tags failed (${withTags.stderr.trim()}); retrying without tags`);
  await git.run(["fetch", "--quiet", "--no-tags", "upstream", refspec]);
}

/** Creates the backup branch, never overwriting an older backup that points elsewhere. */
export async function createBackup(
  git: Git,
  refs: Map<string, string>,
  date: string,
  sha: string,
): Promise<string> {
  for (let n = 1; n < 100; n++) {
    const name = n === 1 ? backupBranchName(date) : `${backupBranchName(date)}-${n}`;
    const existing = refs.get(`refs/heads/${name}`) ?? null;
    if (existing === sha) return name;
    if (existing === null) {
      await git.run(["branch", "--no-track", name, sha]);
      refs.set(`refs/heads/${name}`, sha);
      return name;
    }
  }
  throw new FleetwaveError(
    `too many backup branches for ${date}; delete old backup/pre-sync-${date}-* branches`,
  );
}

/** What the preflight found: the clone, its config, and the two sides of the sync. */
export interface Preflight {
  git: Git;
  root: string;
  gitDir: string;
  config: HostedModeConfig;
  refs: Map<string, string>;
  upstreamRef: string;
  upstreamSha: string;
  baseRef: string;
  baseSha: string;
  /** The merge base of the fork and upstream: where the changelog starts. */
  from: string;
}

/** Checks the clone and fetches both sides; throws FleetwaveError saying what to fix first. */
export async function preflight(options: SyncOptions): Promise<Preflight> {
  const { log, date } = options;
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date))
    throw new FleetwaveError(`invalid date "${date}", expected YYYY-MM-DD`);
  const probe = new Git(options.repo, { identity: options.identity });
  const top = await probe.tryRun(["rev-parse", "--show-toplevel", "--absolute-git-dir"]);
  if (top.code !== 0) throw new FleetwaveError(`${options.repo} is not a git work tree`);
  const [root = "", gitDir = ""] = top.stdout.trim().split("\n");
  const git = new Git(root, { identity: options.identity });

  const busy = await operationInProgress(gitDir);
  if (busy) throw new FleetwaveError(`${root} is in the middle of ${busy}; finish or abort it first`);
  const dirty = (await git.run(["status", "--porcelain", "--untracked-files=no"])).trim();
  if (dirty)
    throw new FleetwaveError(`${root} has uncommitted changes; commit or stash them first:\n${dirty}`);

  const configPath = resolve(root, options.configPath ?? DEFAULT_HOSTED_MODE_FILE);
  const config: HostedModeConfig = await loadHostedModeConfig(configPath, options.configPath !== undefined);

  const remotes = (await git.run(["remote"])).split("\n").map((r) => r.trim());
  const hasOrigin = remotes.includes("origin");
  if ((options.push || options.openPr) && !hasOrigin) {
    throw new FleetwaveError("the repository has no `origin` remote to push the sync branch to");
  }
  await ensureUpstreamRemote(git, remotes, options.upstreamUrl);
  log(`fetching upstream ${options.upstreamBranch}`);
  await fetchUpstream(git, options.upstreamBranch, log);
  if (hasOrigin) await git.run(["fetch", "--quiet", "--prune", "origin"]);
  const refs = await readRefs(git);

  const upstreamRef = `upstream/${options.upstreamBranch}`;
  const upstreamSha = refs.get(`refs/remotes/${upstreamRef}`);
  if (!upstreamSha) throw new FleetwaveError(`upstream has no branch ${options.upstreamBranch}`);
  const originBase = refs.get(`refs/remotes/origin/${options.branch}`);
  const baseRef = originBase ? `origin/${options.branch}` : options.branch;
  const baseSha = originBase ?? refs.get(`refs/heads/${options.branch}`);
  if (!baseSha) throw new FleetwaveError(`the fork has no branch ${options.branch}`);

  const mergeBase = await git.tryRun(["merge-base", baseSha, upstreamSha]);
  if (mergeBase.code !== 0) {
    throw new FleetwaveError(`${baseRef} and ${upstreamRef} share no history; is the upstream URL right?`);
  }
  const from = mergeBase.stdout.trim();
  return { git, root, gitDir, config, refs, upstreamRef, upstreamSha, baseRef, baseSha, from };
}
