/**
 * The checker must catch each broken promise it claims to: a checker that cannot fail would make the
 * whole fault suite pass for nothing. Real files and a real git repository; no engine needed.
 */
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import type { HostStatus } from "#fleetwave/model/status.ts";
import type { TreeManifest } from "#test/support/tree-manifest.ts";
import { checkCommits, checkDataDir, checkRollout, checkStatus, diffManifests } from "./invariants.ts";

const run = promisify(execFile);
const OLD = `sha256:${"a".repeat(64)}`;
const NEW = `sha256:${"b".repeat(64)}`;

const manifest = (): TreeManifest => ({
  root: { mode: 0o750, uid: 0, gid: 0 },
  entries: [
    {
      path: "a",
      type: "file",
      mode: 0o644,
      uid: 0,
      gid: 0,
      size: 100,
      sha256: "x",
      target: null,
      hardlinkGroup: null,
    },
    {
      path: "d",
      type: "dir",
      mode: 0o755,
      uid: 0,
      gid: 0,
      size: 0,
      sha256: null,
      target: null,
      hardlinkGroup: null,
    },
    {
      path: "l",
      type: "symlink",
      mode: 0o777,
      uid: 0,
      gid: 0,
      size: 0,
      sha256: null,
      target: "a",
      hardlinkGroup: null,
    },
  ],
});

function collect(check: (fail: (line: string) => void) => void): string[] {
  const lines: string[] = [];
  check((line) => lines.push(line));
  return lines;
}

describe("diffManifests", () => {
  it("finds nothing between equal trees", () => {
    expect(diffManifests(manifest(), manifest())).toEqual({ lines: [], bytesLost: 0 });
  });

  it("counts lost bytes for missing and rewritten files, and names every difference", () => {
    const actual = manifest();
    actual.root.mode = 0o777;
    actual.entries[0] = { ...actual.entries[0]!, sha256: "y" };
    actual.entries[2] = { ...actual.entries[2]!, target: "elsewhere" };
    actual.entries.push({ ...actual.entries[1]!, path: "junk" });
    const diff = diffManifests(manifest(), actual);
    expect(diff.bytesLost).toBe(100);
    expect(diff.lines).toEqual([
      expect.stringMatching(/^root /),
      'changed "a" (sha256)',
      'changed "l" (target)',
      'extra "junk"',
    ]);
    const gone = manifest();
    gone.entries.shift();
    expect(diffManifests(manifest(), gone)).toEqual({ lines: ['missing "a"'], bytesLost: 100 });
  });
});

const status = (bots: HostStatus["bots"], rollouts: HostStatus["rollouts"] = {}): HostStatus => ({
  host: "host-a",
  observedCommit: "c",
  updatedAt: "2026-12-03T00:00:00Z",
  bots,
  rollouts,
  quarantine: [],
});

describe("checkStatus", () => {
  it("accepts a status that says what the engine says, and catches each lie", () => {
    const containers = {
      up: { digest: NEW, running: true },
      down: { digest: OLD, running: false },
      gone: undefined,
    };
    const truthful = status({
      up: { digest: NEW, state: "running" },
      down: { digest: OLD, state: "stopped" },
      gone: { digest: null, state: "missing" },
    });
    expect(collect((f) => checkStatus("host-a", ["up", "down", "gone"], truthful, containers, f))).toEqual(
      [],
    );
    const lying = status({
      up: { digest: OLD, state: "running" },
      down: { digest: OLD, state: "running" },
    });
    expect(collect((f) => checkStatus("host-a", ["up", "down", "gone"], lying, containers, f))).toEqual([
      `status: up digest ${OLD}, but the container runs ${NEW}`,
      'status: down is "running", but the container is not running',
      "status: gone is missing",
    ]);
  });
});

describe("checkRollout", () => {
  const r = { id: "2026-12-03T0000Z-bbbbbbbb", to: NEW, targets: ["a", "b", "c"], waves: 2 };
  const containers = { a: { digest: NEW, running: true }, b: { digest: OLD, running: true }, c: undefined };

  it("accepts finished targets that match the containers", () => {
    const s = status(
      {},
      {
        [r.id]: {
          state: "completed",
          wavesDone: 2,
          bots: {
            a: { result: "updated", wave: 1, attempts: 1 },
            b: { result: "rolled-back", wave: 2, attempts: 1 },
            c: { result: "skipped", wave: 2, attempts: 0 },
          },
        },
      },
    );
    expect(collect((f) => checkRollout(r, s, containers, f))).toEqual([]);
  });

  it("catches unfinished targets, results the containers contradict and waves not done", () => {
    const s = status(
      {},
      {
        [r.id]: {
          state: "completed",
          wavesDone: 1,
          bots: {
            a: { result: "rolled-back", wave: 1, attempts: 1 },
            b: { result: "updated", wave: 2, attempts: 1 },
            c: { result: "pending", wave: 2, attempts: 0 },
            x: { result: "updated", wave: 1, attempts: 1 },
          },
        },
      },
    );
    expect(collect((f) => checkRollout(r, s, containers, f))).toEqual([
      `rollout ${r.id}: completed with wavesDone 1 of 2`,
      `rollout ${r.id}: a "rolled-back", but runs the plan's digest`,
      `rollout ${r.id}: b "updated", but runs ${OLD}`,
      `rollout ${r.id}: c is still pending`,
      `rollout ${r.id}: x has a result but is not a target`,
    ]);
    expect(collect((f) => checkRollout({ ...r, states: ["aborted"] }, s, containers, f))[0]).toBe(
      `rollout ${r.id}: completed, expected aborted`,
    );
  });
});

