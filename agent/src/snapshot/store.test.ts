import { spawn } from "node:child_process";
import { once } from "node:events";
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CHURN_SCRIPT } from "#test/support/churn.ts";
import { createTrickyTree, treeManifest, vandalizeTree } from "#test/support/tree-manifest.ts";
import {
  InsufficientSpaceError,
  InvalidSnapshotIdError,
  SnapshotCorruptError,
  SnapshotMethodMismatchError,
  SnapshotNotFoundError,
} from "./errors.ts";
import { estimateVolumeBytes } from "./space.ts";
import { SnapshotStore } from "./store.ts";

// The direct (Mountpoint) path needs no Docker Engine: any directory stands in for a volume's Mountpoint.
// Runs as root (chown to uid 1234). Generous timeouts: the tricky tree has a few MiB and is fsynced.
const SLOW = 60_000;

const roots: string[] = [];
afterAll(async () => {
  for (const root of roots) await rm(root, { recursive: true, force: true });
});

async function setup() {
  const root = await mkdtemp(join(tmpdir(), "fleetwave-store-"));
  roots.push(root);
  const volume = join(root, "volume");
  await mkdir(volume);
  let tick = Date.parse("2026-11-27T06:00:00.000Z");
  const now = () => {
    tick += 1000;
    return new Date(tick);
  };
  const store = new SnapshotStore({ dataDir: join(root, "data"), now });
  return { root, volume, store };
}

const DIGEST = `sha256:${"ab".repeat(32)}`;

