import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { type FileHandle, mkdir, open, rename, rm, stat } from "node:fs/promises";
import { join, posix } from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { SnapshotCatalog } from "./catalog.ts";
import type { StoreContext } from "./context.ts";
import { DataDiskFullError, SnapshotFailedError } from "./errors.ts";
import { run } from "./exec.ts";
import { CREATE_FLAGS, runTar, type TarRunOptions } from "./gnu-tar.ts";
import { newSnapshotId } from "./id.ts";
import { markWriting } from "./leftovers.ts";
import { forgetMovedDirectories } from "./listing.ts";
import type { SnapshotManifest, VolumeSpec } from "./manifest.ts";
import { ensureSpaceIn, estimateVolumeBytes, type SpaceCheck, volumeAt } from "./space.ts";
import { TarFormatError, TarInspector } from "./tar-inspector.ts";
import type { ArchiveSnapshotVia, MountpointVia, SnapshotRequest } from "./types.ts";

/** While a snapshot is written, an fdatasync is started every this many bytes (durable stores only). */
const SYNC_EVERY = 64 << 20;

/** Error codes that mean the data dir's disk (or the quota on it) has no room left. */
const DISK_FULL = new Set(["ENOSPC", "EDQUOT"]);
const diskFullCode = (error: unknown): string | undefined => {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code && DISK_FULL.has(code) ? code : undefined;
};

interface Written {
  bytes: number;
  sha256: string;
  entries: number;
  firstEntry: string | undefined;
}

/** When a pair's level-1 is not worth it and a full snapshot is taken after the stop instead. */
export interface PairLimits {
  /** A level-0 that finished longer ago than this is dropped (the bot wrote for too long since). */
  maxLevel0AgeMs: number;
  /**
   * A level-1 that grows beyond this fraction of its level-0 is dropped; the space check of a pair
   * reserves the level-0's estimate times (1 + this).
   */
  maxLevel1Fraction: number;
}

export const DEFAULT_PAIR_LIMITS: PairLimits = { maxLevel0AgeMs: 300_000, maxLevel1Fraction: 0.5 };

/** The level-1 of a pair may always reach this, however small its level-0 (a few changed files' headers). */
const LEVEL1_FLOOR = 1 << 20;

/** A pair's level-0, waiting for its level-1: its tar is held open and marked as being written. */
interface Level0 {
  request: SnapshotRequest & { via: MountpointVia };
  level0At: Date;
  written: Written;
  finishedAt: number;
  handle: FileHandle;
  done: () => void;
}

/** What completeVolume made: the pair, or the full snapshot that replaced it and why. */
export interface Completed {
  manifest: SnapshotManifest;
  fallback?: string;
}

class Level1TooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`the level-1 grew beyond ${limit} bytes`);
  }
}

/** Takes snapshots: space check, tar stream into `<id>.tar.partial`, rename, manifest last. */
export class SnapshotWriter {
  constructor(
    private readonly ctx: StoreContext,
    private readonly catalog: SnapshotCatalog,
  ) {}

  /**
   * Removes what interrupted snapshots left (their space counts against the data dir too), then throws
   * InsufficientSpaceError unless the snapshots dir has `bytesNeeded` plus the margin free.
   */
  async ensureSpaceFor(bytesNeeded: number): Promise<SpaceCheck> {
    await this.catalog.removeIncomplete();
    return ensureSpaceIn(this.ctx.dir, bytesNeeded, this.ctx.marginBytes);
  }

  /**
   * Snapshots one volume while nothing writes to it (the bot's container must be stopped). Checks the
   * space first and throws InsufficientSpaceError before writing anything; throws DataDiskFullError when
   * the disk fills up while writing; on any failure no file of the snapshot is left behind.
   */
  async snapshotVolume(request: SnapshotRequest): Promise<SnapshotManifest> {
    const { via } = request;
    const estimate =
      request.estimatedBytes ?? (await this.ctx.phase("snapshot.estimate", () => estimateVolumeBytes(via)));
    await this.ensureSpaceFor(estimate);
    const createdAt = this.ctx.now();
    const id = newSnapshotId(request.bot, request.volume, createdAt);
    // Marked before its first file exists, so no clean-up ever sees this snapshot's files unmarked.
    const done = markWriting(this.ctx.dir, id);
    try {
      return await this.write(request, id, createdAt);
    } finally {
      done();
    }
  }

