import { access, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { type GitError, git, pushWithRetry, tryGit } from "../git/git.ts";

export interface Identity {
  name: string;
  email: string;
}

export interface WorkspaceOptions {
  /** URL or path of the GitOps repository. */
  repo: string;
  branch: string;
  /** Where the agent keeps its own clone. */
  dir: string;
  identity: Identity;
  log: (line: string) => void;
}

/** Serialises git work: the tick loop and API calls share one clone. */
export class Mutex {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(work: () => Promise<T>): Promise<T> {
    const next = this.tail.then(work, work);
    this.tail = next.catch(() => undefined);
    return next;
  }
}

/**
 * The agent's clone of the GitOps repository (DESIGN §6). It fetches and fast-forwards, keeps
 * its own unpushed commits on top, and pushes them when the remote is reachable. The remote
 * being down never stops local work: commits queue here.
 */
export class Workspace {
  readonly lock = new Mutex();
  private readonly upstream: string;

  constructor(readonly o: WorkspaceOptions) {
    this.upstream = `refs/remotes/origin/${o.branch}`;
  }

  get stateDir(): string {
    return join(this.o.dir, "fleet-state");
  }

  private run(args: string[]) {
    return git(args, { cwd: this.o.dir });
  }

  async open(): Promise<void> {
    const exists = await access(join(this.o.dir, ".git")).then(
      () => true,
      () => false,
    );
    if (!exists) {
      await mkdir(dirname(this.o.dir), { recursive: true });
      await rm(this.o.dir, { recursive: true, force: true });
      await git(["clone", "--quiet", "--branch", this.o.branch, this.o.repo, this.o.dir], {
        cwd: dirname(this.o.dir),
      });
    } else {
      await this.run(["remote", "set-url", "origin", this.o.repo]);
    }
    await this.run(["config", "user.name", this.o.identity.name]);
    await this.run(["config", "user.email", this.o.identity.email]);
  }

  /**
   * Fetches and brings the clone up to the remote branch, replaying this agent's unpushed commits
   * on top. Its commits touch only its own status file, so when someone edited that file by hand
   * the agent's version wins. Returns the error when the remote cannot be reached.
   */
  async sync(): Promise<{ ok: true } | { ok: false; error: string }> {
    const fetched = await tryGit(
      ["fetch", "--quiet", "--no-tags", "origin", `+refs/heads/${this.o.branch}:${this.upstream}`],
      {
        cwd: this.o.dir,
      },
    );
    if (fetched.code !== 0)
      return { ok: false, error: `cannot fetch ${this.o.repo}: ${fetched.stderr.trim()}` };
    const ahead = await this.unpushed();
    if (ahead === 0) {
      await this.run(["reset", "--quiet", "--hard", this.upstream]);
    } else {
      const rebased = await tryGit(["rebase", "--quiet", "-X", "theirs", this.upstream], { cwd: this.o.dir });
      if (rebased.code !== 0) {
        await tryGit(["rebase", "--abort"], { cwd: this.o.dir });
        return {
          ok: false,
          error: `cannot replay local commits on ${this.o.branch}: ${rebased.stderr.trim()}`,
        };
      }
    }
    return { ok: true };
  }

  async unpushed(): Promise<number> {
    const count = await tryGit(["rev-list", "--count", `${this.upstream}..HEAD`], { cwd: this.o.dir });
    return count.code === 0 ? Number(count.stdout.trim()) : 0;
  }

  async head(): Promise<string> {
    return (await this.run(["rev-parse", "HEAD"])).stdout.trim();
  }

  /** The newest commit that changed desired state (anything in fleet-state/ but status files). */
  async desiredStateCommit(): Promise<string> {
    const out = await this.run([
      "log",
      "-1",
      "--format=%H",
      "--",
      "fleet-state",
      ":(exclude)fleet-state/status",
    ]);
    return out.stdout.trim() || (await this.head());
  }

  async read(path: string): Promise<string> {
    return readFile(join(this.o.dir, path), "utf8");
  }

  /** Writes `files` and commits them; false when nothing changed. */
  async commit(files: Record<string, string>, message: string, author?: string): Promise<boolean> {
    for (const [path, text] of Object.entries(files)) {
      await mkdir(dirname(join(this.o.dir, path)), { recursive: true });
      await writeFile(join(this.o.dir, path), text);
    }
    const paths = Object.keys(files);
    await this.run(["add", "--", ...paths]);
    const staged = await tryGit(["diff", "--cached", "--quiet", "--", ...paths], { cwd: this.o.dir });
    if (staged.code === 0) return false;
    const authorArgs = author ? [`--author=${author} <${this.o.identity.email}>`] : [];
    const messageFile = join(this.o.dir, ".git", "FLEETWAVE_COMMIT_MSG");
    await writeFile(messageFile, message);
    await this.run([
      "commit",
      "--quiet",
      "--no-verify",
      "--cleanup=verbatim",
      ...authorArgs,
      "-F",
      messageFile,
      "--",
      ...paths,
    ]);
    return true;
  }

  /**
   * Pushes queued commits. A rejected push is retried on a fresh fetch; `reapply` redoes an API
   * edit on the new HEAD when its commit no longer applies. Unreachable remote: returns the error
   * and the commits stay queued.
   */
  async push(
    reapply?: () => Promise<void>,
  ): Promise<{ ok: true; commit: string } | { ok: false; error: string }> {
    if ((await this.unpushed()) === 0 && !reapply) return { ok: true, commit: await this.head() };
    try {
      const result = await pushWithRetry({
        cwd: this.o.dir,
        branch: this.o.branch,
        attempts: 6,
        baseDelayMs: 200,
        integrate: async ({ cwd, upstream }) => {
          // "-X theirs" lets this host's status file win over hand edits. An API edit of shared
          // desired state (a rollout's control, fleet.yaml) must never win that way: when it does
          // not apply cleanly it is redone on the fresh HEAD, where the edit itself decides (an
          // aborted rollout stays aborted).
          const strategy = reapply ? [] : ["-X", "theirs"];
          const rebased = await tryGit(["rebase", "--quiet", ...strategy, upstream], { cwd });
          if (rebased.code === 0) return;
          await tryGit(["rebase", "--abort"], { cwd });
          if (!reapply)
            throw new Error(`local commits do not apply on ${upstream}: ${rebased.stderr.trim()}`);
          await git(["reset", "--quiet", "--hard", "HEAD~1"], { cwd });
          await git(["rebase", "--quiet", "-X", "theirs", upstream], { cwd });
          await reapply();
        },
        onRetry: ({ attempt, delayMs }) =>
          this.o.log(`push rejected (attempt ${attempt}); retrying in ${delayMs} ms`),
      });
      return { ok: true, commit: result.commit };
    } catch (error) {
      return { ok: false, error: (error as GitError).message };
    }
  }
}
