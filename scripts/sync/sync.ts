/**
 * `fleetwave sync-upstream`: bring upstream's new work into the fork on a `sync/upstream-DATE`
 * branch, write the changelogs, push the branch and open (or update) the review PR.
 *
 * The fork's main is never moved: everything happens on the sync branch, a backup branch records
 * main first, and a conflict aborts the rebase/merge before anything is committed or pushed.
 */
import { access } from "node:fs/promises";
import { join, relative as relativePath, resolve } from "node:path";
import { FleetwaveError } from "../../agent/src/errors.ts";
import { type ChangelogCounts, countChangelog } from "../changelog/build.ts";
import {
  DEFAULT_HOSTED_MODE_FILE,
  type HostedModeConfig,
  loadHostedModeConfig,
} from "../changelog/exclusions.ts";
import { type GeneratedChangelog, generateChangelog } from "../changelog/generate.ts";
import type { ConflictReport, SyncSummary } from "../changelog/render.ts";
import { Git, type GitIdentity } from "./git.ts";
import { openOrUpdatePullRequest, type PullRequestResult, resolveGitHubTarget } from "./github.ts";
import { scanGuards } from "./guard.ts";
import { assertNoConflictMarkers } from "./markers.ts";
import { renderSyncReport, syncTitle } from "./report.ts";

export type SyncStrategy = "rebase" | "merge";

export interface SyncOptions {
  /** The fork's clone (remotes `origin` = the fork, `upstream` = the public app). */
  repo: string;
  /** Sets (or updates) the `upstream` remote's URL; without it the remote must exist. */
  upstreamUrl?: string;
  /** Upstream's branch to take. */
  upstreamBranch: string;
  /** The fork's branch the sync starts from and the PR targets. */
  branch: string;
  strategy: SyncStrategy;
  /** UTC day used in branch and file names, YYYY-MM-DD. */
  date: string;
  identity: GitIdentity;
  /** Hosted-mode YAML; relative paths are taken from the repository root. */
  configPath?: string;
  /** Push the sync branch to origin (default true). */
  push: boolean;
  openPr: boolean;
  env: NodeJS.ProcessEnv;
  log: (line: string) => void;
}

export type SyncOutcome = "synced" | "up-to-date" | "conflicts";

export interface SyncResult {
  outcome: SyncOutcome;
  /** 0 synced, 2 nothing new upstream, 1 conflicts. (Other failures throw.) */
  exitCode: 0 | 1 | 2;
  report: string;
  title: string | null;
  summary: SyncSummary | null;
  changelog: GeneratedChangelog | null;
  pushed: boolean;
  pullRequest: PullRequestResult | null;
}

export const SYNC_BRANCH_PREFIX = "sync/";

export function syncBranchName(date: string): string {
  return `${SYNC_BRANCH_PREFIX}upstream-${date}`;
}

export function backupBranchName(date: string): string {
  return `backup/pre-sync-${date}`;
}

/** Today's date in UTC, YYYY-MM-DD. */
export function utcToday(now: Date = new Date()): string {
  return now.toISOString().slice(0, 10);
}