  /**
   * The first part of a pair: a level-0 of a Mountpoint volume WHILE the bot runs (it may be torn), read
   * at low I/O and CPU priority, with GNU tar's listing of what it saw, then syncs the volume's and the
   * store's filesystems. Reserves room for the level-1 in the space check. Returns the pair's id for
   * completeVolume or discard; on failure nothing is left.
   */
  async precopyVolume(request: SnapshotRequest, limits = DEFAULT_PAIR_LIMITS): Promise<string> {
    const { via } = request;
    if (via.kind !== "mountpoint") {
      throw new SnapshotFailedError(`volume ${request.volume}: only the Mountpoint path takes a level-0`);
    }
    const estimate =
      request.estimatedBytes ?? (await this.ctx.phase("snapshot.estimate", () => estimateVolumeBytes(via)));
    await this.ensureSpaceFor(estimate * (1 + limits.maxLevel1Fraction));
    const level0At = this.ctx.now();
    const id = newSnapshotId(request.bot, request.volume, level0At);
    const done = markWriting(this.ctx.dir, id);
    const partial = join(this.ctx.dir, `${id}.tar.partial`);
    let handle: FileHandle | undefined;
    try {
      handle = await this.create(partial);
      const syncHandle = handle;
      const written = await this.writeTar(partial, this.catalog.tarPath(id), handle, () =>
        this.ctx.phase("snapshot.level0", () =>
          this.tarDirectory(via.path, partial, syncHandle, {
            args: [`--listed-incremental=${this.catalog.listingPath(id)}`],
            lowPriority: true,
            changesExpected: true,
          }),
        ),
      );
      // Stopping a container syncs the Engine's filesystem (its rootfs overlay is unmounted), so whatever
      // is dirty on it then is written back inside the downtime: here, while the bot still serves, the
      // level-0's listing and rename and whatever the bot wrote during the level-0 go to disk instead.
      await this.ctx.phase("snapshot.flush", () =>
        run("sync", ["-f", via.path, this.ctx.dir], `flushing ${via.path} before the stop`),
      );
      this.level0s.set(id, {
        request: { ...request, via },
        level0At,
        written,
        finishedAt: Date.now(),
        handle,
        done,
      });
      return id;
    } catch (error) {
      await handle?.close();
      await this.dropFiles(id);
      done();
      throw error;
    }
  }

  /**
   * The second part, after the bot stopped: a level-1 of what changed since the level-0 began (new and
   * modified files by mtime and ctime, deletions and renames by directory listings), then the manifest of
   * the pair. Falls back to a full snapshot (dropping the level-0) when the level-0 is older than
   * `maxLevel0AgeMs`, the level-1 outgrows its limit, or the level-1 fails.
   */
  async completeVolume(id: string, limits = DEFAULT_PAIR_LIMITS): Promise<Completed> {
    const level0 = this.level0s.get(id);
    if (!level0) throw new SnapshotFailedError(`no level-0 ${id} is waiting in this process`);
    this.level0s.delete(id);
    let fallback: string;
    try {
      const age = Date.now() - level0.finishedAt;
      if (age > limits.maxLevel0AgeMs) {
        fallback = `the level-0 finished ${Math.round(age / 1000)}s before the stop`;
      } else {
        const limit = Math.max(LEVEL1_FLOOR, Math.ceil(level0.written.bytes * limits.maxLevel1Fraction));
        try {
          return { manifest: await this.writeLevel1(id, level0, limit) };
        } catch (error) {
          // Whatever failed, even a full disk: dropping the level-0 frees at least a full snapshot's room.
          fallback =
            error instanceof Level1TooLargeError
              ? `${error.message} (${limits.maxLevel1Fraction} of the level-0)`
              : `the level-1 failed: ${(error as Error).message}`;
        }
      }
      await this.dropFiles(id);
    } finally {
      await level0.handle.close();
      await rm(this.catalog.listingPath(id), { force: true });
      level0.done();
    }
    const { estimatedBytes: _, ...request } = level0.request;
    return { manifest: await this.snapshotVolume(request), fallback };
  }

  /** Drops a level-0 that will not be completed (the update ended before the stop); its files go. */
  async discard(id: string): Promise<void> {
    const level0 = this.level0s.get(id);
    this.level0s.delete(id);
    try {
      await this.dropFiles(id);
    } finally {
      await level0?.handle.close();
      level0?.done();
    }
  }

  private async dropFiles(id: string): Promise<void> {
    for (const path of [
      this.catalog.tarPath(id),
      this.catalog.level1Path(id),
      `${this.catalog.level1Path(id)}.partial`,
      this.catalog.listingPath(id),
    ])
      await rm(path, { force: true });
  }

