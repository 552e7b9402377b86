import { access, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { FleetwaveError } from "../errors.ts";
import { type GitError, type GitIdentity, type GitOptions, git, pushWithRetry, tryGit } from "../git/git.ts";
import { clearInterruptedGit } from "../git/interrupted.ts";
import { RefCache } from "../git/ref-cache.ts";
import { remoteUrl } from "../git/remote-url.ts";
import { planReplay, replayOnto } from "../git/replay.ts";
import { type StatusAtRef, statusFilePath, statusRefspec } from "../git/status-refs.ts";
import { signingConfig } from "../git/verify.ts";
import { FETCHED_STATUS, StatusRef } from "./status-ref.ts";

export type Identity = GitIdentity;

export interface WorkspaceOptions {
  /** URL or path of the GitOps repository. */
  repo: string;
  branch: string;
  /** Where the agent keeps its own clone. */
  dir: string;
  identity: Identity;
  /** The host this agent writes for: its commits carry `Fleetwave-Host: <host>`. */
  host: string;
  log: (line: string) => void;
  /** Limit of each clone, fetch and push; a remote that never answers must not stop local work. */
  networkTimeoutMs?: number;
  /** An SSH private key every commit of the clone is signed with (git's gpg.format=ssh). */
  signingKey?: string;
}

/** Another live agent holds this host: the workspace neither integrates, commits nor pushes. */
export class HostHeldError extends FleetwaveError {
  override name = "HostHeldError";
}

/**
 * Where fetches land (with an empty --refmap, so git does not also move the remote-tracking ref):
 * that ref moves only once local work sits on top of the fetched commit.
 */
const FETCHED = "refs/fleetwave/fetched";

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
 * The agent's clone of the GitOps repository. It fetches and follows the remote branch, keeps
 * its own unpushed commits on top, and pushes them when the remote is reachable. The remote
 * being down or slow never stops local work: commits queue here.
 *
 * `refs/remotes/origin/<branch>` is the base of local work: the remote as this clone last
 * integrated it. Only commits this agent wrote (its author email and `Fleetwave-Host` trailer)
 * are replayed on a fresh fetch; when the remote was rewritten the clone follows it, and anything
 * else is dropped and logged, so a commit an operator force-pushed away never comes back.
 */
export class Workspace {
  readonly lock = new Mutex();
  /**
   * Checked on every fetched status file of this host, before anything is integrated or pushed:
   * returns why this agent must stand back (another live agent holds the host), or undefined.
   */
  guard?: (statusText: string | undefined) => Promise<string | undefined>;
  private held?: string;
  private readonly upstream: string;
  private readonly localBranch: string;
  /** Whether the clone is partial (read once: only a new clone changes it). */
  private promisor?: boolean;
  /**
   * The fetched commit the clone was last made exactly equal to (HEAD, working tree and
   * `upstream`); cleared by anything that writes the working tree. While the fetch brings the
   * same commit and the branch has no local commits, there is nothing to integrate.
   */
  private integrated?: string;
  /** This host's status branch; status and audit commits go there, never on `branch`. */
  readonly status: StatusRef;
  /** Pushes of the status branch and of `branch`, and how many a remote rejected (for the bench). */
  readonly pushes = { ok: 0, rejected: 0 };
  /** The clone's refs and HEAD, read once for all the questions a tick asks of them. */
  private readonly refs: RefCache;

  constructor(readonly o: WorkspaceOptions) {
    this.upstream = `refs/remotes/origin/${o.branch}`;
    this.localBranch = `refs/heads/${o.branch}`;
    this.refs = new RefCache(this.gitOptions);
    this.status = new StatusRef({
      host: o.host,
      git: this.gitOptions,
      network: this.network,
      refs: this.refs,
      log: o.log,
    });
  }

  get stateDir(): string {
    return join(this.o.dir, "fleet-state");
  }

  /** Why this agent stands back, as of the last fetch; undefined when it may act. */
  get heldBy(): string | undefined {
    return this.held;
  }

  private get gitOptions(): GitOptions {
    return { cwd: this.o.dir };
  }

  private get network(): GitOptions {
    return { cwd: this.o.dir, ...(this.o.networkTimeoutMs ? { timeoutMs: this.o.networkTimeoutMs } : {}) };
  }

  private run(args: string[]) {
    return git(args, this.gitOptions);
  }

  /** Clones the repository, or opens the clone a previous run left; only its sole owner may call it. */
  async open(): Promise<void> {
    const exists = await access(join(this.o.dir, ".git")).then(
      () => true,
      () => false,
    );
    if (!exists) {
      await mkdir(dirname(this.o.dir), { recursive: true });
      await rm(this.o.dir, { recursive: true, force: true });
      // The repository is also the app's fork: the agent needs fleet-state/ only. A partial clone
      // fetches blobs on demand and the sparse checkout asks for those of fleet-state/ alone.
      await git(
        [
          "clone",
          "--quiet",
          "--filter=blob:none",
          "--no-checkout",
          "--branch",
          this.o.branch,
          remoteUrl(this.o.repo),
          this.o.dir,
        ],
        { ...this.network, cwd: dirname(this.o.dir) },
      );
      await this.run(["sparse-checkout", "set", "fleet-state"]);
      await git(["checkout", "--quiet", this.o.branch], this.network);
    } else {
      // The agent owns this clone (it holds the data dir): whatever a git it ran left behind when
      // it was killed is stale, and would fail every later commit or replay.
      const cleared = await clearInterruptedGit(this.gitOptions);
      if (cleared.length > 0)
        this.o.log(`cleared what an interrupted git left in the clone: ${cleared.join(", ")}`);
      await this.run(["remote", "set-url", "origin", remoteUrl(this.o.repo)]);
    }
    await this.run(["config", "user.name", this.o.identity.name]);
    await this.run(["config", "user.email", this.o.identity.email]);
    // Replayed commits are signed again too: the rebase that replays them honours commit.gpgsign.
    if (this.o.signingKey)
      for (const [key, value] of signingConfig(this.o.signingKey)) await this.run(["config", key, value]);
    else await this.run(["config", "--unset-all", "commit.gpgsign"]).catch(() => undefined);
  }

  /**
   * Fetches and brings the clone up to the remote branch, replaying this agent's unpushed commits
   * on top. Its commits touch only its own status file, so when someone edited that file by hand
   * the agent's version wins. Returns the error when the remote cannot be reached, and `held`
   * when another live agent holds this host (then the clone is left as it was).
   */
  async sync(): Promise<{ ok: true } | { ok: false; error: string; held?: true }> {
    let fetched: string;
    try {
      fetched = await this.fetch();
    } catch (error) {
      return { ok: false, error: `cannot fetch ${this.o.repo}: ${(error as GitError).message}` };
    }
    const held = await this.check(fetched);
    if (held) return { ok: false, error: held, held: true };
    const integrated = await this.integrate(fetched, true);
    if (!integrated.ok)
      return { ok: false, error: `cannot replay local commits on ${this.o.branch}: ${integrated.error}` };
    await this.status.integrate();
    return { ok: true };
  }

  /** One fetch of the branch and of every host's status ref. */
  private async fetch(): Promise<string> {
    // In a partial clone, status files (at most 4 MiB each) come with the fetch instead of one
    // round trip per file when they are read.
    this.promisor ??=
      (await tryGit(["config", "--get", "remote.origin.promisor"], this.gitOptions)).stdout.trim() === "true";
    const filter = this.promisor ? ["--filter=blob:limit=4m"] : [];
    await git(
      [
        "fetch",
        "--quiet",
        // One ref transaction: the clone moves to what the remote held at one moment or not at
        // all, so the barrier never reads half of a fetch; and it is one write of the refs
        // instead of one per host (at 500 status refs, 25 ms instead of 250 ms).
        "--atomic",
        "--no-tags",
        "--prune",
        ...filter,
        "--refmap=",
        "origin",
        `+refs/heads/${this.o.branch}:${FETCHED}`,
        statusRefspec(FETCHED_STATUS),
      ],
      this.network,
    );
    const fetched = (await this.refs.resolve(FETCHED)) ?? "";
    // Seen under heavy load (dozens of clients on two cores): an empty answer must fail this
    // sync, not reach the replay as a revision.
    if (!/^[0-9a-f]{40,64}$/.test(fetched))
      throw new Error(
        `git for-each-ref ${FETCHED} gave no commit (${JSON.stringify(fetched)}); retrying next tick`,
      );
    return fetched;
  }

  /**
   * This host's status as the remote has it: its status ref, or (before this host's agent moved
   * to the ref) its file on the branch.
   */
  private async remoteStatusText(fetched: string): Promise<string | undefined> {
    const atRef = await this.status.fetchedText();
    if (atRef !== undefined) return atRef;
    const shown = await tryGit(["show", `${fetched}:${statusFilePath(this.o.host)}`], this.gitOptions);
    return shown.code === 0 ? shown.stdout : undefined;
  }

  /** Runs the guard on the host's status as fetched; remembers the answer for commit(). */
  private async check(fetched: string): Promise<string | undefined> {
    if (!this.guard) return undefined;
    this.held = await this.guard(await this.remoteStatusText(fetched));
    return this.held;
  }

  /** Every host's status from the status refs (this host's from its local branch). */
  statusRefs(): Promise<Map<string, StatusAtRef>> {
    return this.status.readAll();
  }

  /** Makes HEAD `fetched` plus this agent's own local commits; see the class comment. */
  private async integrate(
    fetched: string,
    theirs: boolean,
  ): Promise<{ ok: true } | { ok: false; error: string }> {
    const tips = await this.refs.list([this.upstream, this.localBranch]);
    // The usual tick fetched what the clone already is: no replay, no reset of the working tree.
    if (
      this.integrated === fetched &&
      tips.get(this.upstream) === fetched &&
      tips.get(this.localBranch) === fetched
    )
      return { ok: true };
    this.integrated = undefined;
    const base = tips.get(this.upstream) ?? fetched;
    const plan = await planReplay(this.gitOptions, base, fetched, {
      email: this.o.identity.email,
      host: this.o.host,
    });
    if (plan.rewritten)
      this.o.log(
        `origin/${this.o.branch} was rewritten (force-push): following it; ${plan.removedFromRemote} commit(s) it no longer has are dropped here too`,
      );
    for (const c of plan.foreign)
      this.o.log(
        `dropping local commit ${c.sha.slice(0, 12)} "${c.subject}" (author ${c.authorEmail || "unknown"}): this agent did not write it, so it is never pushed`,
      );
    const replayed = await replayOnto(
      this.gitOptions,
      fetched,
      plan.own.map((c) => c.sha),
      theirs,
    );
    if (!replayed.ok) return replayed;
    await this.run(["update-ref", this.upstream, fetched]);
    if (plan.own.length === 0) this.integrated = fetched;
    return { ok: true };
  }

  /** Commits not yet on the remote: on the branch and on this host's status ref. */
  async unpushed(): Promise<number> {
    return (await this.unpushedOnBranch()) + (await this.status.unpushed());
  }

  private async unpushedOnBranch(): Promise<number> {
    const tips = await this.refs.list([this.upstream, this.localBranch]);
    if (tips.get(this.upstream) === tips.get(this.localBranch)) return 0;
    const count = await tryGit(["rev-list", "--count", `${this.upstream}..HEAD`], this.gitOptions);
    return count.code === 0 ? Number(count.stdout.trim()) : 0;
  }

  /** The fetched remote branch as last integrated: what others pushed, without local commits. */
  async remoteTip(): Promise<string> {
    return (await this.run(["rev-parse", "--verify", `${this.upstream}^{commit}`])).stdout.trim();
  }

  async head(): Promise<string> {
    return this.refs.head();
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

  /**
   * Commits `text` as this host's status on its status ref (not on the branch), authored by
   * `author` when an API call made it. Refused while another agent holds the host.
   */
  async commitStatus(text: string, message: string, author?: string): Promise<void> {
    if (this.held) throw new HostHeldError(this.held);
    await this.status.commit(text, message, {
      name: author ?? this.o.identity.name,
      email: this.o.identity.email,
    });
  }

  /**
   * Writes `files` and commits them on the branch (desired-state edits); false when nothing changed. `message` must carry this
   * host's `Fleetwave-Host` trailer (formatAuditCommit writes it), or the commit is not the
   * agent's own and is never pushed. Refused while another agent holds the host.
   */
  async commit(files: Record<string, string>, message: string, author?: string): Promise<boolean> {
    if (this.held) throw new HostHeldError(this.held);
    this.integrated = undefined;
    for (const [path, text] of Object.entries(files)) {
      await mkdir(dirname(join(this.o.dir, path)), { recursive: true });
      await writeFile(join(this.o.dir, path), text);
    }
    const paths = Object.keys(files);
    await this.run(["add", "--", ...paths]);
    const staged = await tryGit(["diff", "--cached", "--quiet", "--", ...paths], this.gitOptions);
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
   * and the commits stay queued. Another live agent holding the host: nothing is pushed.
   */
  async push(
    reapply?: () => Promise<void>,
  ): Promise<{ ok: true; commit: string } | { ok: false; error: string; held?: true }> {
    const status = await this.status.push(async () =>
      this.check((await this.refs.resolve(FETCHED)) ?? (await this.head())),
    );
    if (status.ok) {
      this.pushes.ok += status.pushes;
      this.pushes.rejected += status.rejected;
    }
    if (!status.ok) return status;
    if ((await this.unpushedOnBranch()) === 0 && !reapply) return { ok: true, commit: await this.head() };
    try {
      const result = await pushWithRetry({
        cwd: this.o.dir,
        branch: this.o.branch,
        attempts: 6,
        baseDelayMs: 200,
        fetchRef: FETCHED,
        ...(this.o.networkTimeoutMs ? { networkTimeoutMs: this.o.networkTimeoutMs } : {}),
        integrate: async ({ upstream }) => {
          const fetched = (await this.run(["rev-parse", "--verify", `${upstream}^{commit}`])).stdout.trim();
          const held = await this.check(fetched);
          if (held) throw new HostHeldError(held);
          // "-X theirs" lets this host's status file win over hand edits. An API edit of shared
          // desired state (a rollout's control, fleet.yaml) must never win that way: when it does
          // not apply cleanly it is redone on the fresh HEAD, where the edit itself decides (an
          // aborted rollout stays aborted).
          const replayed = await this.integrate(fetched, !reapply);
          if (replayed.ok) return;
          if (!reapply) throw new Error(`local commits do not apply on ${upstream}: ${replayed.error}`);
          await this.run(["reset", "--quiet", "--hard", "HEAD~1"]);
          const rest = await this.integrate(fetched, true);
          if (!rest.ok) throw new Error(`local commits do not apply on ${upstream}: ${rest.error}`);
          await reapply();
        },
        onRetry: ({ attempt, delayMs }) => {
          this.pushes.rejected += 1;
          this.o.log(`push rejected (attempt ${attempt}); retrying in ${delayMs} ms`);
        },
      });
      this.pushes.ok += 1;
      return { ok: true, commit: result.commit };
    } catch (error) {
      if (error instanceof HostHeldError) return { ok: false, error: error.message, held: true };
      return { ok: false, error: (error as Error).message };
    }
  }
}
