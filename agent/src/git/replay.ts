/**
 * Replaying a writer's own unpushed commits onto a freshly fetched branch, and nothing else.
 *
 * `git rebase <upstream>` replays every commit of `upstream..HEAD`. When an operator rewrites the
 * remote (a force-push that removes a leaked secret), that range holds the removed commits, and a
 * plain rebase and push resurrects them. Here the writer says which commits are its own (author
 * and trailer), those alone are replayed onto the fetched commit, and the rest is dropped and
 * reported so the caller can log it.
 */
import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type GitOptions, git, tryGit } from "./git.ts";

/** One commit of the local range, as much of it as ownership needs. */
export interface LocalCommit {
  sha: string;
  authorEmail: string;
  subject: string;
  /** Values of its Fleetwave-Host trailers. */
  hosts: string[];
}

/** Who the writer is: the author email of its commits and the host its trailers name. */
export interface CommitOwner {
  email: string;
  host: string;
}

const FIELD = "\x1f";
const RECORD = "\x1e";
const FORMAT = `--format=%H${FIELD}%ae${FIELD}%s${FIELD}%(trailers:key=Fleetwave-Host,valueonly,separator=%x2c)${RECORD}`;

/** Parses `git log` output in FORMAT. */
export function parseCommitList(text: string): LocalCommit[] {
  return text
    .split(RECORD)
    .map((record) => record.replace(/^\n+/, ""))
    .filter((record) => record.length > 0)
    .map((record) => {
      const [sha = "", authorEmail = "", subject = "", hosts = ""] = record.split(FIELD);
      return {
        sha,
        authorEmail,
        subject,
        hosts: hosts
          .split(",")
          .map((h) => h.trim())
          .filter(Boolean),
      };
    });
}

/** A commit is the writer's own when it carries the writer's author email and host trailer. */
export function isOwnCommit(commit: LocalCommit, owner: CommitOwner): boolean {
  return commit.authorEmail.toLowerCase() === owner.email.toLowerCase() && commit.hosts.includes(owner.host);
}

export interface ReplayPlan {
  /** The fetched commit does not contain the base: the remote's history was rewritten. */
  rewritten: boolean;
  /** Commits of the old base that the rewritten remote no longer has (they stay dropped). */
  removedFromRemote: number;
  /** Local commits to replay, oldest first. */
  own: LocalCommit[];
  /** Local commits this writer did not write: never replayed, never pushed. */
  foreign: LocalCommit[];
}

/**
 * Sorts the local work for `fetched`: what is in HEAD but neither in `base` (the remote as this
 * clone last integrated it) nor in `fetched` is local; of that, the writer's commits are kept.
 */
export async function planReplay(
  options: GitOptions,
  base: string,
  fetched: string,
  owner: CommitOwner,
): Promise<ReplayPlan> {
  // The usual tick fetched nothing new: a commit is its own ancestor, no git process needed.
  const rewritten =
    base !== fetched && (await tryGit(["merge-base", "--is-ancestor", base, fetched], options)).code !== 0;
  const removed = rewritten
    ? Number((await git(["rev-list", "--count", base, `^${fetched}`], options)).stdout.trim())
    : 0;
  const log = await git(
    ["log", "--reverse", "--no-merges", FORMAT, "HEAD", `^${base}`, `^${fetched}`],
    options,
  );
  const merges = await git(["rev-list", "--merges", "HEAD", `^${base}`, `^${fetched}`], options);
  const commits = parseCommitList(log.stdout);
  const own = commits.filter((c) => isOwnCommit(c, owner));
  const foreign = [
    ...commits.filter((c) => !isOwnCommit(c, owner)),
    ...merges.stdout
      .split("\n")
      .filter(Boolean)
      .map((sha) => ({ sha, authorEmail: "", subject: "(merge)", hosts: [] })),
  ];
  return { rewritten, removedFromRemote: removed, own, foreign };
}

/**
 * Makes HEAD `fetched` plus `commits` replayed in order (commits that become empty are dropped).
 * With `theirs`, the replayed commit wins every conflict, including a file it changed that the
 * fetched side deleted (a rewritten remote); without it, a conflict leaves the clone as it was
 * and returns the error.
 */
export async function replayOnto(
  options: GitOptions,
  fetched: string,
  commits: readonly string[],
  theirs: boolean,
): Promise<{ ok: true } | { ok: false; error: string }> {
  if (commits.length === 0) {
    await git(["reset", "--quiet", "--hard", fetched], options);
    return { ok: true };
  }
  const gitDir = (await git(["rev-parse", "--absolute-git-dir"], options)).stdout.trim();
  const todo = join(gitDir, "FLEETWAVE_REPLAY_TODO");
  await writeFile(todo, `${commits.map((sha) => `pick ${sha}`).join("\n")}\n`);
  try {
    // An interactive rebase whose todo list is ours: only the given commits, in this order.
    let step = await tryGit(
      [
        "rebase",
        "--quiet",
        "--interactive",
        "--no-autosquash",
        "--empty=drop",
        ...(theirs ? ["-X", "theirs"] : []),
        "--onto",
        fetched,
        fetched,
      ],
      { ...options, env: { ...options.env, GIT_SEQUENCE_EDITOR: `cp '${todo.replaceAll("'", `'\\''`)}'` } },
    );
    for (let stops = 0; step.code !== 0 && theirs && stops <= commits.length; stops += 1) {
      if (!(await takeReplayedSide(options))) break;
      step = await tryGit(["rebase", "--continue"], options);
      if (step.code !== 0 && (await tryGit(["diff", "--cached", "--quiet"], options)).code === 0)
        step = await tryGit(["rebase", "--skip"], options);
    }
    if (step.code === 0) return { ok: true };
    await tryGit(["rebase", "--abort"], options);
    return {
      ok: false,
      error: (step.stderr || step.stdout).trim().split("\n").slice(-3).join(" ") || "rebase failed",
    };
  } finally {
    await rm(todo, { force: true });
  }
}

/** Resolves a stopped rebase step with the replayed commit's version of each conflicted path. */
async function takeReplayedSide(options: GitOptions): Promise<boolean> {
  const unmerged = (await git(["diff", "--name-only", "--diff-filter=U", "-z"], options)).stdout
    .split("\0")
    .filter(Boolean);
  if (unmerged.length === 0) return false;
  for (const path of unmerged) {
    const present = await tryGit(["cat-file", "-e", `REBASE_HEAD:${path}`], options);
    if (present.code === 0) await git(["checkout", "REBASE_HEAD", "--", path], options);
    else await git(["rm", "--quiet", "--force", "--", path], options);
  }
  return true;
}
