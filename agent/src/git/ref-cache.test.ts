import { execFileSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { git, gitValue, refGeneration } from "./git.ts";
import { RefCache } from "./ref-cache.ts";

const roots: string[] = [];
afterAll(() => Promise.all(roots.map((r) => rm(r, { recursive: true, force: true }))));

async function repo(): Promise<{ cwd: string; first: string; second: string }> {
  const cwd = await mkdtemp(join(tmpdir(), "fleetwave-ref-cache-"));
  roots.push(cwd);
  const id = ["-c", "user.name=ops", "-c", "user.email=ops@acme.example", "-c", "commit.gpgsign=false"];
  await git(["init", "-q", "--initial-branch=main", cwd], { cwd });
  await git([...id, "commit", "-q", "--allow-empty", "-m", "one"], { cwd });
  const first = await gitValue(["rev-parse", "HEAD"], { cwd });
  await git([...id, "commit", "-q", "--allow-empty", "-m", "two"], { cwd });
  return { cwd, first, second: await gitValue(["rev-parse", "HEAD"], { cwd }) };
}

/** Moves a ref without this module's knowledge, as only another process could. */
const behindTheBack = (cwd: string, ...args: string[]) => execFileSync("git", args, { cwd });

describe("RefCache", () => {
  it("answers as for-each-ref does: exact refs and everything below a prefix, not a ref that only shares a prefix of its name", async () => {
    const { cwd, first, second } = await repo();
    await git(["update-ref", "refs/fleetwave/status-fetched/host-a", first], { cwd });
    await git(["update-ref", "refs/fleetwave/status-fetched/host-b", second], { cwd });
    await git(["update-ref", "refs/fleetwave/fetched", second], { cwd });
    const refs = new RefCache({ cwd });
    expect(await refs.list(["refs/fleetwave/status-fetched/"])).toEqual(
      new Map([
        ["refs/fleetwave/status-fetched/host-a", first],
        ["refs/fleetwave/status-fetched/host-b", second],
      ]),
    );
    expect(await refs.list(["refs/fleetwave/fetched", "refs/heads/main"])).toEqual(
      new Map([
        ["refs/fleetwave/fetched", second],
        ["refs/heads/main", second],
      ]),
    );
    expect(await refs.list(["refs/fleetwave/status"])).toEqual(new Map());
    expect(await refs.resolve("refs/heads/nope")).toBeUndefined();
    expect(await refs.head()).toBe(second);
  });

  it("reads once for as long as no git command that may move a ref runs, and again after one does", async () => {
    const { cwd, first, second } = await repo();
    const refs = new RefCache({ cwd });
    expect(await refs.resolve("refs/heads/main")).toBe(second);
    expect(await refs.head()).toBe(second);
    // A read through the adapter changes nothing; a ref moved behind its back is not seen: the
    // answers come from memory.
    await git(["for-each-ref"], { cwd });
    behindTheBack(cwd, "update-ref", "refs/heads/main", first);
    expect(await refs.resolve("refs/heads/main")).toBe(second);
    expect(await refs.head()).toBe(second);
    // Any other command through the adapter (here one that writes nothing) may have moved a ref.
    const before = refGeneration(cwd);
    await git(["-c", "core.quotepath=false", "update-ref", "refs/fleetwave/other", second], { cwd });
    expect(refGeneration(cwd)).toBeGreaterThan(before);
    expect(await refs.resolve("refs/heads/main")).toBe(first);
    expect(await refs.head()).toBe(first);
    expect(await refs.resolve("refs/fleetwave/other")).toBe(second);
  });
});
