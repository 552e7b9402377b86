import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, open, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openSnapshotIds } from "./open-files.ts";

const roots: string[] = [];
const children: ChildProcess[] = [];
afterAll(async () => {
  for (const child of children) child.kill("SIGKILL");
  for (const root of roots) await rm(root, { recursive: true, force: true });
});

async function dir(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), "fleetwave-open-"));
  roots.push(root);
  return root;
}

/** Resolves once `path` exists (a child announces that it holds its file open). */
async function appears(path: string): Promise<void> {
  while (!(await stat(path).catch(() => undefined))) await new Promise((r) => setTimeout(r, 20));
}

describe("openSnapshotIds", () => {
  it("sees a snapshot file this process holds open, and no longer once it is closed", async () => {
    const root = await dir();
    const id = "b--v--20260101T000000000Z-0a01";
    const handle = await open(join(root, `${id}.tar.partial`), "wx");
    const ids = new Set([id, "b--v--20260101T000000000Z-0a02"]);
    try {
      expect(await openSnapshotIds(ids)).toEqual(new Set([id]));
    } finally {
      await handle.close();
    }
    expect(await openSnapshotIds(ids)).toEqual(new Set());
  });

  it("sees a file another process holds open, also under its final name, until that process ends", async () => {
    const root = await dir();
    const id = "b--v--20260101T000000000Z-0b01";
    const tar = join(root, `${id}.tar`);
    await writeFile(tar, "x");
    const ready = join(root, "ready");
    const child = spawn("sh", ["-c", `exec 3<"$1"; : > "$2"; exec sleep 60`, "sh", tar, ready], {
      stdio: "ignore",
    });
    children.push(child);
    await appears(ready);
    expect(await openSnapshotIds(new Set([id]))).toEqual(new Set([id]));
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGKILL");
    await exited;
    expect(await openSnapshotIds(new Set([id]))).toEqual(new Set());
  });

  it("does not scan at all without candidates", async () => {
    expect(await openSnapshotIds(new Set(), "/nonexistent-proc")).toEqual(new Set());
  });
});
