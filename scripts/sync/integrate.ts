/**
 * Brings upstream into the sync branch, by rebase (with the marker merge that lets the next
 * rebase replay only the fork's new commits) or by merge. A conflict aborts the rebase/merge
 * and returns the files and the commands a person runs to finish by hand.
 */
import { FleetwaveError } from "#fleetwave/errors.ts";
import type { ConflictReport } from "../changelog/render.ts";
import type { Git } from "./git.ts";
import { assertNoConflictMarkers } from "./markers.ts";
import type { SyncOptions, SyncStrategy } from "./types.ts";

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
export async function supersededMains(git: Git, baseSha: string, upstreamSha: string): Promise<string[]> {
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
export async function replayBoundary(
  git: Git,
  upstreamSha: string,
  superseded: readonly string[],
): Promise<string> {
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

export interface Integration {
  conflicts: ConflictReport | null;
}

export interface IntegrationContext {
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

export async function integrate(
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
