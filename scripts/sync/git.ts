import { execFile } from "node:child_process";
import { FleetwaveError } from "../../agent/src/errors.ts";

/** A git command exited non-zero where the caller needed it to succeed. */
export class GitError extends FleetwaveError {
  override name = "GitError";
  constructor(
    readonly args: readonly string[],
    readonly code: number,
    readonly stderr: string,
  ) {
    super(`git ${args.join(" ")} failed (exit ${code}): ${stderr.trim() || "no output"}`);
  }
}

export interface GitIdentity {
  name: string;
  email: string;
}

export const DEFAULT_IDENTITY: GitIdentity = {
  name: "Fleetwave Sync",
  email: "fleetwave-sync@users.noreply.github.com",
};

export interface GitResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface GitOptions {
  /** Committer and author of every commit this runner makes (passed with `-c`, never global config). */
  identity?: GitIdentity;
  /** Extra environment for every call. */
  env?: NodeJS.ProcessEnv;
}

/**
 * The one way Fleetwave talks to git: `execFile("git", ...)` in a fixed directory, with an
 * explicit identity and no prompts, editors or pagers. Output is returned verbatim.
 */
export class Git {
  readonly cwd: string;
  private readonly identity: GitIdentity;
  private readonly env: NodeJS.ProcessEnv;

  constructor(cwd: string, options: GitOptions = {}) {
    this.cwd = cwd;
    this.identity = options.identity ?? DEFAULT_IDENTITY;
    this.env = {
      ...process.env,
      ...options.env,
      GIT_TERMINAL_PROMPT: "0",
      GIT_EDITOR: "true",
      GIT_PAGER: "cat",
      LC_ALL: "C",
    };
  }

  /** Runs git and returns its result whatever the exit code. */
  tryRun(args: readonly string[]): Promise<GitResult> {
    const full = [
      "-c",
      `user.name=${this.identity.name}`,
      "-c",
      `user.email=${this.identity.email}`,
      "-c",
      "commit.gpgsign=false",
      "-c",
      "tag.gpgsign=false",
      "-c",
      "rerere.enabled=false",
      "-c",
      "core.quotepath=false",
      ...args,
    ];
    return new Promise((resolve, reject) => {
      execFile(
        "git",
        full,
        { cwd: this.cwd, env: this.env, maxBuffer: 256 * 1024 * 1024, encoding: "utf8" },
        (error, stdout, stderr) => {
          if (error && typeof error.code !== "number") {
            reject(new FleetwaveError(`could not run git in ${this.cwd}: ${error.message}`));
            return;
          }
          resolve({ code: error ? Number(error.code) : 0, stdout, stderr });
        },
      );
    });
  }

  /** Runs git and returns stdout; throws GitError on a non-zero exit. */
  async run(args: readonly string[]): Promise<string> {
    const result = await this.tryRun(args);
    if (result.code !== 0) throw new GitError(args, result.code, result.stderr || result.stdout);
    return result.stdout;
  }

  /** Resolves a revision to a full sha, or null when it does not exist. */
  async resolve(rev: string): Promise<string | null> {
    const result = await this.tryRun(["rev-parse", "--verify", "--quiet", `${rev}^{commit}`]);
    return result.code === 0 ? result.stdout.trim() : null;
  }

  /** True when `ancestor` is reachable from `descendant`. */
  async isAncestor(ancestor: string, descendant: string): Promise<boolean> {
    const result = await this.tryRun(["merge-base", "--is-ancestor", ancestor, descendant]);
    if (result.code === 0) return true;
    if (result.code === 1) return false;
    throw new GitError(["merge-base", "--is-ancestor", ancestor, descendant], result.code, result.stderr);
  }

  /** NUL-separated output split into its entries. */
  async lines0(args: readonly string[]): Promise<string[]> {
    const out = await this.run(args);
    return out.split("\0").filter((entry) => entry.length > 0);
  }
}