/** The checked-out branch name, or the sha when HEAD is detached. */
async function currentHead(git: Git): Promise<string> {
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

async function operationInProgress(gitDir: string): Promise<string | null> {
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
async function createBackup(git: Git, refs: Map<string, string>, date: string, sha: string): Promise<string> {
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

async function unmergedFiles(git: Git): Promise<string[]> {
  return git.lines0(["diff", "--name-only", "-z", "--diff-filter=U"]);
}

export const SUPERSEDES_TRAILER = "Fleetwave-Sync-Supersedes";

/**
 * Rebase bookkeeping. A rebased sync branch ends with a marker merge (`-s ours`: the rebased
 * tree, with the old main as second parent and a `Fleetwave-Sync-Supersedes: <old main>`
 * trailer), so the PR merges into main without a content change. The next rebase must replay
 * only the fork's commits that are NOT behind such a marker — otherwise the original fork
 * commits would be replayed forever and every conflict a person resolved would come back.
 */
async function supersededMains(git: Git, baseSha: string, upstreamSha: string): Promise<string[]> {
  const out = await git.run([
    "log",
    "--merges",
    `--format=%P%x1f%(trailers:key=${SUPERSEDES_TRAILER},valueonly,separator=%x20)`,
    baseSha,
    `^${upstreamSha}`,
  ]);
  const shas = new Set<string>();
  for (const line of out.split("\n")) {
    const [parents = "", trailer = ""] = line.split("\x1f");
    const claimed = trailer
      .trim()
      .split(/\s+/)
      .filter((t) => /^[0-9a-f]{40}$/.test(t));
    // Trust the trailer only when it names a real parent of that merge.
    for (const sha of claimed) if (parents.split(" ").includes(sha)) shas.add(sha);
  }
  return [...shas];
}

/**
 * The exclusive boundary of the commits to replay: upstream itself, or — after earlier rebase
 * syncs — a throwaway commit whose parents are upstream and every superseded main, so that
 * `boundary..main` is exactly the fork's current stack.
 */
async function replayBoundary(git: Git, upstreamSha: string, superseded: readonly string[]): Promise<string> {
  if (superseded.length === 0) return upstreamSha;
  const parents = [upstreamSha, ...superseded].flatMap((sha) => ["-p", sha]);
  const out = await git.run([
    "commit-tree",
    `${upstreamSha}^{tree}`,
    ...parents,
    "-m",
    "fleetwave: replay boundary (never pushed)",
  ]);
  return out.trim();
}

function boundaryCommand(upstreamRef: string, superseded: readonly string[]): string {
  if (superseded.length === 0) return `git rebase ${upstreamRef}`;
  const parents = superseded.map((sha) => `-p ${sha}`).join(" ");
  return `git rebase --onto ${upstreamRef} "$(git commit-tree ${upstreamRef}^{tree} -p ${upstreamRef} ${parents} -m boundary)"`;
}

function markerMessage(ctx: {
  syncBranch: string;
  baseRef: string;
  baseSha: string;
  upstreamRef: string;
}): string[] {
  return [
    "-m",
    `fleetwave: ${ctx.syncBranch} supersedes ${ctx.baseRef} at ${ctx.baseSha.slice(0, 7)}`,
    "-m",
    `The fork's commits were replayed on top of ${ctx.upstreamRef}. This merge keeps the rebased tree and makes the old main an ancestor, so the pull request merges without changes and the next sync replays only the commits after it.`,
    "-m",
    `${SUPERSEDES_TRAILER}: ${ctx.baseSha}`,
  ];
}

function finishCommands(options: {
  strategy: SyncStrategy;
  branch: string;
  syncBranch: string;
  baseRef: string;
  baseSha: string;
  upstreamRef: string;
  from: string;
  superseded: readonly string[];
}): string[] {
  const { strategy, syncBranch, baseRef, upstreamRef } = options;
  const quote = (text: string) => `'${text.replace(/'/g, "'\\''")}'`;
  const marker = markerMessage(options);
  const integrate =
    strategy === "rebase"
      ? [
          boundaryCommand(upstreamRef, options.superseded),
          "# fix the files listed above, then for every stop:",
          "git add <fixed files> && git rebase --continue",
          `git merge -s ours --no-ff ${baseRef} ${marker.map((m) => (m === "-m" ? m : quote(m))).join(" ")}`,
        ]
      : [
          `git merge --no-ff ${upstreamRef}`,
          "# fix the files listed above, then:",
          "git add <fixed files> && git commit --no-edit",
        ];
  return [
    "git fetch upstream && git fetch origin",
    `git checkout --no-track -B ${syncBranch} ${baseRef}`,
    ...integrate,
    "git grep -nE '^(<<<<<<<|>>>>>>>)( |$)' && echo 'conflict markers left: fix them first'",
    `npx fleetwave changelog --repo . --from ${options.from} --to ${upstreamRef}`,
    `git add changelogs && git commit -m "chore(changelog): upstream sync"`,
    `git push --force-with-lease origin ${syncBranch}`,
    `# then open a pull request from ${syncBranch} into ${options.branch}`,
  ];
}

interface Integration {
  conflicts: ConflictReport | null;
}

interface IntegrationContext {
  syncBranch: string;
  baseRef: string;
  baseSha: string;
  upstreamRef: string;
  upstreamSha: string;
  from: string;
  /** Old mains earlier rebase syncs superseded (rebase only). */
  superseded: string[];
  /** Exclusive start of the fork commits to replay (rebase only). */
  boundary: string;
}

async function integrate(
  git: Git,
  root: string,
  options: SyncOptions,
  ctx: IntegrationContext,
): Promise<Integration> {
  const commands = finishCommands({ ...ctx, strategy: options.strategy, branch: options.branch });
  if (options.strategy === "rebase") {
    const rebased = await git.tryRun(["rebase", "--no-autostash", "--onto", ctx.upstreamSha, ctx.boundary]);
    if (rebased.code !== 0) {
      const files = await unmergedFiles(git);
      const stopped = await git.tryRun(["log", "-1", "--format=%h %s", "REBASE_HEAD"]);
      await git.tryRun(["rebase", "--abort"]);
      if (files.length === 0) {
        throw new FleetwaveError(`git rebase failed: ${(rebased.stderr || rebased.stdout).trim()}`);
      }
      const step =
        stopped.code === 0
          ? `replaying fork commit ${stopped.stdout.trim()}`
          : "replaying the fork's commits";
      return { conflicts: { step, files, commands } };
    }
    const changed = await git.lines0(["diff", "--name-only", "-z", "--no-renames", ctx.baseSha, "HEAD"]);
    await assertNoConflictMarkers(root, changed);
    if (!(await git.isAncestor(ctx.baseSha, "HEAD"))) {
      await git.run([
        "merge",
        "--quiet",
        "--no-verify",
        "-s",
        "ours",
        "--no-ff",
        ...markerMessage(ctx),
        ctx.baseSha,
      ]);
    }
    return { conflicts: null };
  }

  const merged = await git.tryRun(["merge", "--no-ff", "--no-commit", ctx.upstreamSha]);
  if (merged.code !== 0) {
    const files = await unmergedFiles(git);
    await git.tryRun(["merge", "--abort"]);
    if (files.length === 0)
      throw new FleetwaveError(`git merge failed: ${(merged.stderr || merged.stdout).trim()}`);
    return { conflicts: { step: `merging ${ctx.upstreamRef} into ${ctx.baseRef}`, files, commands } };
  }
  const staged = await git.lines0(["diff", "--cached", "--name-only", "-z", "--no-renames", "HEAD"]);
  try {
    await assertNoConflictMarkers(root, staged);
  } catch (error) {
    await git.tryRun(["merge", "--abort"]);
    throw error;
  }
  await git.run([
    "commit",
    "--quiet",
    "--no-verify",
    "-m",
    `Merge ${ctx.upstreamRef} (${ctx.upstreamSha.slice(0, 7)}) into ${ctx.syncBranch}`,
  ]);
  return { conflicts: null };
}

/** Runs the nightly sync. Returns the outcome; throws FleetwaveError on failures other than conflicts. */
export async function syncUpstream(options: SyncOptions): Promise<SyncResult> {
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
  if (from === upstreamSha) {
    log(`nothing new upstream: ${upstreamRef} (${upstreamSha.slice(0, 7)}) is already in ${baseRef}`);
    return {
      outcome: "up-to-date",
      exitCode: 2,
      report: `Nothing new upstream: ${upstreamRef} at ${upstreamSha.slice(0, 7)} is already in ${baseRef}.\n`,
      title: null,
      summary: null,
      changelog: null,
      pushed: false,
      pullRequest: null,
    };
  }
  const superseded = options.strategy === "rebase" ? await supersededMains(git, baseSha, upstreamSha) : [];
  const boundary =
    options.strategy === "rebase" ? await replayBoundary(git, upstreamSha, superseded) : upstreamSha;
  const forkCommits = Number(
    (await git.run(["rev-list", "--count", "--no-merges", `${boundary}..${baseSha}`])).trim(),
  );

  const backupBranch = await createBackup(git, refs, date, baseSha);
  log(`backup of ${baseRef} (${baseSha.slice(0, 7)}): ${backupBranch}`);

  const syncBranch = syncBranchName(date);
  const remoteSyncSha = refs.get(`refs/remotes/origin/${syncBranch}`) ?? null;
  const originalHead = await currentHead(git);
  const summary: SyncSummary = {
    strategy: options.strategy,
    branch: syncBranch,
    base: { ref: baseRef, sha: baseSha },
    upstream: { ref: upstreamRef, sha: upstreamSha },
    backupBranch,
    forkCommits,
    conflicts: null,
    guardFindings: [],
    guardRules: config.guards.map((g) => g.name),
  };
  const ctx: IntegrationContext = {
    syncBranch,
    baseRef,
    baseSha,
    upstreamRef,
    upstreamSha,
    from,
    superseded,
    boundary,
  };

  let result: SyncResult;
  let restored = false;
  const restore = async () => {
    if (restored) return;
    restored = true;
    if (originalHead !== syncBranch) await git.run(["checkout", "--quiet", originalHead]);
  };
  try {
    log(`creating ${syncBranch} from ${baseRef} and bringing ${upstreamRef} in (${options.strategy})`);
    await git.run(["checkout", "--quiet", "--no-track", "-B", syncBranch, baseSha]);
    const { conflicts } = await integrate(git, root, options, ctx);
    summary.conflicts = conflicts;
    summary.guardFindings = await scanGuards(
      git,
      config.guards,
      { from, to: upstreamSha },
      conflicts ? upstreamSha : "HEAD",
    );

    if (conflicts) {
      const changelog = await generateChangelog({
        git,
        from,
        to: upstreamSha,
        date,
        config,
        outDir: null,
        sync: summary,
      });
      await restore();
      await git.tryRun(["branch", "-D", syncBranch]);
      const input = reportInput(date, summary, changelog, null);
      log(`conflicts in ${conflicts.files.join(", ")}; ${syncBranch} was not kept and nothing was pushed`);
      return {
        outcome: "conflicts",
        exitCode: 1,
        report: renderSyncReport(input),
        title: syncTitle(input),
        summary,
        changelog,
        pushed: false,
        pullRequest: null,
      };
    }

    const changelog = await generateChangelog({
      git,
      from,
      to: upstreamSha,
      date,
      config,
      outDir: join(root, "changelogs"),
      sync: summary,
    });
    const files = changelog.files!;
    const relative = [files.internal, files.userFacing, files.latest].map((p) => relativePath(root, p));
    await assertNoConflictMarkers(root, relative);
    await git.run(["add", "--", ...relative]);
    const staged = await git.tryRun(["diff", "--cached", "--quiet"]);
    if (staged.code !== 0) {
      await git.run([
        "commit",
        "--quiet",
        "--no-verify",
        "-m",
        `chore(changelog): upstream sync ${date} (${from.slice(0, 7)}..${upstreamSha.slice(0, 7)})\n\n` +
          `Internal and user-facing changelogs for the upstream commits brought in by ${syncBranch}.`,
        "--",
        ...relative,
      ]);
    }
    const input = reportInput(date, summary, changelog, relative[0]!);
    const report = renderSyncReport(input);
    const title = syncTitle(input);

    let pushed = false;
    if (options.push) {
      if (!syncBranch.startsWith(SYNC_BRANCH_PREFIX))
        throw new FleetwaveError(`refusing to push ${syncBranch}`);
      // Every file on the branch was checked for markers before its commit (integrate, changelogs).
      log(`pushing ${syncBranch} to origin`);
      await git.run([
        "push",
        "--quiet",
        `--force-with-lease=refs/heads/${syncBranch}:${remoteSyncSha ?? ""}`,
        "origin",
        `HEAD:refs/heads/${syncBranch}`,
      ]);
      pushed = true;
    }
    let pullRequest: PullRequestResult | null = null;
    if (options.openPr) {
      const originUrl = (await git.tryRun(["remote", "get-url", "origin"])).stdout.trim() || null;
      const target = resolveGitHubTarget(options.env, originUrl);
      pullRequest = await openOrUpdatePullRequest(target, {
        head: syncBranch,
        base: options.branch,
        title,
        body: report,
      });
      log(`pull request #${pullRequest.number} ${pullRequest.action}: ${pullRequest.url}`);
    }
    result = { outcome: "synced", exitCode: 0, report, title, summary, changelog, pushed, pullRequest };
  } catch (error) {
    const busy = await operationInProgress(gitDir);
    if (busy === "a rebase") await git.tryRun(["rebase", "--abort"]);
    if (busy === "a merge") await git.tryRun(["merge", "--abort"]);
    await restore().catch(() => undefined);
    throw error;
  }
  await restore();
  return result;
}

function reportInput(
  date: string,
  summary: SyncSummary,
  changelog: GeneratedChangelog,
  internalPath: string | null,
): Parameters<typeof renderSyncReport>[0] {
  const counts: ChangelogCounts = countChangelog(changelog.changelog);
  const breaking = changelog.changelog.entries
    .filter((e) => e.commit.breaking)
    .map((e) => ({ sha: e.commit.sha, text: e.commit.breakingNotes.join("; ") || e.commit.subject }));
  return { date, summary, counts, userFacing: changelog.userFacing, breaking, internalPath };
}
