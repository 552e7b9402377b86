/**
 * The one way Fleetwave talks to git, built on simple-git: `Git` (and the `git`/`tryGit`
 * functions over it) run the git CLI in a fixed directory with no prompts, editors or pagers,
 * an optional explicit identity (passed with `-c`, never global config) and an optional timeout.
 * `pushWithRetry` lands local commits on a shared branch that other writers push to as well:
 * fetch, integrate (rebase) onto the fetched branch, push, and on a rejected push wait with
 * jitter and start over, a bounded number of times.
 */
import { resolve } from "node:path";
import { simpleGit } from "simple-git";
import { FleetwaveError } from "../errors.ts";

/** A git command exited non-zero (or could not start, or timed out: `code` null). */
export class GitError extends FleetwaveError {
  override name = "GitError";
  constructor(
    readonly args: readonly string[],
    readonly code: number | null,
    readonly stdout: string,
    readonly stderr: string,
  ) {
    super(
      `git ${args.join(" ")} failed${code === null ? "" : ` (exit ${code})`}: ${(stderr || stdout).trim() || "no output"}`,
    );
  }
}

/** The remote branch moved in a way a rebase cannot replay onto (a real content conflict). */
export class GitConflictError extends FleetwaveError {
  override name = "GitConflictError";
}

/** Every push attempt was rejected or failed. */
export class PushFailedError extends FleetwaveError {
  override name = "PushFailedError";
  constructor(
    message: string,
    readonly attempts: number,
    readonly lastError: GitError,
  ) {
    super(message);
  }
}

/** Who commits: the author and committer of commits a Git makes. */
export interface GitIdentity {
  name: string;
  email: string;
}

export interface GitOptions {
  cwd: string;
  /** Extra environment on top of process.env (e.g. GIT_AUTHOR_NAME). */
  env?: NodeJS.ProcessEnv;
  /**
   * Kills git after this long without output (for fetch and push: a remote that accepts a
   * connection and never answers must not hold the caller forever). No limit when unset.
   */
  timeoutMs?: number;
  /** Author and committer of every commit, passed with `-c` together with settings that keep runs reproducible. */
  identity?: GitIdentity;
}

export interface GitOutput {
  stdout: string;
  stderr: string;
}

export interface GitResult extends GitOutput {
  code: number;
}

/** The environment every git call gets: no prompts, no editor, no pager, stable messages. */
function gitEnv(extra: NodeJS.ProcessEnv | undefined): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries({ ...process.env, ...extra }))
    if (value !== undefined) env[key] = value;
  return { ...env, GIT_TERMINAL_PROMPT: "0", GIT_EDITOR: "true", GIT_PAGER: "cat", LC_ALL: "C" };
}

function identityArgs(identity: GitIdentity | undefined): string[] {
  if (!identity) return [];
  return [
    ...["-c", `user.name=${identity.name}`, "-c", `user.email=${identity.email}`],
    ...["-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false", "-c", "rerere.enabled=false"],
    ...["-c", "core.quotepath=false"],
  ];
}

/** Subcommands that never move a ref or HEAD (config writes no ref either). */
const REF_READS = new Set([
  "cat-file",
  "config",
  "diff",
  "for-each-ref",
  "log",
  "ls-files",
  "ls-remote",
  "ls-tree",
  "merge-base",
  "rev-list",
  "rev-parse",
  "show",
  "show-ref",
]);

/** Per directory: how many git commands that may move refs this process started or finished. */
const refWrites = new Map<string, number>();

/**
 * Changes whenever a git command run through this module in `cwd` may have moved a ref or HEAD,
 * at its start and at its end: what was read of the refs while it stayed the same still holds.
 */
export const refGeneration = (cwd: string): number => refWrites.get(resolve(cwd)) ?? 0;

function noteRefWrite(args: readonly string[], cwd: string): void {
  let i = 0;
  while (i < args.length && args[i]!.startsWith("-")) i += args[i] === "-c" || args[i] === "-C" ? 2 : 1;
  const subcommand = args[i];
  if (subcommand !== undefined && REF_READS.has(subcommand)) return;
  const key = resolve(cwd);
  refWrites.set(key, (refWrites.get(key) ?? 0) + 1);
}

/** Runs git and returns its exit code and output whatever the exit code. */
export async function tryGit(args: readonly string[], options: GitOptions): Promise<GitResult> {
  noteRefWrite(args, options.cwd);
  try {
    return await runGit(args, options);
  } finally {
    noteRefWrite(args, options.cwd);
  }
}