describe("checkDataDir", () => {
  it("is quiet for a converged data dir and names every leftover", async () => {
    const dir = await mkdtemp(join(tmpdir(), "fleetwave-invariants-"));
    const bots = [{ id: "a", allowed: { [OLD]: { "a-data": manifest() } } }];
    await mkdir(join(dir, "journal"));
    await mkdir(join(dir, "snapshots/.restore"), { recursive: true });
    expect(await collectAsync((f) => checkDataDir(dir, 0, bots, f))).toEqual([]);

    await writeFile(join(dir, "journal/a.json"), "{}");
    await writeFile(join(dir, "snapshots/s1.tar.partial"), "");
    await mkdir(join(dir, "snapshots/.restore/stage-1"));
    await writeFile(join(dir, "snapshots/s2.tar"), "");
    await writeFile(join(dir, "snapshots/s2.json"), "{}");
    await writeFile(join(dir, "snapshots/s3.json"), "{}");
    expect(await collectAsync((f) => checkDataDir(dir, 0, bots, f))).toEqual([
      "journal not empty: a.json",
      "incomplete snapshot files left: s1.tar.partial",
      "restore staging left: stage-1",
      "1 snapshots left, at most 0 may be kept: s2.tar",
      "snapshot tar and manifest not paired: s3.json",
    ]);
    expect(await collectAsync((f) => checkDataDir(dir, 1, bots, f))).not.toContain(
      "1 snapshots left, at most 0 may be kept: s2.tar",
    );
  });
});

async function collectAsync(check: (fail: (line: string) => void) => Promise<void>): Promise<string[]> {
  const lines: string[] = [];
  await check((line) => lines.push(line));
  return lines;
}

describe("checkCommits", () => {
  it("accepts the agent's and the operator's commits, and names foreign and resurrected ones", async () => {
    const root = await mkdtemp(join(tmpdir(), "fleetwave-invariants-git-"));
    const commit = async (author: string, message: string) => {
      const [, name, email] = /^(.+) <(.+)>$/.exec(author)!;
      await run("git", [
        "-C",
        root,
        "-c",
        `user.name=${name}`,
        "-c",
        `user.email=${email}`,
        "commit",
        "--quiet",
        "--allow-empty",
        "-m",
        message,
      ]);
      return (await run("git", ["-C", root, "rev-parse", "HEAD"])).stdout.trim();
    };
    await run("git", ["init", "--quiet", "--initial-branch=main", root]);
    const agent = "Fleetwave Agent (host-a) <fleetwave-agent@host-a.invalid>";
    const operator = "Operator <ops@acme.example>";
    await commit(operator, "fleet-state: initial fleet");
    await commit(agent, "fleetwave(host-a): reconcile\n\nFleetwave-Host: host-a");
    const remote = { url: root, agentAuthor: agent, otherAuthors: [operator] };
    expect(await collectAsync(async (f) => void (await checkCommits(remote, "host-a", f)))).toEqual([]);

    const leaked = await commit(operator, "add a secret");
    const forged = await commit(agent, "fleetwave(host-b): reconcile\n\nFleetwave-Host: host-b");
    const stranger = await commit("Mallory <m@evil.example>", "sneak in");
    const lines: string[] = [];
    const foreign = await checkCommits({ ...remote, removed: [leaked] }, "host-a", (l) => lines.push(l));
    expect(foreign.sort()).toEqual([leaked, forged, stranger].sort());
    expect(lines).toEqual([
      `commit ${stranger.slice(0, 12)} "sneak in" by Mallory <m@evil.example>: neither the agent nor an allowed author`,
      `commit ${forged.slice(0, 12)} "fleetwave(host-b): reconcile" has the agent's author but no Fleetwave-Host: host-a`,
      `commit ${leaked.slice(0, 12)} "add a secret" was removed from the remote and came back`,
    ]);
  });
});
