import type { GitOptions } from "../git/git.ts";
import { git, tryGit } from "../git/git.ts";
import type { RefCache } from "../git/ref-cache.ts";
import {
  commitStatusSnapshot,
  readStatusRefs,
  replayStatusCommits,
  STATUS_BRANCH_PREFIX,
  type StatusAtRef,
  type StatusAuthor,
  StatusTextCache,
  statusBranch,
  unpushedOf,
} from "../git/status-refs.ts";

/** Where one fetch puts every host's status branch in the agent's clone. */
export const FETCHED_STATUS = "refs/fleetwave/status-fetched/";

/**
 * This host's status branch in the agent's clone (docs/contracts.md, "Status refs"): the local
 * branch holds its commits, `refs/remotes/origin/…` the remote as last integrated, and
 * `FETCHED_STATUS<host>` the remote as last fetched. Only this agent writes the branch, so a push
 * is rejected only when the remote was rewritten or another agent wrote it; then its unpushed
 * commits are re-created on the fetched tip (a status commit is a full snapshot, so that never
 * conflicts) and commits the remote dropped stay dropped.
 */
export class StatusRef {
  readonly local: string;
  readonly base: string;
  readonly fetched: string;
  private readonly texts = new StatusTextCache();

  constructor(
    private readonly o: {
      host: string;
      git: GitOptions;
      network: GitOptions;
      refs: RefCache;
      log: (line: string) => void;
    },
  ) {
    this.local = `refs/heads/${statusBranch(o.host)}`;
    this.base = `refs/remotes/origin/${statusBranch(o.host)}`;
    this.fetched = `${FETCHED_STATUS}${o.host}`;
  }

  /** Every host's status as fetched, with this host's from its local branch (it is ahead). */
  readAll(): Promise<Map<string, StatusAtRef>> {
    return readStatusRefs(
      this.o.git,
      [FETCHED_STATUS, `refs/heads/${STATUS_BRANCH_PREFIX}`],
      this.texts,
      this.o.refs,
    );
  }

  /** This host's status as the last fetch found it on the remote. */
  async fetchedText(): Promise<string | undefined> {
    return (await readStatusRefs(this.o.git, [this.fetched], this.texts, this.o.refs)).get(this.o.host)?.text;
  }

  /** The fetched, local and base tips of this host's branch, from one `for-each-ref`. */
  private async tips(): Promise<{ fetched?: string; local?: string; base?: string }> {
    const refs = await this.o.refs.list([this.fetched, this.local, this.base]);
    const tip = (ref: string) => refs.get(ref);
    return { fetched: tip(this.fetched), local: tip(this.local), base: tip(this.base) };
  }

  /** Commits `text` as the host's status on top of the local branch. */
  async commit(text: string, message: string, author: StatusAuthor): Promise<void> {
    const parent = await this.o.refs.resolve(this.local);
    const sha = await commitStatusSnapshot(this.o.git, {
      host: this.o.host,
      text,
      message,
      author,
      ...(parent ? { parent } : {}),
    });
    await git(["update-ref", this.local, sha, parent ?? ""], this.o.git);
  }

  /** Brings the local branch onto the fetched one, keeping this agent's unpushed commits on top. */
  async integrate(): Promise<void> {
    const { fetched, local, base } = await this.tips();
    // Not on the remote (yet): the next push creates it.
    if (!fetched) return;
    if (!local) {
      await git(["update-ref", this.local, fetched], this.o.git);
      await git(["update-ref", this.base, fetched], this.o.git);
      return;
    }
    if (await this.isAncestor(fetched, local)) {
      // The usual tick: the remote has what it had, and this clone knows it.
      if (base !== fetched) await git(["update-ref", this.base, fetched], this.o.git);
      return;
    }
    if (base && !(await this.isAncestor(base, fetched)))
      this.o.log(
        `origin/${statusBranch(this.o.host)} was rewritten (force-push): following it; only this agent's unpushed status commits are replayed`,
      );
    const own = await unpushedOf(this.o.git, local, [base, fetched]);
    const tip = (await replayStatusCommits(this.o.git, own, fetched)) ?? fetched;
    await git(["update-ref", this.local, tip], this.o.git);
    await git(["update-ref", this.base, fetched], this.o.git);
  }

  async unpushed(): Promise<number> {
    const { local, base } = await this.tips();
    if (!local) return 0;
    return (await unpushedOf(this.o.git, local, [base])).length;
  }

  /**
   * Pushes the local branch (never forced). A rejection fetches this one ref, asks `guard`
   * whether another agent holds the host (then stops), integrates and tries again.
   */
  async push(
    guard: () => Promise<string | undefined>,
  ): Promise<{ ok: true; pushes: number; rejected: number } | { ok: false; error: string; held?: true }> {
    let rejected = 0;
    for (let attempt = 1; attempt <= 4; attempt += 1) {
      const { local, base } = await this.tips();
      if (!local || (await unpushedOf(this.o.git, local, [base])).length === 0)
        return { ok: true, pushes: 0, rejected };
      const spec = `${local}:refs/heads/${statusBranch(this.o.host)}`;
      const push = await tryGit(["push", "--porcelain", "origin", spec], this.o.network).catch(
        (error: Error) => ({ code: -1, stdout: "", stderr: error.message }),
      );
      if (push.code === 0) {
        await git(["update-ref", this.base, local], this.o.git);
        return { ok: true, pushes: 1, rejected };
      }
      if (!/\[rejected\]|non-fast-forward|fetch first/.test(push.stdout + push.stderr))
        return {
          ok: false,
          error: `cannot push ${statusBranch(this.o.host)}: ${(push.stderr || push.stdout).trim()}`,
        };
      rejected += 1;
      try {
        await git(
          [
            "fetch",
            "--quiet",
            "--no-tags",
            "--refmap=",
            "origin",
            `+refs/heads/${statusBranch(this.o.host)}:${this.fetched}`,
          ],
          this.o.network,
        );
      } catch (error) {
        return { ok: false, error: (error as Error).message };
      }
      const held = await guard();
      if (held) return { ok: false, error: held, held: true };
      await this.integrate();
    }
    return { ok: false, error: `${statusBranch(this.o.host)} was rejected ${rejected} times` };
  }

  private async isAncestor(ancestor: string, descendant: string): Promise<boolean> {
    if (ancestor === descendant) return true;
    return (await tryGit(["merge-base", "--is-ancestor", ancestor, descendant], this.o.git)).code === 0;
  }
}