async function runGit(args: readonly string[], options: GitOptions): Promise<GitResult> {
  let finished: { exitCode: number; stdErr: Buffer[] } | undefined;
  const client = simpleGit({
    baseDir: options.cwd,
    trimmed: false,
    ...(options.timeoutMs ? { timeout: { block: options.timeoutMs } } : {}),
    // Fleetwave sets the editors itself (GIT_EDITOR=true, a rebase todo list) and no pager.
    // GIT_CONFIG_COUNT: the rollout-plan action passes commit signing through the environment,
    // so that the rebase that lands a plan commit signs its copy too.
    unsafe: { allowUnsafeEditor: true, allowUnsafePager: true, allowUnsafeConfigEnvCount: true },
    // simple-git's default takes a command as finished 50 ms after its exit even when its output
    // has not been read yet: on a busy event loop (dozens of agents in one bench process) the
    // timer fires first and an exit-0 command "printed nothing". The output is complete at
    // `close`. No fallback timer after the exit: simple-git never cancels it, so a long one kept
    // every CLI process alive that long after its last git command.
    completion: { onClose: true, onExit: false },
    // Every exit code resolves (the caller decides what a non-zero exit means); only a git that
    // could not run or was killed stays an error.
    errors: (error, result) => {
      finished = result;
      return result.exitCode > 0 ? undefined : error;
    },
  }).env(gitEnv(options.env));
  try {
    const stdout = await client.raw([...identityArgs(options.identity), ...args]);
    return {
      code: finished?.exitCode ?? 0,
      stdout,
      stderr: Buffer.concat(finished?.stdErr ?? []).toString("utf8"),
    };
  } catch (error) {
    const timedOut = (error as { plugin?: string }).plugin === "timeout";
    throw new GitError(
      args,
      null,
      "",
      timedOut
        ? `timed out after ${(options.timeoutMs ?? 0) / 1000} s (the remote is slow or does not answer)`
        : `could not run git in ${options.cwd}: ${(error as Error).message}`,
    );
  }
}

/** Runs git; throws GitError on a non-zero exit. */
export async function git(args: readonly string[], options: GitOptions): Promise<GitOutput> {
  const result = await tryGit(args, options);
  if (result.code !== 0) throw new GitError(args, result.code, result.stdout, result.stderr);
  return { stdout: result.stdout, stderr: result.stderr };
}

/**
 * Runs git for the one value it prints (an id, a path) and returns it trimmed; an empty answer
 * from a git that exited 0 is a GitError. Seen under heavy load (dozens of agents on two cores):
 * taken as a value, it would name no object or make a path relative to the working directory.
 */
export async function gitValue(args: readonly string[], options: GitOptions): Promise<string> {
  const out = await git(args, options);
  const value = out.stdout.trim();
  if (value === "")
    throw new GitError(
      args,
      0,
      "",
      `printed nothing (${out.stderr.trim() || "no error either"}); the next attempt runs it again`,
    );
  return value;
}

/** Git in one directory with fixed options, for callers that make many calls. */
export class Git {
  readonly cwd: string;
  private readonly options: GitOptions;

  constructor(cwd: string, options: Omit<GitOptions, "cwd"> = {}) {
    this.cwd = cwd;
    this.options = { ...options, cwd };
  }

  /** Runs git and returns its result whatever the exit code. */
  tryRun(args: readonly string[]): Promise<GitResult> {
    return tryGit(args, this.options);
  }

  /** Runs git and returns stdout; throws GitError on a non-zero exit. */
  async run(args: readonly string[]): Promise<string> {
    return (await git(args, this.options)).stdout;
  }

  /** Resolves a revision to a full sha, or null when it does not exist. */
  async resolve(rev: string): Promise<string | null> {
    const result = await this.tryRun(["rev-parse", "--verify", "--quiet", `${rev}^{commit}`]);
    return result.code === 0 ? result.stdout.trim() : null;
  }

  /** True when `ancestor` is reachable from `descendant`. */
  async isAncestor(ancestor: string, descendant: string): Promise<boolean> {
    const args = ["merge-base", "--is-ancestor", ancestor, descendant];
    const result = await this.tryRun(args);
    if (result.code === 0) return true;
    if (result.code === 1) return false;
    throw new GitError(args, result.code, result.stdout, result.stderr);
  }

  /** NUL-separated output split into its entries. */
  async lines0(args: readonly string[]): Promise<string[]> {
    const out = await this.run(args);
    return out.split("\0").filter((entry) => entry.length > 0);
  }

  /** Writes `paths` as of `commit` into a tar file (git archive). */
  async archive(commit: string, paths: readonly string[], tarFile: string): Promise<void> {
    await this.run(["archive", "--format=tar", "-o", tarFile, commit, "--", ...paths]);
  }
}

/** The commit HEAD points at, or undefined when `cwd` is not inside a git work tree with commits. */
export async function headCommit(cwd: string): Promise<string | undefined> {
  const result = await tryGit(["rev-parse", "--verify", "--quiet", "HEAD^{commit}"], { cwd }).catch(
    () => undefined,
  );
  return result && result.code === 0 ? result.stdout.trim() : undefined;
}

/** The checked-out branch, or undefined on a detached HEAD. */
export async function currentBranch(cwd: string): Promise<string | undefined> {
  const result = await tryGit(["symbolic-ref", "--quiet", "--short", "HEAD"], { cwd });
  return result.code === 0 ? result.stdout.trim() : undefined;
}