describe("SnapshotStore, direct path", () => {
  it(
    "round-trips the tricky tree exactly and removes what came after",
    async () => {
      const { volume, store } = await setup();
      const { xattr } = await createTrickyTree(volume);
      const before = await treeManifest(volume, { xattrs: true });
      if (xattr)
        expect(before.entries.find((e) => e.path === "xattr.txt")?.xattrs).toEqual({ "user.fleetwave": "1" });

      const manifest = await store.snapshotVolume({
        volume: "data",
        bot: "acme-main",
        imageDigest: DIGEST,
        via: { kind: "mountpoint", path: volume },
      });
      expect(manifest).toMatchObject({
        volume: "data",
        bot: "acme-main",
        imageDigest: DIGEST,
        method: "mountpoint",
      });
      expect(manifest.entries).toBe(before.entries.length + 1); // + the root's ./
      expect((await stat(store.tarPath(manifest.id))).size).toBe(manifest.bytes);
      expect(JSON.parse(await readFile(store.manifestPath(manifest.id), "utf8"))).toEqual(manifest);

      await vandalizeTree(volume);
      expect(await treeManifest(volume, { xattrs: true })).not.toEqual(before);
      await store.restoreVolume(manifest.id, { kind: "mountpoint", path: volume });
      expect(await treeManifest(volume, { xattrs: true })).toEqual(before);
      await store.settled();
      expect(await readdir(join(store.dir, ".restore"))).toEqual([]);
      // The sparse file stayed sparse.
      const sparse = await stat(join(volume, "sparse.bin"));
      expect(sparse.blocks * 512).toBeLessThan(sparse.size / 4);
    },
    SLOW,
  );

  it(
    "refuses a corrupt tar and leaves the volume as it is",
    async () => {
      const { volume, store } = await setup();
      await createTrickyTree(volume);
      const manifest = await store.snapshotVolume({
        volume: "data",
        bot: "b1",
        imageDigest: null,
        via: { kind: "mountpoint", path: volume },
      });
      await vandalizeTree(volume);
      const vandalized = await treeManifest(volume);
      const tar = await readFile(store.tarPath(manifest.id));
      tar[2000] = tar[2000]! ^ 1;
      await writeFile(store.tarPath(manifest.id), tar);
      const restore = store.restoreVolume(manifest.id, { kind: "mountpoint", path: volume });
      await expect(restore).rejects.toThrow(SnapshotCorruptError);
      await expect(restore).rejects.toThrow(/sha256 of .* is [0-9a-f]{64}, its manifest says/);
      expect(await treeManifest(volume)).toEqual(vandalized);

      await writeFile(store.tarPath(manifest.id), tar.subarray(0, 1000));
      await expect(store.restoreVolume(manifest.id, { kind: "mountpoint", path: volume })).rejects.toThrow(
        /has 1000 bytes, its manifest says/,
      );
      expect(await treeManifest(volume)).toEqual(vandalized);
    },
    SLOW,
  );

  it("rejects path-traversal ids everywhere before touching the disk", async () => {
    const { store, volume } = await setup();
    for (const id of ["../../etc/passwd", "..", "a/b", "x\0y", "/etc/shadow", "a..b"]) {
      await expect(store.get(id)).rejects.toThrow(InvalidSnapshotIdError);
      await expect(store.remove(id)).rejects.toThrow(InvalidSnapshotIdError);
      await expect(store.verify(id)).rejects.toThrow(InvalidSnapshotIdError);
      await expect(store.restoreVolume(id, { kind: "mountpoint", path: volume })).rejects.toThrow(
        InvalidSnapshotIdError,
      );
      expect(() => store.tarPath(id)).toThrow(InvalidSnapshotIdError);
    }
  });

  it("says when a snapshot does not exist or was taken the other way", async () => {
    const { store, volume } = await setup();
    await expect(
      store.restoreVolume("b--v--20260101T000000000Z-0000", { kind: "mountpoint", path: volume }),
    ).rejects.toThrow(SnapshotNotFoundError);
    expect(await store.get("b--v--20260101T000000000Z-0000")).toBeUndefined();
    await writeFile(join(volume, "f"), "x");
    const m = await store.snapshotVolume({
      volume: "v",
      bot: "b",
      imageDigest: null,
      via: { kind: "mountpoint", path: volume },
    });
    const docker = {} as never;
    await expect(store.restoreVolume(m.id, { kind: "archive", docker, carrierImage: "x" })).rejects.toThrow(
      SnapshotMethodMismatchError,
    );
  });

  it(
    "lists newest first, filters, and prunes to the newest N per volume",
    async () => {
      const { volume, store } = await setup();
      await writeFile(join(volume, "f"), "x");
      const via = { kind: "mountpoint", path: volume } as const;
      const take = (bot: string, vol: string) =>
        store.snapshotVolume({ volume: vol, bot, imageDigest: null, via });
      const a = [
        await take("b1", "v1"),
        await take("b1", "v1"),
        await take("b1", "v1"),
        await take("b1", "v1"),
      ];
      const other = await take("b1", "v2");
      const elsewhere = await take("b2", "v1");
      expect((await store.list({ bot: "b1" })).map((m) => m.id)).toEqual(
        [other, ...a.slice().reverse()].map((m) => m.id),
      );
      expect((await store.list()).length).toBe(6);

      const removed = await store.prune({ bot: "b1", volume: "v1", keep: 2 });
      expect(removed).toEqual([a[1]!.id, a[0]!.id]);
      expect((await store.list({ bot: "b1", volume: "v1" })).map((m) => m.id)).toEqual([a[3]!.id, a[2]!.id]);
      expect(await store.get(other.id)).toEqual(other);
      expect(await store.get(elsewhere.id)).toEqual(elsewhere);
      const files = await readdir(store.dir);
      expect(files.filter((f) => f.startsWith(a[0]!.id))).toEqual([]);
      expect(await store.prune({ bot: "b1", volume: "v1", keep: 0 })).toHaveLength(2);
      expect(await store.remove(a[3]!.id)).toBe(false);
    },
    SLOW,
  );

  it(
    "checks the space before writing anything",
    async () => {
      const { root, volume } = await setup();
      await createTrickyTree(volume);
      const estimate = await estimateVolumeBytes({ kind: "mountpoint", path: volume });
      expect(estimate).toBeGreaterThan(3 << 20);
      const store = new SnapshotStore({
        dataDir: join(root, "data2"),
        marginBytes: Number.MAX_SAFE_INTEGER / 2,
      });
      const attempt = store.snapshotVolume({
        volume: "v",
        bot: "b",
        imageDigest: null,
        via: { kind: "mountpoint", path: volume },
      });
      await expect(attempt).rejects.toThrow(InsufficientSpaceError);
      await expect(attempt).rejects.toThrow(/needed .* available/);
      expect(await readdir(store.dir)).toEqual([]);
    },
    SLOW,
  );

  it("cleans what an interrupted snapshot left, and never lists it", async () => {
    const { volume, store } = await setup();
    await writeFile(join(volume, "f"), "x");
    const m = await store.snapshotVolume({
      volume: "v",
      bot: "b",
      imageDigest: null,
      via: { kind: "mountpoint", path: volume },
    });
    await writeFile(join(store.dir, "b--v--20260101T000000000Z-0001.tar.partial"), "half");
    await writeFile(join(store.dir, "b--v--20260101T000000000Z-0002.tar"), "no manifest");
    await writeFile(join(store.dir, "b--v--20260101T000000000Z-0003.json.tmp"), "{");
    await writeFile(join(store.dir, "b--v--20260101T000000000Z-0004.json"), "{ not json");
    expect((await store.list()).map((x) => x.id)).toEqual([m.id]);
    await expect(store.get("b--v--20260101T000000000Z-0004")).rejects.toThrow(SnapshotCorruptError);
    expect((await store.cleanIncomplete()).sort()).toEqual([
      "b--v--20260101T000000000Z-0001.tar.partial",
      "b--v--20260101T000000000Z-0002.tar",
      "b--v--20260101T000000000Z-0003.json.tmp",
    ]);
    expect(await store.verify(m.id)).toEqual(m);
  });

  it("removes leftovers before every space check, so they no longer count against the disk", async () => {
    const { volume, store } = await setup();
    await writeFile(join(volume, "f"), "x");
    await mkdir(store.dir, { recursive: true });
    const partial = join(store.dir, "b--v--20260101T000000000Z-0001.tar.partial");
    await writeFile(partial, "half");
    await store.ensureSpaceFor(0);
    expect(await readdir(store.dir)).toEqual([]);
    await writeFile(partial, "half");
    await store.snapshotVolume({
      volume: "v",
      bot: "b",
      imageDigest: null,
      via: { kind: "mountpoint", path: volume },
    });
    expect((await readdir(store.dir)).filter((n) => n.endsWith(".partial"))).toEqual([]);
  });

  it(
    "never removes the files of a snapshot this process is still writing",
    async () => {
      const { root, volume, store } = await setup();
      await createTrickyTree(volume);
      const before = await treeManifest(volume);
      // A tar that waits for a gate file: the snapshot's partial exists, nothing else moves.
      const gate = join(root, "gate");
      const tar = join(root, "gated-tar");
      await writeFile(tar, `#!/bin/sh\nwhile [ ! -e '${gate}' ]; do sleep 0.02; done\nexec tar "$@"\n`);
      await chmod(tar, 0o755);
      const writer = new SnapshotStore({ dataDir: join(root, "data"), tarCommand: tar });
      const taking = writer.snapshotVolume({
        volume: "v",
        bot: "b",
        imageDigest: null,
        via: { kind: "mountpoint", path: volume },
      });
      let partial: string | undefined;
      while (!partial) {
        partial = (await readdir(store.dir).catch(() => [])).find((n) => n.endsWith(".tar.partial"));
        if (!partial) await new Promise((r) => setTimeout(r, 20));
      }
      // Another store of this process: its clean-ups and its space check leave the partial alone.
      expect(await store.incomplete()).toEqual([expect.objectContaining({ name: partial, inUse: true })]);
      expect(await store.cleanIncomplete()).toEqual([]);
      expect(await store.removeIncomplete()).toEqual([]);
      await store.ensureSpaceFor(0);
      expect(await readdir(store.dir)).toContain(partial);

      await writeFile(gate, "");
      const manifest = await taking;
      await store.verify(manifest.id);
      await vandalizeTree(volume);
      await store.restoreVolume(manifest.id, { kind: "mountpoint", path: volume });
      expect(await treeManifest(volume)).toEqual(before);
      expect(await store.incomplete()).toEqual([]);
    },
    SLOW,
  );
});

