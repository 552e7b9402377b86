/**
 * Volume snapshots against the real test engine: both paths round-trip the tricky tree exactly, a corrupt
 * tar is refused with the volume untouched, the space check runs before anything is written, a disk that
 * fills up anyway is reported as full with nothing left behind, prune keeps
 * the newest N, and the archive path refuses volumes it cannot recreate empty.
 */
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CARRIER_LABEL,
  chooseSnapshotPath,
  DataDiskFullError,
  estimateVolumeBytes,
  InsufficientSpaceError,
  InvalidSnapshotIdError,
  SnapshotCorruptError,
  SnapshotStore,
  VolumeInUseError,
  VolumeNotEmptiedError,
} from "#fleetwave/snapshot/index.ts";
import { buildTestImage, type TestImage } from "#scripts/local-env/bot-image.ts";
import { dockerClient } from "#scripts/local-env/engine.ts";
import {
  createTrickyTree,
  type TreeManifest,
  treeManifest,
  vandalizeTree,
  writeSeededFile,
} from "../support/tree-manifest.ts";

const LABEL = "org.fleetwave.test.snapshot";
const MOUNT = "/data";
const docker = dockerClient();
let image: TestImage;
let scratch: string;
let counter = 0;

beforeAll(async () => {
  image = await buildTestImage({ version: "1.0.0" });
  scratch = await mkdtemp(join(tmpdir(), "fleetwave-snapshot-it-"));
});