/**
 * Options of pushWithRetry. The default rebase writes commits, so git needs a committer identity:
 * pass GIT_COMMITTER_NAME / GIT_COMMITTER_EMAIL in `env` unless the clone's config has one.
 */
export interface PushWithRetryOptions extends GitOptions {
  /** The branch to land on, e.g. "main". The local HEAD is pushed to refs/heads/<branch>. */
  branch: string;
  remote?: string;
  /**
   * The ref each fetch writes, handed to `integrate` as `upstream`; default
   * `refs/remotes/<remote>/<branch>`. A caller that keeps the remote-tracking ref as the base of
   * its local work (to tell its own unpushed commits from a rewritten remote) fetches elsewhere.
   */
  fetchRef?: string;
  /** Limit of each fetch and push (see GitOptions.timeoutMs). */
  networkTimeoutMs?: number;
  /** Total push attempts, at least 1 (default 5). */
  attempts?: number;
  /** The n-th retry waits a random time in [0, baseDelayMs × 2^(n-1)) ("full jitter"); default 250. */
  baseDelayMs?: number;
  /** Upper bound of one wait; default 10 s. */
  maxDelayMs?: number;
  /**
   * Brings local work onto the freshly fetched `<remote>/<branch>`. Default: `git rebase`, which
   * replays local commits; a conflict aborts the rebase and throws GitConflictError (no retry).
   * The agent can instead reset and re-apply its edits (an API call on a fresh HEAD).
   */
  integrate?: (context: { cwd: string; upstream: string; attempt: number }) => Promise<void>;
  /** Runs after integrating, before pushing, e.g. to re-validate fleet-state; throwing stops. */
  verify?: (context: { cwd: string; attempt: number }) => Promise<void>;
  /** Told about each failed attempt before waiting. */
  onRetry?: (info: { attempt: number; delayMs: number; error: GitError }) => void;
  /** For tests: randomness and sleeping. */
  random?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export interface PushResult {
  /** The commit now at `<remote>/<branch>`. */
  commit: string;
  attempts: number;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function rebaseOnto(cwd: string, upstream: string, env: NodeJS.ProcessEnv | undefined): Promise<void> {
  const result = await tryGit(["rebase", "--no-autosquash", "--no-update-refs", upstream], { cwd, env });
  if (result.code === 0) return;
  await tryGit(["rebase", "--abort"], { cwd, env });
  throw new GitConflictError(
    `local commits do not apply on top of ${upstream}: ${(result.stderr || result.stdout).trim().split("\n").slice(-3).join(" ")}`,
  );
}

/**
 * Lands HEAD on `<remote>/<branch>`: fetch, integrate (rebase), verify, push; a failed push is
 * retried with exponential backoff and full jitter up to `attempts` times, fetching again each
 * time (another writer pushed first). A rebase conflict or a throwing `verify` stops at once.
 */
export async function pushWithRetry(options: PushWithRetryOptions): Promise<PushResult> {
  const { cwd, env, branch } = options;
  const remote = options.remote ?? "origin";
  const attempts = Math.max(1, options.attempts ?? 5);
  const base = options.baseDelayMs ?? 250;
  const maxDelay = options.maxDelayMs ?? 10_000;
  const random = options.random ?? Math.random;
  const sleep = options.sleep ?? defaultSleep;
  const tracking = `refs/remotes/${remote}/${branch}`;
  const upstream = options.fetchRef ?? tracking;
  const network = { cwd, env, ...(options.networkTimeoutMs ? { timeoutMs: options.networkTimeoutMs } : {}) };
  let lastError: GitError | undefined;
  for (let attempt = 1; attempt <= attempts; attempt += 1) {
    // With fetchRef, an empty --refmap keeps git from also moving the remote-tracking ref.
    const refmap = upstream === tracking ? [] : ["--refmap="];
    await git(
      ["fetch", "--quiet", "--no-tags", ...refmap, remote, `+refs/heads/${branch}:${upstream}`],
      network,
    );
    if (options.integrate) await options.integrate({ cwd, upstream, attempt });
    else await rebaseOnto(cwd, upstream, env);
    if (options.verify) await options.verify({ cwd, attempt });
    const push = await tryGit(["push", "--porcelain", remote, `HEAD:refs/heads/${branch}`], network);
    if (push.code === 0) {
      const head = (await git(["rev-parse", "HEAD"], { cwd, env })).stdout.trim();
      await tryGit(["update-ref", tracking, head], { cwd, env });
      return { commit: head, attempts: attempt };
    }
    lastError = new GitError(
      ["push", remote, `HEAD:refs/heads/${branch}`],
      push.code,
      push.stdout,
      push.stderr,
    );
    if (attempt === attempts) break;
    const delayMs = Math.min(maxDelay, Math.floor(random() * base * 2 ** (attempt - 1)));
    options.onRetry?.({ attempt, delayMs, error: lastError });
    await sleep(delayMs);
  }
  throw new PushFailedError(
    `could not push to ${remote}/${branch} after ${attempts} attempt${attempts === 1 ? "" : "s"}: ${lastError?.message ?? "unknown error"}`,
    attempts,
    lastError!,
  );
}
