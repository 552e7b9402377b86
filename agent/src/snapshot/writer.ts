import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { type FileHandle, mkdir, open, rename, rm, stat } from "node:fs/promises";
import { join, posix } from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { SnapshotCatalog } from "./catalog.ts";
import type { StoreContext } from "./context.ts";
import { DataDiskFullError, SnapshotFailedError } from "./errors.ts";
import { CREATE_FLAGS, runTar } from "./gnu-tar.ts";
import { newSnapshotId } from "./id.ts";
import { markWriting } from "./leftovers.ts";
import type { SnapshotManifest, VolumeSpec } from "./manifest.ts";
import { ensureSpaceIn, estimateVolumeBytes, type SpaceCheck, volumeAt } from "./space.ts";
import { TarFormatError, TarInspector } from "./tar-inspector.ts";
import type { ArchiveSnapshotVia, SnapshotRequest } from "./types.ts";

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

  private async write(request: SnapshotRequest, id: string, createdAt: Date): Promise<SnapshotManifest> {
    const { via } = request;
    const partial = join(this.ctx.dir, `${id}.tar.partial`);
    // Held open until the manifest is in place: another process's clean-up (see openSnapshotIds) then
    // sees this snapshot's files as in use under every name they take.
    const handle = await this.create(partial);
    try {
      const written = await this.writeTar(request, partial, this.catalog.tarPath(id), handle);
      const manifest: SnapshotManifest = {
        version: 1,
        id,
        volume: request.volume,
        bot: request.bot,
        imageDigest: request.imageDigest,
        createdAt: createdAt.toISOString(),
        bytes: written.bytes,
        sha256: written.sha256,
        entries: written.entries,
        method: via.kind,
        ...(via.kind === "archive" ? { mountPath: via.mountPath, volumeSpec: written.volumeSpec } : {}),
      };
      try {
        await this.ctx.phase("snapshot.manifest", () => this.catalog.writeManifest(manifest));
      } catch (error) {
        await rm(this.catalog.tarPath(id), { force: true });
        const code = diskFullCode(error);
        if (code) throw new DataDiskFullError(this.ctx.dir, written.bytes, code);
        throw error;
      }
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

  /** Writes the tar into `partial` and renames it to `tar`; removes it on any failure. */
  private async writeTar(
    request: SnapshotRequest,
    partial: string,
    tar: string,
    handle: FileHandle,
  ): Promise<Written & { volumeSpec?: VolumeSpec }> {
    const { via } = request;
    try {
      let written: Written & { volumeSpec?: VolumeSpec };
      if (via.kind === "mountpoint") {
        written = await this.ctx.phase("snapshot.write", () => this.tarDirectory(via.path, partial, handle));
      } else {
        const volumeSpec = await this.checkArchiveSource(request.volume, via);
        written = await this.ctx.phase("snapshot.write", () => this.readArchive(via, partial, handle));
        written.volumeSpec = volumeSpec;
      }
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

  private async tarDirectory(path: string, partial: string, syncHandle: FileHandle): Promise<Written> {
    const info = await stat(path).catch(() => undefined);
    if (!info?.isDirectory()) {
      throw new SnapshotFailedError(`volume Mountpoint ${path} is not a directory this agent can read`);
    }
    const tar = runTar(
      [...CREATE_FLAGS, "--file=-", "--directory", path, "."],
      `snapshot of ${path}`,
      this.ctx.tarCommand,
    );
    let written: Written;
    try {
      written = await this.writeArchive(tar.stdout, partial, syncHandle);
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
