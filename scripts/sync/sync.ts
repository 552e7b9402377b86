/**
 * `fleetwave sync-upstream`: bring upstream's new work into the fork on a `sync/upstream-DATE`
 * branch, write the changelogs, push the branch and open (or update) the review PR.
 *
 * The fork's main is never moved: everything happens on the sync branch, a backup branch records
 * main first, and a conflict aborts the rebase/merge before anything is committed or pushed.
 * The steps live beside this file: preflight.ts, integrate.ts, report.ts.
 */
import { join, relative as relativePath } from "node:path";
import { FleetwaveError } from "#fleetwave/errors.ts";
import { generateChangelog } from "../changelog/generate.ts";
import type { SyncSummary } from "../changelog/render.ts";
import type { Git } from "./git.ts";
import { openOrUpdatePullRequest, type PullRequestResult, resolveGitHubTarget } from "./github.ts";
import { scanGuards } from "./guard.ts";
import { type IntegrationContext, integrate, replayBoundary, supersededMains } from "./integrate.ts";
import { assertNoConflictMarkers } from "./markers.ts";
import { createBackup, currentHead, operationInProgress, preflight } from "./preflight.ts";
import { renderSyncReport, reportInput, syncTitle } from "./report.ts";
import type { SyncOptions, SyncResult } from "./types.ts";

export type { SyncOptions, SyncOutcome, SyncResult, SyncStrategy } from "./types.ts";

export const SYNC_BRANCH_PREFIX = "sync/";

export function syncBranchName(date: string): string {
  return `${SYNC_BRANCH_PREFIX}upstream-${date}`;
}

/**
 * Deletes the branch of a sync PR this night's PR replaced. A branch already gone is fine; a
 * name outside the sync prefix is never touched.
 */
async function deleteReplacedBranch(git: Git, branch: string, log: (line: string) => void): Promise<void> {
  if (!branch.startsWith(syncBranchName(""))) return;
  const deleted = await git.tryRun(["push", "--quiet", "origin", "--delete", `refs/heads/${branch}`]);
  if (deleted.code === 0) log(`deleted ${branch} on origin`);
  else log(`could not delete ${branch} on origin (${deleted.stderr.trim()}); delete it by hand`);
}

/** Runs the nightly sync. Returns the outcome; throws FleetwaveError on failures other than conflicts. */
export async function syncUpstream(options: SyncOptions): Promise<SyncResult> {
  const { log, date } = options;
  const { git, root, gitDir, config, refs, upstreamRef, upstreamSha, baseRef, baseSha, from } =
    await preflight(options);
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
      pullRequest = await openOrUpdatePullRequest(
        target,
        { head: syncBranch, base: options.branch, title, body: report, replacesPrefix: syncBranchName("") },
        log,
      );
      log(`pull request #${pullRequest.number} ${pullRequest.action}: ${pullRequest.url}`);
      for (const old of pullRequest.replaced) {
        log(`closed #${old.number} (${old.head}), replaced by #${pullRequest.number}`);
        await deleteReplacedBranch(git, old.head, log);
      }
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
