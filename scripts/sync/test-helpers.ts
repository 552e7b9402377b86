/**
 * Helpers for tests that build real git repositories in temp dirs (no global git config used).
 * Not imported by production code.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Git, type GitIdentity } from "./git.ts";

export const UPSTREAM_DEV: GitIdentity = { name: "Ada Upstream", email: "ada@upstream.example" };
export const FORK_DEV: GitIdentity = { name: "Fred Fork", email: "fred@fork.example" };

export async function makeTempDir(
  prefix = "fleetwave-sync-",
): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

let clock = Date.parse("2026-01-01T00:00:00Z") / 1000;

/** A working repository with deterministic, strictly increasing commit dates. */
export class TestRepo {
  readonly git: Git;
  constructor(
    readonly dir: string,
    private identity: GitIdentity = UPSTREAM_DEV,
  ) {
    this.git = new Git(dir, { identity });
  }

  static async init(dir: string, identity: GitIdentity = UPSTREAM_DEV): Promise<TestRepo> {
    await mkdir(dir, { recursive: true });
    const repo = new TestRepo(dir, identity);
    await repo.git.run(["init", "--quiet", "-b", "main"]);
    return repo;
  }

  static async clone(url: string, dir: string, identity: GitIdentity = FORK_DEV): Promise<TestRepo> {
    await new Git(dirname(dir)).run(["clone", "--quiet", url, dir]);
    return new TestRepo(dir, identity);
  }

  as(identity: GitIdentity): TestRepo {
    return new TestRepo(this.dir, identity);
  }

  private timed(): Git {
    clock += 60;
    const date = `@${clock} +0000`;
    return new Git(this.dir, {
      identity: this.identity,
      env: { GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date },
    });
  }

  async write(files: Record<string, string | null>): Promise<void> {
    const paths = Object.keys(files);
    if (paths.length === 0) return;
    for (const [path, content] of Object.entries(files)) {
      const full = join(this.dir, path);
      if (content === null) {
        await rm(full, { force: true });
        continue;
      }
      await mkdir(dirname(full), { recursive: true });
      await writeFile(full, content);
    }
    await this.git.run(["add", "--all", "--", ...paths]);
  }

  /** Writes `files` (null deletes) and commits them with `message`; returns the new sha. */
  async commit(message: string, files: Record<string, string | null> = {}): Promise<string> {
    await this.write(files);
    await this.timed().run(["commit", "--quiet", "--allow-empty", "-m", message]);
    return this.head();
  }

  async merge(branch: string, message: string): Promise<string> {
    await this.timed().run(["merge", "--quiet", "--no-ff", "-m", message, branch]);
    return this.head();
  }

  async revert(sha: string): Promise<string> {
    await this.timed().run(["revert", "--no-edit", sha]);
    return this.head();
  }

  async head(ref = "HEAD"): Promise<string> {
    return (await this.git.run(["rev-parse", ref])).trim();
  }

  async show(ref: string, path: string): Promise<string> {
    return this.git.run(["show", `${ref}:${path}`]);
  }
}

/** `sha` of a ref in any repository (bare or not), or null. */
export async function refSha(dir: string, ref: string): Promise<string | null> {
  return new Git(dir).resolve(ref);
}
