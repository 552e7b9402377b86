import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { git } from "./git.ts";
import { commitStatusSnapshot, replayStatusCommits, statusFilePath } from "./status-refs.ts";

const author = { name: "agent", email: "fleetwave-agent@host-a.invalid" };
const roots: string[] = [];
afterAll(() => Promise.all(roots.map((r) => rm(r, { recursive: true, force: true }))));

async function repo(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), "fleetwave-status-refs-"));
  roots.push(root);
  await git(["init", "-q", root], { cwd: root });
  await git(["config", "user.name", "ops"], { cwd: root });
  await git(["config", "user.email", "ops@acme.example"], { cwd: root });
  return root;
}

const fileAt = async (cwd: string, sha: string, host: string) =>
  (await git(["show", `${sha}:${statusFilePath(host)}`], { cwd })).stdout;

describe("status snapshot commits", () => {
  it("survive a lock a killed git left in the git dir, and commits made at the same moment never share an index", async () => {
    const cwd = await repo();
    // What an agent killed during a status commit left behind when the private index had a fixed
    // path in the git dir: every later commit failed on "Unable to create ....lock: File exists".
    await writeFile(join(cwd, ".git", "FLEETWAVE_STATUS_INDEX.lock"), "");
    const hosts = Array.from({ length: 8 }, (_, i) => `host-${i}`);
    const shas = await Promise.all(
      hosts.map((host) =>
        commitStatusSnapshot({ cwd }, { host, text: `host: ${host}\n`, message: `status ${host}`, author }),
      ),
    );
    for (const [i, host] of hosts.entries())
      expect(await fileAt(cwd, shas[i]!, host)).toBe(`host: ${host}\n`);
  });

  it("replays a branch's snapshots onto another tip with their messages and authors", async () => {
    const cwd = await repo();
    const first = await commitStatusSnapshot(
      { cwd },
      { host: "host-a", text: "v: 1\n", message: "one", author: { ...author, date: "2026-12-07T10:00:00Z" } },
    );
    const second = await commitStatusSnapshot(
      { cwd },
      { host: "host-a", text: "v: 2\n", message: "two", parent: first, author },
    );
    const onto = await commitStatusSnapshot(
      { cwd },
      { host: "host-a", text: "v: 0\n", message: "base", author },
    );
    const tip = await replayStatusCommits({ cwd }, [first, second], onto);
    const log = (await git(["log", "--format=%s|%ae|%aI", `${onto}..${tip}`], { cwd })).stdout
      .trim()
      .split("\n");
    expect(log).toEqual([
      expect.stringMatching(/^two\|fleetwave-agent@host-a\.invalid\|/),
      "one|fleetwave-agent@host-a.invalid|2026-12-07T10:00:00+00:00",
    ]);
    expect(await fileAt(cwd, tip!, "host-a")).toBe("v: 2\n");
  });
});