  private async writeLevel1(id: string, level0: Level0, limit: number): Promise<SnapshotManifest> {
    const createdAt = this.ctx.now();
    const level1Path = this.catalog.level1Path(id);
    const partial = `${level1Path}.partial`;
    const listing = this.catalog.listingPath(id);
    const root = level0.request.via.path;
    const handle = await this.create(partial);
    try {
      const written = await this.writeTar(partial, level1Path, handle, () =>
        this.ctx.phase("snapshot.level1", async () => {
          await forgetMovedDirectories(listing, root);
          return this.tarDirectory(root, partial, handle, {
            args: [`--listed-incremental=${listing}`],
            limit,
          });
        }),
      );
      const { request } = level0;
      const manifest: SnapshotManifest = {
        ...manifestOf(request, id, createdAt, level0.written, "mountpoint"),
        level1: {
          bytes: written.bytes,
          sha256: written.sha256,
          entries: written.entries,
          level0At: level0.level0At.toISOString(),
        },
      };
      await this.putManifest(manifest, [level1Path], written.bytes);
      return manifest;
    } finally {
      await handle.close();
    }
  }

  /** Writes the manifest; on failure removes `tars` (their manifest will never exist). */
  private async putManifest(manifest: SnapshotManifest, tars: string[], bytes: number): Promise<void> {
    try {
      await this.ctx.phase("snapshot.manifest", () => this.catalog.writeManifest(manifest));
    } catch (error) {
      for (const tar of tars) await rm(tar, { force: true });
      const code = diskFullCode(error);
      if (code) throw new DataDiskFullError(this.ctx.dir, bytes, code);
      throw error;
    }
  }

  private readonly level0s = new Map<string, Level0>();

  private async write(request: SnapshotRequest, id: string, createdAt: Date): Promise<SnapshotManifest> {
    const { via } = request;
    const partial = join(this.ctx.dir, `${id}.tar.partial`);
    // Held open until the manifest is in place: another process's clean-up (see openSnapshotIds) then
    // sees this snapshot's files as in use under every name they take.
    const handle = await this.create(partial);
    try {
      const written = await this.writeTar(partial, this.catalog.tarPath(id), handle, () =>
        this.produce(request, partial, handle),
      );
      const manifest: SnapshotManifest = {
        ...manifestOf(request, id, createdAt, written, via.kind),
        ...(via.kind === "archive" ? { mountPath: via.mountPath, volumeSpec: written.volumeSpec } : {}),
      };
      await this.putManifest(manifest, [this.catalog.tarPath(id)], written.bytes);
      return manifest;
    } finally {
      await handle.close();
    }
  }

  private async create(partial: string): Promise<FileHandle> {
    try {
      await mkdir(this.ctx.dir, { recursive: true, mode: 0o700 });
      return await open(partial, "wx", 0o600);
    } catch (error) {
      const code = diskFullCode(error);
      if (code) throw new DataDiskFullError(this.ctx.dir, 0, code);
      throw error;
    }
  }

  /** The tar of a full snapshot, from the Mountpoint or the Engine archive API. */
  private async produce(
    request: SnapshotRequest,
    partial: string,
    handle: FileHandle,
  ): Promise<Written & { volumeSpec?: VolumeSpec }> {
    const { via } = request;
    if (via.kind === "mountpoint") {
      return this.ctx.phase("snapshot.write", () => this.tarDirectory(via.path, partial, handle));
    }
    const volumeSpec = await this.checkArchiveSource(request.volume, via);
    const written = await this.ctx.phase("snapshot.write", () => this.readArchive(via, partial, handle));
    return { ...written, volumeSpec };
  }

  /** Writes the tar into `partial` with `produce` and renames it to `tar`; removes it on any failure. */
  private async writeTar<W extends Written>(
    partial: string,
    tar: string,
    handle: FileHandle,
    produce: () => Promise<W>,
  ): Promise<W> {
    try {
      const written = await produce();
      await rename(partial, tar);
      return written;
    } catch (error) {
      const code = diskFullCode(error);
      const size = code ? (await handle.stat().catch(() => undefined))?.size : 0;
      await rm(partial, { force: true });
      if (code) throw new DataDiskFullError(this.ctx.dir, size ?? 0, code);
      throw error;
    }
  }

