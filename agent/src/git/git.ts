/**
 * The thin git adapter: `git(args, { cwd })` runs the git CLI with execFile (no shell), and
 * `pushWithRetry` lands local commits on a shared branch that other writers push to as well
 * (DESIGN §6): fetch, rebase onto origin/<branch>, push, and on a rejected push wait with jitter
 * and start over, a bounded number of times.
 */
import { execFile } from "node:child_process";
import { FleetwaveError } from "../errors.ts";

/** A git command exited non-zero (or could not start). */
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

export interface GitOptions {
  cwd: string;
  /** Extra environment on top of process.env (e.g. GIT_AUTHOR_NAME). */
  env?: NodeJS.ProcessEnv;
  /**
   * Kills git after this long (for fetch and push: a remote that accepts a connection and never
   * answers must not hold the caller forever). No limit when unset.
   */
  timeoutMs?: number;
}

export interface GitOutput {
  stdout: string;
  stderr: string;
}

/** The environment every git call gets: no prompts, no editor, no pager, stable messages. */
function gitEnv(extra: NodeJS.ProcessEnv | undefined): NodeJS.ProcessEnv {
  return {
    ...process.env,
    ...extra,
    GIT_TERMINAL_PROMPT: "0",
    GIT_EDITOR: "true",
    GIT_PAGER: "cat",
    LC_ALL: "C",
  };
}

/** Runs git and returns its exit code and output whatever the exit code. */
export function tryGit(args: readonly string[], options: GitOptions): Promise<GitOutput & { code: number }> {
  return new Promise((resolve, reject) => {
    execFile(
      "git",
      [...args],
      {
        cwd: options.cwd,
        env: gitEnv(options.env),
        maxBuffer: 64 * 1024 * 1024,
        encoding: "utf8",
        ...(options.timeoutMs ? { timeout: options.timeoutMs, killSignal: "SIGKILL" as const } : {}),
      },
      (error, stdout, stderr) => {
        if (error?.killed && options.timeoutMs) {
          reject(
            new GitError(
              args,
              null,
              stdout ?? "",
              `timed out after ${options.timeoutMs / 1000} s (the remote is slow or does not answer)`,
            ),
          );
          return;
        }
        if (error && typeof error.code !== "number") {
          reject(
            new GitError(args, null, stdout ?? "", `could not run git in ${options.cwd}: ${error.message}`),
          );
          return;
        }
        resolve({ code: error ? Number(error.code) : 0, stdout, stderr });
      },
    );
  });
}

/** Runs git; throws GitError on a non-zero exit. */
export async function git(args: readonly string[], options: GitOptions): Promise<GitOutput> {
  const result = await tryGit(args, options);
  if (result.code !== 0) throw new GitError(args, result.code, result.stdout, result.stderr);
  return { stdout: result.stdout, stderr: result.stderr };
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
