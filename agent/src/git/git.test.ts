import { chmod, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  currentBranch,
  GitConflictError,
  git,
  gitValue,
  headCommit,
  PushFailedError,
  pushWithRetry,
  tryGit,
} from "./git.ts";

const ID = ["-c", "user.name=Test", "-c", "user.email=test@example.com", "-c", "commit.gpgsign=false"];

async function commitFile(cwd: string, file: string, text: string, message: string): Promise<void> {
  await writeFile(join(cwd, file), text);
  await git(["add", file], { cwd });
  await git([...ID, "commit", "-q", "-m", message], { cwd });
}

/** A bare "origin" with one commit on main, and two clones of it. */
async function setup() {
  const root = await mkdtemp(join(tmpdir(), "fleetwave-git-"));
  const bare = join(root, "origin.git");
  await git(["init", "-q", "--bare", "--initial-branch=main", bare], { cwd: root });
  const seed = join(root, "seed");
  await git(["clone", "-q", bare, seed], { cwd: root });
  await git(["checkout", "-q", "-b", "main"], { cwd: seed });
  await commitFile(seed, "README", "hello\n", "initial");
  await git(["push", "-q", "origin", "main"], { cwd: seed });
  const a = join(root, "a");
  const b = join(root, "b");
  await git(["clone", "-q", bare, a], { cwd: root });
  await git(["clone", "-q", bare, b], { cwd: root });
  const log = async () =>
    (await git(["log", "--format=%s", "main"], { cwd: bare })).stdout.trim().split("\n");
  return { root, bare, a, b, log };
}

const noSleep = async () => {};
/** Rebasing writes commits: the committer comes from the environment, never a global config. */
const env = { GIT_COMMITTER_NAME: "Test", GIT_COMMITTER_EMAIL: "test@example.com", HOME: tmpdir() };

describe("git", { timeout: 20_000 }, () => {
  it("runs git, reports failures as GitError with stderr, and reads HEAD and the branch", async () => {
    const { a, root } = await setup();
    expect(await currentBranch(a)).toBe("main");
    expect(await headCommit(a)).toMatch(/^[0-9a-f]{40}$/);
    expect(await headCommit(root)).toBeUndefined();
    await expect(git(["rev-parse", "nope"], { cwd: a })).rejects.toThrow(
      /git rev-parse nope failed \(exit 128\)/,
    );
    expect((await tryGit(["rev-parse", "nope"], { cwd: a })).code).toBe(128);
  });

  it("gitValue returns the one value git printed, and refuses an empty answer from a git that exited 0", async () => {
    const { a } = await setup();
    expect(await gitValue(["rev-parse", "HEAD"], { cwd: a })).toMatch(/^[0-9a-f]{40}$/);
    await expect(gitValue(["config", "--default", "", "fleetwave.none"], { cwd: a })).rejects.toThrow(
      /git config --default {2}fleetwave.none failed \(exit 0\): printed nothing/,
    );
  });

  it("returns all of the output, also what arrives after git exited", async () => {
    const { a } = await setup();
    // The alias's shell exits at once and leaves a child that writes to git's stdout 300 ms
    // later: what a busy event loop looks like from the outside, output read after the exit.
    await writeFile(
      join(a, ".git", "config"),
      `[alias]\n\tlate = "!sh -c '(sleep 0.3; echo late-answer) & exit 0'"\n`,
      { flag: "a" },
    );
    expect((await tryGit(["late"], { cwd: a })).stdout.trim()).toBe("late-answer");
  });

  it("leaves no timer behind that would keep a finished CLI process alive", async () => {
    const { a } = await setup();
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
    const before = timers();
    await tryGit(["rev-parse", "HEAD"], { cwd: a });
    expect(timers()).toBe(before);
  });
});

describe("pushWithRetry", { timeout: 20_000 }, () => {
  it("pushes local commits", async () => {
    const { a, log } = await setup();
    await commitFile(a, "a.txt", "a\n", "from a");
    const result = await pushWithRetry({ cwd: a, env, branch: "main", sleep: noSleep });
    expect(result.attempts).toBe(1);
    expect(await log()).toEqual(["from a", "initial"]);
    expect(result.commit).toBe(await headCommit(a));
  });

  it("rebases onto commits another writer pushed first", async () => {
    const { a, b, log } = await setup();
    await commitFile(b, "b.txt", "b\n", "from b");
    await git(["push", "-q", "origin", "main"], { cwd: b });
    await commitFile(a, "a.txt", "a\n", "from a");
    await pushWithRetry({ cwd: a, env, branch: "main", sleep: noSleep });
    expect(await log()).toEqual(["from a", "from b", "initial"]);
  });

  it("retries with jitter when the remote moves between fetch and push", async () => {
    const { a, b, log } = await setup();
    await commitFile(a, "a.txt", "a\n", "from a");
    const retries: { attempt: number; delayMs: number }[] = [];
    const sleeps: number[] = [];
    let raced = false;
    const result = await pushWithRetry({
      cwd: a,
      env,
      branch: "main",
      baseDelayMs: 100,
      random: () => 0.5,
      sleep: async (ms) => {
        sleeps.push(ms);
      },
      onRetry: ({ attempt, delayMs }) => retries.push({ attempt, delayMs }),
      // Another writer lands a commit after our fetch and rebase, right before our push.
      verify: async () => {
        if (raced) return;
        raced = true;
        await commitFile(b, "b.txt", "b\n", "from b");
        await git(["push", "-q", "origin", "main"], { cwd: b });
      },
    });
    expect(result.attempts).toBe(2);
    expect(retries).toEqual([{ attempt: 1, delayMs: 50 }]);
    expect(sleeps).toEqual([50]);
    expect(await log()).toEqual(["from a", "from b", "initial"]);
  });

  it("stops on a real conflict without retrying and leaves no rebase in progress", async () => {
    const { a, b, log } = await setup();
    await commitFile(b, "README", "b\n", "b edits README");
    await git(["push", "-q", "origin", "main"], { cwd: b });
    await commitFile(a, "README", "a\n", "a edits README");
    await expect(pushWithRetry({ cwd: a, env, branch: "main", sleep: noSleep })).rejects.toThrow(
      GitConflictError,
    );
    expect(await log()).toEqual(["b edits README", "initial"]);
    expect((await tryGit(["status"], { cwd: a })).stdout).not.toContain("rebase in progress");
    expect(await readFile(join(a, "README"), "utf8")).toBe("a\n");
  });

  it("gives up after the bounded number of attempts", async () => {
    const { a, bare, log } = await setup();
    const hook = join(bare, "hooks", "pre-receive");
    await writeFile(hook, "#!/bin/sh\necho 'main is frozen' >&2\nexit 1\n");
    await chmod(hook, 0o755);
    await commitFile(a, "a.txt", "a\n", "from a");
    const error = await pushWithRetry({ cwd: a, env, branch: "main", attempts: 3, sleep: noSleep }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(PushFailedError);
    expect((error as PushFailedError).attempts).toBe(3);
    expect((error as PushFailedError).message).toMatch(/after 3 attempts: .*main is frozen/s);
    expect(await log()).toEqual(["initial"]);
  });
});
