import { type ChildProcess, spawn } from "node:child_process";
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { SnapshotStore } from "#fleetwave/snapshot/index.ts";
import { runCli } from "../testing.ts";

const roots: string[] = [];
const children: ChildProcess[] = [];
afterAll(async () => {
  for (const child of children) child.kill("SIGKILL");
  for (const root of roots) await rm(root, { recursive: true, force: true });
});

const LEFTOVER = "b1--v1--20260101T000000000Z-0001.tar.partial";
const WRITING = "b1--v1--20260101T000000000Z-0002.tar.partial";

/** A data dir with three snapshots of b1/v1, one leftover partial, and one partial another process writes. */
async function dataDir() {
  const root = await mkdtemp(join(tmpdir(), "fleetwave-cli-snapshots-"));
  roots.push(root);
  const volume = join(root, "volume");
  await mkdir(volume);
  await writeFile(join(volume, "f"), "x");
  let tick = Date.parse("2026-11-27T06:00:00.000Z");
  const store = new SnapshotStore({
    dataDir: join(root, "data"),
    now: () => {
      tick += 1000;
      return new Date(tick);
    },
  });
  const via = { kind: "mountpoint", path: volume } as const;
  const ids: string[] = [];
  for (let i = 0; i < 3; i += 1)
    ids.push((await store.snapshotVolume({ volume: "v1", bot: "b1", imageDigest: null, via })).id);
  await writeFile(join(store.dir, LEFTOVER), Buffer.alloc(4096));
  // A snapshot being written elsewhere: a process holds its partial open (as a writer does).
  const ready = join(root, "ready");
  const child = spawn(
    "sh",
    ["-c", `exec 3>"$1"; : > "$2"; exec sleep 60`, "sh", join(store.dir, WRITING), ready],
    { stdio: "ignore" },
  );
  children.push(child);
  while (!(await stat(ready).catch(() => undefined))) await new Promise((r) => setTimeout(r, 20));
  return { root, store, ids };
}

describe("fleetwave snapshots", () => {
  it("lists the leftovers of interrupted snapshots and prunes them, never one being written", async () => {
    const { root, store, ids } = await dataDir();
    const list = await runCli(["snapshots", "list", "--data-dir", "data"], root);
    expect(list.code).toBe(0);
    expect(list.out).toContain(ids[0]);
    expect(list.out).toContain("INCOMPLETE");
    expect(list.out).toMatch(new RegExp(`^${LEFTOVER}\\tpartial\\t4096\\t\\S+\\tleftover$`, "m"));
    expect(list.out).toMatch(new RegExp(`^${WRITING}\\tpartial\\t0\\t\\S+\\tbeing-written$`, "m"));

    const json = await runCli(["snapshots", "list", "--data-dir", "data", "--format", "json"], root);
    const parsed = JSON.parse(json.out) as { snapshots: { id: string }[]; incomplete: { name: string }[] };
    expect(parsed.snapshots.map((s) => s.id)).toEqual(ids.slice().reverse());
    expect(parsed.incomplete.map((f) => f.name)).toEqual([LEFTOVER, WRITING]);

    const prune = await runCli(["snapshots", "prune", "--data-dir", "data"], root);
    expect(prune.code).toBe(0);
    expect(prune.out.split("\n")).toEqual([
      `removed leftover ${LEFTOVER}`,
      `kept ${WRITING}: a snapshot is being written`,
    ]);
    expect((await readdir(store.dir)).filter((n) => n.endsWith(".partial"))).toEqual([WRITING]);
    expect((await store.list()).map((m) => m.id)).toEqual(ids.slice().reverse());

    const byBot = await runCli(
      ["snapshots", "prune", "--data-dir", "data", "--bot", "b1", "--keep", "1"],
      root,
    );
    expect(byBot.out.split("\n")).toEqual([
      `kept ${WRITING}: a snapshot is being written`,
      `removed ${ids[1]}`,
      `removed ${ids[0]}`,
    ]);
    expect((await store.list()).map((m) => m.id)).toEqual([ids[2]]);
  });

  it("says when there is nothing to prune", async () => {
    const root = await mkdtemp(join(tmpdir(), "fleetwave-cli-snapshots-"));
    roots.push(root);
    const prune = await runCli(["snapshots", "prune", "--data-dir", "data"], root);
    expect(prune).toEqual({ code: 0, out: "nothing to prune", err: "" });
    const list = await runCli(["snapshots", "list", "--data-dir", "data"], root);
    expect(list.out).not.toContain("INCOMPLETE");
  });
});