afterAll(async () => {
  const containers = await docker.listContainers({ all: true, filters: { label: [LABEL] } });
  for (const c of containers) await docker.getContainer(c.Id).remove({ force: true });
  const { Volumes } = await docker.listVolumes({ filters: { label: [LABEL] } });
  for (const v of Volumes ?? []) await docker.getVolume(v.Name).remove({ force: true });
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

interface Fixture {
  volume: string;
  mountpoint: string;
  container: Docker.Container;
  store: SnapshotStore;
  dataDir: string;
}

/** A fresh volume (with the tricky tree unless `empty`), a never-started container mounting it, a store. */
async function fixture(
  options: { empty?: boolean; driverOpts?: Record<string, string> } = {},
): Promise<Fixture & { xattr: boolean }> {
  counter += 1;
  const volume = `fwsnap-${process.pid}-${counter}`;
  await docker.createVolume({
    Name: volume,
    Labels: { [LABEL]: "1", "org.fleetwave.test.kept": "yes" },
    ...(options.driverOpts ? { DriverOpts: options.driverOpts } : {}),
  });
  const mountpoint = (await docker.getVolume(volume).inspect()).Mountpoint;
  const xattr = options.empty ? false : (await createTrickyTree(mountpoint)).xattr;
  const container = await docker.createContainer({
    name: `${volume}-bot`,
    Image: image.pinned,
    Labels: { [LABEL]: "1" },
    HostConfig: {
      NetworkMode: "none",
      Mounts: [{ Type: "volume", Source: volume, Target: MOUNT } as Docker.MountSettings],
    },
  });
  const dataDir = join(scratch, volume);
  return { volume, mountpoint, container, store: new SnapshotStore({ dataDir }), dataDir, xattr };
}

/** The Engine archive API carries only security.capability among xattrs: compare without them. */
function withoutXattrs(manifest: TreeManifest): TreeManifest {
  const { xattrs: _root, ...root } = manifest.root;
  return { root, entries: manifest.entries.map(({ xattrs: _x, ...entry }) => entry) };
}

describe("volume snapshots on the real engine", () => {
  it("direct path: chooses the Mountpoint and round-trips the tricky tree exactly", async () => {
    const f = await fixture();
    const before = await treeManifest(f.mountpoint, { xattrs: true });
    expect(before.root).toMatchObject({ mode: 0o750, uid: 1234, gid: 1234 });
    if (f.xattr)
      expect(before.entries.find((e) => e.path === "xattr.txt")?.xattrs).toEqual({ "user.fleetwave": "1" });

    const via = await chooseSnapshotPath(docker, f.volume, f.container.id, MOUNT);
    expect(via).toEqual({ kind: "mountpoint", path: f.mountpoint });
    const manifest = await f.store.snapshotVolume({
      volume: f.volume,
      bot: "snap-bot",
      imageDigest: image.digest,
      via,
    });
    expect(manifest).toMatchObject({ method: "mountpoint", volume: f.volume, imageDigest: image.digest });
    expect(manifest.entries).toBe(before.entries.length + 1);

    await vandalizeTree(f.mountpoint);
    await f.store.restoreVolume(manifest.id, { kind: "mountpoint", path: f.mountpoint });
    const after = await treeManifest(f.mountpoint, { xattrs: true });
    expect(after).toEqual(before);
    expect(after.entries.map((e) => e.path)).not.toContain(".a");
    expect(after.entries.map((e) => e.path)).not.toContain("..b");
    // Staged in the volume's own directory (the Engine's data root is a mount of its own), then cleaned.
    await f.store.settled();
    expect(await readdir(dirname(f.mountpoint))).toEqual(["_data"]);
  });

  it("archive path: VolumeInUseError while a container mounts the volume, then an exact restore through a carrier", async () => {
    const f = await fixture();
    const before = await treeManifest(f.mountpoint, { xattrs: true });
    const manifest = await f.store.snapshotVolume({
      volume: f.volume,
      bot: "snap-bot",
      imageDigest: image.digest,
      via: { kind: "archive", docker, container: f.container.id, mountPath: MOUNT },
    });
    expect(manifest).toMatchObject({ method: "archive", mountPath: MOUNT });
    expect(manifest.volumeSpec).toEqual({
      driver: "local",
      options: {},
      labels: { [LABEL]: "1", "org.fleetwave.test.kept": "yes" },
    });
    expect(manifest.entries).toBe(before.entries.length + 1); // `data/` is the root entry
    const top = execFileSync("tar", ["-tvf", f.store.tarPath(manifest.id)], { encoding: "utf8" }).split(
      "\n",
    )[0];
    expect(top).toMatch(/^drwxr-x--- 1234\/1234 .* data\/$/);

    await vandalizeTree(f.mountpoint);
    const vandalized = await treeManifest(f.mountpoint);
    const restore = () =>
      f.store.restoreVolume(manifest.id, { kind: "archive", docker, carrierImage: image.pinned });
    const inUse = await restore().catch((error: unknown) => error);
    expect(inUse).toBeInstanceOf(VolumeInUseError);
    expect(String(inUse)).toContain(`${f.volume}-bot`);
    expect(await treeManifest(f.mountpoint)).toEqual(vandalized);

    // The engine removes the bot's containers before an archive-path restore.
    await f.container.remove();
    await restore();
    const mountpoint = (await docker.getVolume(f.volume).inspect()).Mountpoint;
    const after = await treeManifest(mountpoint, { xattrs: true });
    expect(withoutXattrs(after)).toEqual(withoutXattrs(before));
    if (f.xattr) {
      // Known limit of the Engine archive API: user.* xattrs do not survive GET /archive.
      expect(after.entries.find((e) => e.path === "xattr.txt")?.xattrs).toEqual({});
    }
    const volume = await docker.getVolume(f.volume).inspect();
    expect(volume.Labels).toEqual({ [LABEL]: "1", "org.fleetwave.test.kept": "yes" });
    expect(volume.Driver).toBe("local");
    expect(
      await docker.listContainers({ all: true, filters: { label: [`${CARRIER_LABEL}=${f.volume}`] } }),
    ).toEqual([]);
  });

  it("refuses a corrupt tar on both paths and leaves the volume untouched", async () => {
    const f = await fixture();
    const direct = await f.store.snapshotVolume({
      volume: f.volume,
      bot: "snap-bot",
      imageDigest: null,
      via: { kind: "mountpoint", path: f.mountpoint },
    });
    const archive = await f.store.snapshotVolume({
      volume: f.volume,
      bot: "snap-bot",
      imageDigest: null,
      via: { kind: "archive", docker, container: f.container.id, mountPath: MOUNT },
    });
    await vandalizeTree(f.mountpoint);
    const vandalized = await treeManifest(f.mountpoint);
    const createdAt = (await docker.getVolume(f.volume).inspect()) as { CreatedAt?: string };
    await f.container.remove();
    for (const m of [direct, archive]) {
      const tar = await readFile(f.store.tarPath(m.id));
      tar[tar.length >> 1] = tar[tar.length >> 1]! ^ 0x40;
      await writeFile(f.store.tarPath(m.id), tar);
    }
    await expect(
      f.store.restoreVolume(direct.id, { kind: "mountpoint", path: f.mountpoint }),
    ).rejects.toThrow(SnapshotCorruptError);
    await expect(
      f.store.restoreVolume(archive.id, { kind: "archive", docker, carrierImage: image.pinned }),
    ).rejects.toThrow(SnapshotCorruptError);
    expect(await treeManifest(f.mountpoint)).toEqual(vandalized);
    expect(((await docker.getVolume(f.volume).inspect()) as { CreatedAt?: string }).CreatedAt).toBe(
      createdAt.CreatedAt,
    );
  });

  it("rejects path-traversal snapshot ids before touching the engine or the disk", async () => {
    const f = await fixture({ empty: true });
    for (const id of ["../../../etc/passwd", "..", "a/b", "nul\0byte", `${f.volume}/../x`]) {
      await expect(
        f.store.restoreVolume(id, { kind: "archive", docker, carrierImage: image.pinned }),
      ).rejects.toThrow(InvalidSnapshotIdError);
      await expect(f.store.remove(id)).rejects.toThrow(InvalidSnapshotIdError);
    }
    expect((await docker.listContainers({ all: true, filters: { volume: [f.volume] } })).length).toBe(1);
  });

  it("keeps the newest N snapshots per volume", async () => {
    const f = await fixture({ empty: true });
    await writeFile(join(f.mountpoint, "f"), "x");
    const ids: string[] = [];
    for (let i = 0; i < 4; i += 1) {
      const via = await chooseSnapshotPath(docker, f.volume, f.container.id, MOUNT);
      ids.push(
        (await f.store.snapshotVolume({ volume: f.volume, bot: "snap-bot", imageDigest: null, via })).id,
      );
      // Not a wait for a result: snapshot times have millisecond resolution, and prune keeps the
      // newest by time, so each snapshot gets a moment of its own.
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(await f.store.prune({ bot: "snap-bot", volume: f.volume, keep: 2 })).toEqual([ids[1], ids[0]]);
    expect((await f.store.list({ bot: "snap-bot" })).map((m) => m.id)).toEqual([ids[3], ids[2]]);
    expect((await readdir(f.store.dir)).sort()).toEqual(
      [ids[2], ids[3]].flatMap((id) => [`${id}.json`, `${id}.tar`]).sort(),
    );
  });

  it("uses the archive path when the Engine is not reached over a local socket", async () => {
    const f = await fixture({ empty: true });
    const remote = new Docker({ host: "127.0.0.1", port: 9 });
    expect((await chooseSnapshotPath(remote, f.volume, "c", MOUNT)).kind).toBe("archive");
  });

  it("archive path refuses a bind-backed volume that a recreate cannot empty", async () => {
    const device = join(scratch, `bind-device-${counter}`);
    await mkdir(device);
    const f = await fixture({ empty: true, driverOpts: { type: "none", o: "bind", device } });
    await writeFile(join(device, "kept"), "bind-backed volumes keep their data when removed\n");
    // Such a volume is mounted at its Mountpoint only while a container runs: never read it directly.
    expect((await chooseSnapshotPath(docker, f.volume, f.container.id, MOUNT)).kind).toBe("archive");
    expect(await readdir(f.mountpoint)).toEqual([]);
    const m = await f.store.snapshotVolume({
      volume: f.volume,
      bot: "snap-bot",
      imageDigest: null,
      via: { kind: "archive", docker, container: f.container.id, mountPath: MOUNT },
    });
    await writeFile(join(device, ".a"), "written after the snapshot\n");
    await f.container.remove();
    await expect(
      f.store.restoreVolume(m.id, { kind: "archive", docker, carrierImage: image.pinned }),
    ).rejects.toThrow(VolumeNotEmptiedError);
    expect((await readdir(device)).sort()).toEqual([".a", "kept"]);
    const volume = await docker.getVolume(f.volume).inspect();
    expect(volume.Options).toEqual({ type: "none", o: "bind", device });
  });
});

describe("direct path with the data dir on another filesystem", () => {
  const other = () => join(scratch, "other-fs");
  let mounted = false;

  beforeAll(async () => {
    await mkdir(other());
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=64m", "tmpfs", other()]);
    mounted = true;
  });

  afterAll(() => {
    if (mounted) execFileSync("umount", [other()]);
  });

  it("cannot stage next to the volume, so it verifies, empties in place and extracts (a full snapshot and a pair)", async () => {
    const f = await fixture();
    const before = await treeManifest(f.mountpoint, { xattrs: true });
    const store = new SnapshotStore({ dataDir: other() });
    const m = await store.snapshotVolume({
      volume: f.volume,
      bot: "snap-bot",
      imageDigest: null,
      via: { kind: "mountpoint", path: f.mountpoint },
    });
    await vandalizeTree(f.mountpoint);
    await store.restoreVolume(m.id, { kind: "mountpoint", path: f.mountpoint });
    expect(await treeManifest(f.mountpoint, { xattrs: true })).toEqual(before);
    expect(await readdir(join(store.dir, ".restore"))).toEqual([]);
    await store.remove(m.id);

    // A pair the same way: level-0, then deletions, a renamed directory and an mtime set back.
    const via = { kind: "mountpoint", path: f.mountpoint } as const;
    const level0 = await store.precopyVolume({ volume: f.volume, bot: "snap-bot", imageDigest: null, via });
    await rm(join(f.mountpoint, "hard-a"));
    await rename(join(f.mountpoint, "nested"), join(f.mountpoint, "moved"));
    execFileSync("touch", ["-d", "2001-02-03", join(f.mountpoint, "secret")]);
    await writeFile(join(f.mountpoint, "secret"), "changed, mtime set back\n");
    execFileSync("touch", ["-d", "2001-02-03", join(f.mountpoint, "secret")]);
    const atStop = await treeManifest(f.mountpoint, { xattrs: true });
    const { manifest: pair } = await store.completeVolume(level0);
    expect(pair.level1).toBeDefined();
    await rm(join(f.mountpoint, "moved"), { recursive: true });
    await writeFile(join(f.mountpoint, ".a"), "left by a failed version\n");
    await store.restoreVolume(pair.id, via);
    expect(await treeManifest(f.mountpoint, { xattrs: true })).toEqual(atStop);
    await store.remove(pair.id);
  });

  it("falls back to restoring in place when the Mountpoint is a bind mount (renames cross mounts: EXDEV)", async () => {
    const source = join(scratch, "bind-source");
    const target = join(scratch, "bind-target");
    await mkdir(source);
    await mkdir(target);
    execFileSync("mount", ["--bind", source, target]);
    try {
      await createTrickyTree(target);
      const before = await treeManifest(target, { xattrs: true });
      const store = new SnapshotStore({ dataDir: join(scratch, "bind-data") });
      const m = await store.snapshotVolume({
        volume: "bind",
        bot: "snap-bot",
        imageDigest: null,
        via: { kind: "mountpoint", path: target },
      });
      await vandalizeTree(target);
      await store.restoreVolume(m.id, { kind: "mountpoint", path: target });
      expect(await treeManifest(target, { xattrs: true })).toEqual(before);
      await store.settled();
      expect(await readdir(join(store.dir, ".restore"))).toEqual([]);
    } finally {
      execFileSync("umount", [target]);
    }
  });
});

describe("space check on a 1 MiB tmpfs data dir", () => {
  const tmpfs = () => join(scratch, "tiny");
  let mounted = false;

  beforeAll(async () => {
    await mkdir(tmpfs());
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", tmpfs()]);
    mounted = true;
  });

  afterAll(() => {
    if (mounted) execFileSync("umount", [tmpfs()]);
  });

  it("throws InsufficientSpaceError before writing anything, on both paths", async () => {
    const f = await fixture({ empty: true });
    await writeSeededFile(join(f.mountpoint, "big.bin"), "space", 4 << 20);
    const store = new SnapshotStore({ dataDir: tmpfs() });
    // Both estimates see the 4 MiB (the archive path asks the Engine: GET /system/df).
    const archiveVia = { kind: "archive", docker, container: f.container.id, mountPath: MOUNT } as const;
    expect(await estimateVolumeBytes(archiveVia)).toBeGreaterThanOrEqual(4 << 20);
    expect(await estimateVolumeBytes({ kind: "mountpoint", path: f.mountpoint })).toBeGreaterThanOrEqual(
      4 << 20,
    );
    for (const via of [
      { kind: "mountpoint", path: f.mountpoint } as const,
      { kind: "archive", docker, container: f.container.id, mountPath: MOUNT } as const,
    ]) {
      const attempt = store.snapshotVolume({ volume: f.volume, bot: "snap-bot", imageDigest: null, via });
      await expect(attempt).rejects.toThrow(InsufficientSpaceError);
      await expect(attempt).rejects.toThrow(/needed .*available/);
      expect(await readdir(join(tmpfs(), "snapshots"))).toEqual([]);
    }
  });

  it("cleans up when the disk fills during the write despite a wrong estimate", async () => {
    const f = await fixture({ empty: true });
    await writeSeededFile(join(f.mountpoint, "big.bin"), "space", 4 << 20);
    const store = new SnapshotStore({ dataDir: tmpfs(), marginBytes: 0 });
    for (const via of [
      { kind: "mountpoint", path: f.mountpoint } as const,
      { kind: "archive", docker, container: f.container.id, mountPath: MOUNT } as const,
    ]) {
      await expect(
        store.snapshotVolume({
          volume: f.volume,
          bot: "snap-bot",
          imageDigest: null,
          via,
          estimatedBytes: 1,
        }),
      ).rejects.toThrow(DataDiskFullError);
      expect(await readdir(join(tmpfs(), "snapshots"))).toEqual([]);
    }
    const attempt = store.snapshotVolume({
      volume: f.volume,
      bot: "snap-bot",
      imageDigest: null,
      via: { kind: "mountpoint", path: f.mountpoint },
      estimatedBytes: 1,
    });
    await expect(attempt).rejects.toThrow(
      /^the disk of the agent's data dir is full \(ENOSPC\): writing a snapshot to .* failed after [\d.]+ [KM]iB \(\d+ bytes\) and the partial file was removed; free space on that disk/,
    );
    await expect(attempt).rejects.not.toThrow(/needed|available/);
  });
});