/** Resolves once the churn writer finished round `n` (see CHURN_SCRIPT). */
async function untilRound(volume: string, n: number): Promise<number> {
  for (;;) {
    const round = Number(await readFile(join(volume, "churn/round"), "utf8").catch(() => "0"));
    if (round >= n) return round;
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe("SnapshotStore, pairs (level-0 while a writer churns, level-1 after the stop)", () => {
  it(
    "restores exactly the state at the stop, from a torn level-0 and its level-1",
    async () => {
      const { volume, store } = await setup();
      const { xattr } = await createTrickyTree(volume);
      const via = { kind: "mountpoint", path: volume } as const;
      // A process group of its own: killing only the shell would leave the command it runs
      // (an mv, an rm) changing the tree after the "stop".
      const writer = spawn("sh", ["-c", CHURN_SCRIPT, "churn", volume], { stdio: "ignore", detached: true });
      const exited = once(writer, "exit");
      const roundBefore = await untilRound(volume, 3);
      // The writer rewrites parts of the 3 MiB big.bin, most of this small tree: no size limit here.
      const limits = { maxLevel0AgeMs: 300_000, maxLevel1Fraction: 4 };
      const request = { volume: "data", bot: "acme-main", imageDigest: DIGEST, via };
      const id = await store.precopyVolume(request, limits);
      // The writer kept going while the level-0 was read: the level-0 is torn.
      const roundAfter = await untilRound(volume, roundBefore + 1);
      expect(roundAfter).toBeGreaterThan(roundBefore);
      process.kill(-writer.pid!, "SIGKILL");
      await exited;
      const atStop = await treeManifest(volume, { xattrs: xattr });

      const { manifest, fallback } = await store.completeVolume(id, limits);
      expect(fallback).toBeUndefined();
      expect(manifest.id).toBe(id);
      expect(manifest.level1?.entries).toBeGreaterThan(1);
      expect(await store.verify(id)).toEqual(manifest);
      expect(await store.incomplete()).toEqual([]);

      await vandalizeTree(volume);
      await rm(join(volume, "churn"), { recursive: true });
      await store.restoreVolume(id, via);
      expect(await treeManifest(volume, { xattrs: xattr })).toEqual(atStop);

      // A damaged level-1 is caught before the volume is touched.
      await writeFile(store.tarPath(id).replace(/\.tar$/, ".l1.tar"), "garbage");
      await expect(store.restoreVolume(id, via)).rejects.toBeInstanceOf(SnapshotCorruptError);
      expect(await treeManifest(volume, { xattrs: xattr })).toEqual(atStop);
      await store.remove(id);
      expect(await readdir(store.dir)).not.toContain(expect.stringContaining(id));
    },
    SLOW,
  );

  it("writes back the level-0's filesystems as its last step, so the stop does not have to", async () => {
    const { root, volume } = await setup();
    await writeFile(join(volume, "a"), "a");
    const phases: string[] = [];
    const store = new SnapshotStore({ dataDir: join(root, "data"), onPhase: (phase) => phases.push(phase) });
    const via = { kind: "mountpoint", path: volume } as const;
    const id = await store.precopyVolume({ volume: "data", bot: "acme-main", imageDigest: DIGEST, via });
    expect(phases).toEqual(["snapshot.estimate", "snapshot.level0", "snapshot.flush"]);
    await store.discardPrecopy(id);
  });

  it(
    "falls back to a full snapshot when the level-1 outgrows its limit or the level-0 is too old",
    async () => {
      const { volume, store } = await setup();
      await createTrickyTree(volume);
      const via = { kind: "mountpoint", path: volume } as const;
      const request = { volume: "data", bot: "acme-main", imageDigest: DIGEST, via };

      const large = await store.precopyVolume(request);
      await writeFile(join(volume, "big.bin"), Buffer.alloc(2 << 20, 7));
      const atStop = await treeManifest(volume);
      const strict = { maxLevel0AgeMs: 300_000, maxLevel1Fraction: 0 };
      const replaced = await store.completeVolume(large, strict);
      expect(replaced.fallback).toMatch(/level-1 grew beyond/);
      expect(replaced.manifest.level1).toBeUndefined();
      expect(replaced.manifest.id).not.toBe(large);
      expect(await store.incomplete()).toEqual([]);
      expect((await store.list()).map((m) => m.id)).toEqual([replaced.manifest.id]);
      await vandalizeTree(volume);
      await store.restoreVolume(replaced.manifest.id, via);
      expect(await treeManifest(volume)).toEqual(atStop);

      const old = await store.precopyVolume(request);
      const stale = await store.completeVolume(old, { maxLevel0AgeMs: -1, maxLevel1Fraction: 0.5 });
      expect(stale.fallback).toMatch(/the level-0 finished/);
      expect(stale.manifest.level1).toBeUndefined();

      const dropped = await store.precopyVolume(request);
      expect((await store.incomplete()).every((f) => f.inUse)).toBe(true);
      await store.discardPrecopy(dropped);
      expect(await store.incomplete()).toEqual([]);
      expect(await store.list()).toHaveLength(2);
    },
    SLOW,
  );
});