  /**
   * Streams `source` into `partial` through a sha256, a byte counter and the tar inspector (entry count
   * and completeness check): one pass, nothing buffered beyond stream chunks.
   */
  private async writeArchive(
    source: NodeJS.ReadableStream,
    partial: string,
    syncHandle: FileHandle,
    limit = Number.POSITIVE_INFINITY,
  ): Promise<Written> {
    // No await before the pipeline is attached: Node discards the unread output of a child process that
    // exits while nobody listens (flushStdio), which turned fast tars into empty files.
    const hash = createHash("sha256");
    const inspector = new TarInspector();
    const durable = this.ctx.durable;
    let bytes = 0;
    let flushedTo = 0;
    let flushing: Promise<void> | undefined;
    const tap = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        hash.update(chunk);
        bytes += chunk.length;
        if (bytes > limit) {
          callback(new Level1TooLargeError(limit));
          return;
        }
        try {
          inspector.write(chunk);
        } catch (error) {
          callback(error as Error);
          return;
        }
        // Start writeback early (fdatasync on a second descriptor, not awaited), so the disk works while
        // tar still reads and the final fsync has only the tail left to wait for.
        if (durable && !flushing && bytes - flushedTo >= SYNC_EVERY) {
          flushedTo = bytes;
          flushing = syncHandle
            .datasync()
            .catch(() => undefined)
            .finally(() => {
              flushing = undefined;
            });
        }
        callback(null, chunk);
      },
    });
    const out = createWriteStream(partial, { flags: "r+", highWaterMark: 1 << 20 });
    await pipeline(source, tap, out);
    await flushing;
    if (durable) await syncHandle.sync();
    const summary = inspector.finish();
    return { bytes, sha256: hash.digest("hex"), entries: summary.entries, firstEntry: summary.firstEntry };
  }

  private async tarDirectory(
    path: string,
    partial: string,
    syncHandle: FileHandle,
    options: Omit<TarRunOptions, "tarCommand"> & { args?: string[]; limit?: number } = {},
  ): Promise<Written> {
    const info = await stat(path).catch(() => undefined);
    if (!info?.isDirectory()) {
      throw new SnapshotFailedError(`volume Mountpoint ${path} is not a directory this agent can read`);
    }
    const { args = [], limit, ...tarOptions } = options;
    const tar = runTar(
      [...CREATE_FLAGS, ...args, "--file=-", "--directory", path, "."],
      `snapshot of ${path}`,
      { ...tarOptions, tarCommand: this.ctx.tarCommand },
    );
    let written: Written;
    try {
      written = await this.writeArchive(tar.stdout, partial, syncHandle, limit);
    } catch (error) {
      if (error instanceof TarFormatError) {
        // tar's own complaint explains a broken stream better than the stream does.
        await tar.done;
        throw new SnapshotFailedError(`tar of ${path} produced an unusable archive: ${error.message}`);
      }
      // Writing failed (ENOSPC, ...): stop tar and report the write error, not the kill.
      tar.kill();
      await tar.done.catch(() => undefined);
      throw error;
    }
    await tar.done;
    if (written.firstEntry !== "./") {
      throw new SnapshotFailedError(`tar of ${path} began with ${written.firstEntry}, not ./`);
    }
    return written;
  }

  /** The container must be stopped and mount `volume` at mountPath; returns the volume's spec. */
  private async checkArchiveSource(volume: string, via: ArchiveSnapshotVia): Promise<VolumeSpec> {
    const info = await via.docker.getContainer(via.container).inspect();
    if (info.State.Running || info.State.Paused || info.State.Restarting) {
      throw new SnapshotFailedError(
        `container ${via.container} is ${info.State.Status}; stop it before snapshotting its volumes`,
      );
    }
    const mounted = await volumeAt(via.docker, via.container, via.mountPath);
    if (mounted !== volume) {
      throw new SnapshotFailedError(
        `container ${via.container} mounts volume ${mounted} at ${via.mountPath}, not ${volume}`,
      );
    }
    const spec = await via.docker.getVolume(volume).inspect();
    return { driver: spec.Driver, options: spec.Options ?? {}, labels: spec.Labels ?? {} };
  }

  private async readArchive(
    via: ArchiveSnapshotVia,
    partial: string,
    syncHandle: FileHandle,
  ): Promise<Written> {
    let written: Written;
    try {
      const stream = await via.docker.getContainer(via.container).getArchive({ path: via.mountPath });
      written = await this.writeArchive(stream, partial, syncHandle);
    } catch (error) {
      if (error instanceof TarFormatError) {
        throw new SnapshotFailedError(
          `the Engine's archive of ${via.mountPath} is unusable: ${error.message}`,
        );
      }
      throw error;
    }
    const top = `${posix.basename(via.mountPath)}/`;
    if (written.firstEntry !== top) {
      throw new SnapshotFailedError(
        `the Engine's archive of ${via.mountPath} began with ${written.firstEntry}, not ${top}; ` +
          "is the mount path a directory?",
      );
    }
    return written;
  }
}

/** What every manifest says: the request, and the tar (the only one, or a pair's level-0). */
function manifestOf(
  request: SnapshotRequest,
  id: string,
  createdAt: Date,
  tar: { bytes: number; sha256: string; entries: number },
  method: SnapshotManifest["method"],
): SnapshotManifest {
  return {
    version: 1,
    id,
    volume: request.volume,
    bot: request.bot,
    imageDigest: request.imageDigest,
    createdAt: createdAt.toISOString(),
    bytes: tar.bytes,
    sha256: tar.sha256,
    entries: tar.entries,
    method,
  };
}
