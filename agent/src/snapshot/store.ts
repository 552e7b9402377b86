import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { constants, createReadStream, createWriteStream } from "node:fs";
import {
  access,
  type FileHandle,
  mkdir,
  mkdtemp,
  open,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  statfs,
  unlink,
} from "node:fs/promises";
import { dirname, join, posix } from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import type Dockerode from "dockerode";
import {
  InsufficientSpaceError,
  SnapshotCorruptError,
  SnapshotFailedError,
  SnapshotMethodMismatchError,
  SnapshotNotFoundError,
  VolumeInUseError,
  VolumeNotEmptiedError,
} from "./errors.ts";
import { CREATE_FLAGS, EXTRACT_FLAGS, runTar } from "./gnu-tar.ts";
import { assertValidSnapshotId, newSnapshotId } from "./id.ts";
import { type SnapshotManifest, snapshotManifestSchema, type VolumeSpec } from "./manifest.ts";
import { chooseRestoreArea, RESTORE_PREFIX } from "./restore-area.ts";
import { ensureSpaceIn, estimateVolumeBytes, type SpaceCheck, volumeAt } from "./space.ts";
import { TarFormatError, TarInspector } from "./tar-inspector.ts";
import type {
  ArchiveRestoreVia,
  ArchiveSnapshotVia,
  RestoreVia,
  SnapshotRequest,
  SnapshotVia,
} from "./types.ts";

export interface SnapshotStoreOptions {
  /** The agent's data dir; snapshots live in `<dataDir>/snapshots`. */
  dataDir: string;
  /** Free space that must remain after a snapshot, on top of its estimate. Default 16 MiB. */
  marginBytes?: number;
  /**
   * fsync the tar, the manifest and the directory, and syncfs the volume after a direct restore, so a
   * manifest that exists after a crash describes a tar that is on disk. Default true; off only in benchmarks.
   */
  durable?: boolean;
  /** GNU tar to run; default `tar` from PATH. */
  tarCommand?: string;
  now?: () => Date;
  /** Called with the duration of each phase (e.g. `restore.stage`), for timings and benchmarks. */
  onPhase?: (phase: string, seconds: number) => void;
}

const DEFAULT_MARGIN = 16 << 20;
/** While a snapshot is written, an fdatasync is started every this many bytes (durable stores only). */
const SYNC_EVERY = 64 << 20;
/** Work area of direct restores inside the snapshots dir: staging and trash directories. */
const RESTORE_AREA = ".restore";
/** Label on the never-started containers that carry a tar into a recreated volume. */
export const CARRIER_LABEL = "fleetwave.snapshot-carrier";

const statusOf = (error: unknown) => (error as { statusCode?: number }).statusCode;

async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Runs a program (no shell) and rejects with its stderr when it fails. */
function run(command: string, args: readonly string[], what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (text: string) => {
      stderr = (stderr + text).slice(-4096);
    });
    child.once("error", (error) => reject(new SnapshotFailedError(`${what}: ${error.message}`)));
    child.once("close", (code) =>
      code === 0
        ? resolve()
        : reject(new SnapshotFailedError(`${what}: ${command} exited ${code}: ${stderr}`)),
    );
  });
}

/**
 * Deletes every entry inside `dir`, dotfiles such as `.a` and `..b` included, and keeps `dir` itself (it is
 * the volume). The names come from readdir and go to `rm -rf --` as arguments, never through a shell glob;
 * coreutils rm is several times faster than fs.rm's recursive walk on many small files.
 */
export async function emptyDirectory(dir: string): Promise<void> {
  const paths = (await readdir(dir)).map((name) => join(dir, name));
  for (let i = 0; i < paths.length; i += 1000) {
    await run("rm", ["-rf", "--", ...paths.slice(i, i + 1000)], `emptying ${dir}`);
  }
  const left = await readdir(dir);
  if (left.length > 0) {
    throw new SnapshotFailedError(`could not empty ${dir}: ${left.slice(0, 5).join(", ")} remained`);
  }
}

/** Names of the containers (any state) that reference a volume. */
async function containersUsing(docker: Dockerode, volume: string): Promise<string[]> {
  const containers = await docker.listContainers({ all: true, filters: { volume: [volume] } });
  return containers.map((c) => c.Names[0]?.replace(/^\//, "") ?? c.Id.slice(0, 12));
}

/**
 * Volume snapshots in `<dataDir>/snapshots`: `<id>.tar` plus `<id>.json`. The manifest is written last
 * (temp file, fsync, rename), so a manifest's existence means its tar is complete.
 */
export class SnapshotStore {
  readonly dir: string;
  private readonly marginBytes: number;
  private readonly durable: boolean;
  private readonly tarCommand: string;
  private readonly now: () => Date;
  private readonly purges = new Set<Promise<unknown>>();
  private readonly onPhase: ((phase: string, seconds: number) => void) | undefined;

  constructor(options: SnapshotStoreOptions) {
    this.dir = join(options.dataDir, "snapshots");
    this.marginBytes = options.marginBytes ?? DEFAULT_MARGIN;
    this.durable = options.durable ?? true;
    this.tarCommand = options.tarCommand ?? "tar";
    this.now = options.now ?? (() => new Date());
    this.onPhase = options.onPhase;
  }

  tarPath(id: string): string {
    assertValidSnapshotId(id);
    return join(this.dir, `${id}.tar`);
  }

  manifestPath(id: string): string {
    assertValidSnapshotId(id);
    return join(this.dir, `${id}.json`);
  }

  /** Throws InsufficientSpaceError unless the snapshots dir has `bytesNeeded` plus the margin free. */
  ensureSpaceFor(bytesNeeded: number): Promise<SpaceCheck> {
    return ensureSpaceIn(this.dir, bytesNeeded, this.marginBytes);
  }

  /**
   * Snapshots one volume while nothing writes to it (the bot's container must be stopped). Checks the
   * space first and throws InsufficientSpaceError before writing anything; on any failure no file of the
   * snapshot is left behind.
   */
  async snapshotVolume(request: SnapshotRequest): Promise<SnapshotManifest> {
    const { via } = request;
    const estimate =
      request.estimatedBytes ?? (await this.phase("snapshot.estimate", () => estimateVolumeBytes(via)));
    const space = await this.ensureSpaceFor(estimate);
    const createdAt = this.now();
    const id = newSnapshotId(request.bot, request.volume, createdAt);
    const partial = join(this.dir, `${id}.tar.partial`);
    let written: { bytes: number; sha256: string; entries: number };
    let volumeSpec: VolumeSpec | undefined;
    try {
      if (via.kind === "mountpoint") {
        written = await this.phase("snapshot.write", () => this.tarDirectory(via.path, partial));
      } else {
        volumeSpec = await this.checkArchiveSource(request.volume, via);
        written = await this.phase("snapshot.write", () => this.readArchive(via, partial));
      }
      await rename(partial, this.tarPath(id));
    } catch (error) {
      await rm(partial, { force: true });
      if ((error as NodeJS.ErrnoException).code === "ENOSPC") {
        throw new InsufficientSpaceError(this.dir, space.neededBytes, space.availableBytes);
      }
      throw error;
    }
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
      ...(via.kind === "archive" ? { mountPath: via.mountPath, volumeSpec } : {}),
    };
    try {
      await this.phase("snapshot.manifest", () => this.writeManifest(manifest));
    } catch (error) {
      await rm(this.tarPath(id), { force: true });
      throw error;
    }
    return manifest;
  }

  /**
   * Restores a volume exactly as it was snapshotted: verifies the tar's size and sha256 (throws
   * SnapshotCorruptError, volume untouched), empties the volume completely, extracts.
   *
   * - mountpoint: deletes every entry inside the Mountpoint (dotfiles included) but keeps the directory,
   *   then GNU tar restores contents, owners, modes (the root's too, from `./`), xattrs and ACLs.
   * - archive: the volume must be referenced by NO container (VolumeInUseError otherwise); it is removed,
   *   recreated with the same driver, options and labels, proven empty, and the tar is PUT at the parent
   *   of mountPath through a never-started carrier container, which is removed afterwards.
   */
  async restoreVolume(id: string, via: RestoreVia): Promise<SnapshotManifest> {
    const manifest = await this.require(id);
    if (manifest.method !== via.kind) throw new SnapshotMethodMismatchError(id, manifest.method, via.kind);
    if (via.kind === "mountpoint") {
      await this.restoreDirectory(manifest, via.path);
    } else {
      await this.phase("restore.verify", () => this.verify(manifest));
      await this.phase("restore.engine", () => this.restoreThroughEngine(manifest, via));
    }
    return manifest;
  }

  /** Checks the tar's size and sha256 against its manifest; throws SnapshotCorruptError when they differ. */
  async verify(idOrManifest: string | SnapshotManifest): Promise<SnapshotManifest> {
    const manifest = typeof idOrManifest === "string" ? await this.require(idOrManifest) : idOrManifest;
    await this.checkSize(manifest);
    await this.hashTar(manifest);
    return manifest;
  }

  private async checkSize(manifest: SnapshotManifest): Promise<void> {
    const path = this.tarPath(manifest.id);
    const info = await stat(path).catch(() => undefined);
    if (!info) throw new SnapshotCorruptError(manifest.id, `its tar file ${path} is missing`);
    if (info.size !== manifest.bytes) {
      throw new SnapshotCorruptError(
        manifest.id,
        `${path} has ${info.size} bytes, its manifest says ${manifest.bytes}`,
      );
    }
  }

  /** Resolves true when the tar's sha256 matches the manifest; throws SnapshotCorruptError otherwise. */
  private async hashTar(manifest: SnapshotManifest): Promise<true> {
    const path = this.tarPath(manifest.id);
    const hash = createHash("sha256");
    await pipeline(createReadStream(path, { highWaterMark: 4 << 20 }), async (source) => {
      for await (const chunk of source) hash.update(chunk as Buffer);
    });
    const actual = hash.digest("hex");
    if (actual !== manifest.sha256) {
      throw new SnapshotCorruptError(
        manifest.id,
        `sha256 of ${path} is ${actual}, its manifest says ${manifest.sha256}`,
      );
    }
    return true;
  }

  /** The manifest, or undefined when there is none; SnapshotCorruptError when it is unreadable. */
  async get(id: string): Promise<SnapshotManifest | undefined> {
    const path = this.manifestPath(id);
    let text: string;
    try {
      text = await readFile(path, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new SnapshotCorruptError(id, `its manifest ${path} is not JSON`);
    }
    const parsed = snapshotManifestSchema.safeParse(json);
    if (!parsed.success || parsed.data.id !== id) {
      throw new SnapshotCorruptError(id, `its manifest ${path} does not describe snapshot ${id}`);
    }
    return parsed.data;
  }

  /** Complete snapshots, newest first; manifests that cannot be read are skipped. */
  async list(filter: { bot?: string; volume?: string } = {}): Promise<SnapshotManifest[]> {
    const names = await readdir(this.dir).catch((error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") return [];
      throw error;
    });
    const manifests: SnapshotManifest[] = [];
    for (const name of names) {
      if (!name.endsWith(".json")) continue;
      const id = name.slice(0, -".json".length);
      const manifest = await this.get(id).catch(() => undefined);
      if (!manifest) continue;
      if (filter.bot !== undefined && manifest.bot !== filter.bot) continue;
      if (filter.volume !== undefined && manifest.volume !== filter.volume) continue;
      manifests.push(manifest);
    }
    return manifests.sort(
      (a, b) => b.createdAt.localeCompare(a.createdAt) || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0),
    );
  }

  /** Deletes a snapshot (manifest first, so no manifest ever points at a missing tar). False if absent. */
  async remove(id: string): Promise<boolean> {
    const manifestPath = this.manifestPath(id);
    const tarPath = this.tarPath(id);
    let existed = true;
    await unlink(manifestPath).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== "ENOENT") throw error;
      existed = false;
    });
    await rm(tarPath, { force: true });
    if (this.durable && existed) await fsyncPath(this.dir);
    return existed;
  }

  /** Keeps the newest `keep` snapshots of one bot's volume and removes the rest; returns the removed ids. */
  async prune(options: { bot: string; volume: string; keep: number }): Promise<string[]> {
    if (!Number.isInteger(options.keep) || options.keep < 0) {
      throw new RangeError(`keep must be a whole number of snapshots, got ${options.keep}`);
    }
    const all = await this.list({ bot: options.bot, volume: options.volume });
    const doomed = all.slice(options.keep).map((m) => m.id);
    for (const id of doomed) await this.remove(id);
    return doomed;
  }

  /**
   * Removes what an interrupted snapshot left: `*.partial`, `*.json.tmp`, and tars without a manifest.
   * Call it when the agent starts, before any snapshot is taken. Returns the removed file names.
   */
  async cleanIncomplete(): Promise<string[]> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    const manifests = new Set(names.filter((n) => n.endsWith(".json")).map((n) => n.slice(0, -5)));
    const removed = names.filter(
      (n) =>
        n.endsWith(".tar.partial") ||
        n.endsWith(".json.tmp") ||
        (n.endsWith(".tar") && !manifests.has(n.slice(0, -4))),
    );
    for (const name of removed) await rm(join(this.dir, name), { force: true });
    // Staging and trash directories of direct restores (none is in use while nothing is restoring).
    await this.settled();
    const area = join(this.dir, RESTORE_AREA);
    const leftovers = await readdir(area).catch(() => [] as string[]);
    if (leftovers.length > 0)
      await run("rm", ["-rf", "--", ...leftovers.map((n) => join(area, n))], "cleanup");
    return [...removed, ...leftovers.map((n) => `${RESTORE_AREA}/${n}`)];
  }

  // ---- internals ----

  private async phase<T>(name: string, step: () => Promise<T>): Promise<T> {
    if (!this.onPhase) return step();
    const start = performance.now();
    try {
      return await step();
    } finally {
      this.onPhase(name, (performance.now() - start) / 1000);
    }
  }

  private async require(id: string): Promise<SnapshotManifest> {
    const manifest = await this.get(id);
    if (!manifest) throw new SnapshotNotFoundError(id, this.dir);
    return manifest;
  }

  private async writeManifest(manifest: SnapshotManifest): Promise<void> {
    const path = this.manifestPath(manifest.id);
    const tmp = `${path}.tmp`;
    const handle = await open(tmp, "wx", 0o600);
    try {
      await handle.writeFile(`${JSON.stringify(manifest, null, 2)}\n`);
      if (this.durable) await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await rename(tmp, path);
      if (this.durable) await fsyncPath(this.dir);
    } catch (error) {
      await rm(tmp, { force: true });
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
  ): Promise<{ bytes: number; sha256: string; entries: number; firstEntry: string | undefined }> {
    // No await before the pipeline is attached: Node discards the unread output of a child process that
    // exits while nobody listens (flushStdio), which turned fast tars into empty files.
    const hash = createHash("sha256");
    const inspector = new TarInspector();
    const durable = this.durable;
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

  private async tarDirectory(path: string, partial: string) {
    const info = await stat(path).catch(() => undefined);
    if (!info?.isDirectory()) {
      throw new SnapshotFailedError(`volume Mountpoint ${path} is not a directory this agent can read`);
    }
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const syncHandle = await open(partial, "wx", 0o600);
    let written: Awaited<ReturnType<SnapshotStore["writeArchive"]>>;
    try {
      const tar = runTar(
        [...CREATE_FLAGS, "--file=-", "--directory", path, "."],
        `snapshot of ${path}`,
        this.tarCommand,
      );
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
    } finally {
      await syncHandle.close();
    }
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

  private async readArchive(via: ArchiveSnapshotVia, partial: string) {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const syncHandle = await open(partial, "wx", 0o600);
    let written: Awaited<ReturnType<SnapshotStore["writeArchive"]>>;
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
    } finally {
      await syncHandle.close();
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

  /**
   * The direct restore. When a work area is on the volume's own mount (see chooseRestoreArea), the tar is
   * hashed and extracted into a staging directory there at the same time (the hash on one core, tar on
   * the other); only once the sha256 matched are the volume's old entries moved out and the staged ones moved
   * in (renames), the root's own mode, owner, xattrs and ACLs applied from the `./` entry, and the old
   * entries deleted in the background. Otherwise (another filesystem, a bind mount, no room to stage):
   * verify, delete every entry in place, extract.
   */
  private async restoreDirectory(manifest: SnapshotManifest, path: string): Promise<void> {
    const info = await stat(path).catch(() => undefined);
    if (!info?.isDirectory()) {
      throw new SnapshotFailedError(`volume Mountpoint ${path} is not a directory; nothing was restored`);
    }
    const staging = await this.phase("restore.stage", () => this.stage(manifest, path));
    const leftovers =
      staging && (await this.phase("restore.swap", () => this.swapIn(manifest, path, staging)));
    if (!leftovers) {
      if (!staging) await this.phase("restore.verify", () => this.verify(manifest));
      await this.phase("restore.empty", () => emptyDirectory(path));
      await this.phase("restore.extract", () => this.extract(manifest, path, []));
    }
    if (this.durable) {
      await this.phase("restore.sync", () => run("sync", ["--file-system", path], `sync of ${path}`));
    }
    // Only now, so the sync does not also wait for the deletion's own writes.
    if (leftovers) this.purgeInBackground(...leftovers);
  }

  /** GNU tar extraction of the snapshot into `dir`, optionally limited by extra arguments. */
  private extract(manifest: SnapshotManifest, dir: string, extra: readonly string[]): Promise<void> {
    const tar = runTar(
      [...EXTRACT_FLAGS, `--file=${this.tarPath(manifest.id)}`, "--directory", dir, ...extra],
      `restore of snapshot ${manifest.id} into ${dir}`,
      this.tarCommand,
    );
    tar.stdout.resume();
    return tar.done;
  }

  /**
   * Hashes the tar while extracting it into a fresh staging directory on the volume's mount (see
   * chooseRestoreArea). Throws SnapshotCorruptError (staging removed, volume untouched) on a mismatch;
   * returns undefined when there is no such place, too little room there, or staging failed for another
   * reason, so the caller restores in place.
   */
  private async stage(manifest: SnapshotManifest, path: string): Promise<string | undefined> {
    const ownArea = join(this.dir, RESTORE_AREA);
    await mkdir(ownArea, { recursive: true, mode: 0o700 });
    const area = await chooseRestoreArea(path, ownArea);
    if (!area) return undefined;
    if (area !== ownArea) {
      // The volume's own directory: whatever an interrupted restore of this volume left there goes now.
      const leftovers = (await readdir(area)).filter((n) => n.startsWith(RESTORE_PREFIX));
      if (leftovers.length > 0)
        await run("rm", ["-rf", "--", ...leftovers.map((n) => join(area, n))], "cleanup");
    }
    const fs = await statfs(area, { bigint: true });
    if (Number(fs.bavail * fs.bsize) < manifest.bytes + this.marginBytes) return undefined;
    await this.checkSize(manifest);
    const staging = await mkdtemp(join(area, `${RESTORE_PREFIX}${manifest.id}-stage-`));
    const [hashed, extracted] = await Promise.allSettled([
      this.hashTar(manifest),
      this.extract(manifest, staging, []),
    ]);
    const verified = hashed.status === "fulfilled" ? hashed.value : undefined;
    if (!(verified && extracted.status === "fulfilled")) await run("rm", ["-rf", "--", staging], "cleanup");
    if (hashed.status === "rejected") throw hashed.reason;
    return extracted.status === "fulfilled" ? staging : undefined;
  }

  /**
   * Moves the volume's entries out to a trash directory beside the staging one and the staged entries in,
   * and returns the directories left to delete; false (nothing moved) when the very first rename fails
   * with EXDEV (e.g. differing ext4 project ids).
   */
  private async swapIn(manifest: SnapshotManifest, path: string, staging: string): Promise<string[] | false> {
    const trash = await mkdtemp(join(dirname(staging), `${RESTORE_PREFIX}${manifest.id}-trash-`));
    const moves = [
      ...(await readdir(path)).map((name) => [join(path, name), join(trash, name)] as const),
      ...(await readdir(staging)).map((name) => [join(staging, name), join(path, name)] as const),
    ];
    let moved = 0;
    for (const [from, to] of moves) {
      try {
        await rename(from, to);
      } catch (error) {
        if (moved > 0 || (error as NodeJS.ErrnoException).code !== "EXDEV") throw error;
        this.purgeInBackground(staging, trash);
        return false;
      }
      moved += 1;
    }
    // The volume root itself: only the `./` entry, which is the first.
    await this.extract(manifest, path, ["--no-recursion", "--occurrence=1", "./"]);
    return [staging, trash];
  }

  private purgeInBackground(...dirs: string[]): void {
    const purge = run("rm", ["-rf", "--", ...dirs], "deleting a volume's previous contents").catch(
      () => undefined,
    );
    this.purges.add(purge);
    void purge.finally(() => this.purges.delete(purge));
  }

  /**
   * Resolves once the previous contents that direct restores moved aside are deleted (they are deleted in
   * the background so the bot can start sooner). Anything left by a crash goes with cleanIncomplete().
   */
  async settled(): Promise<void> {
    while (this.purges.size > 0) await Promise.all([...this.purges]);
  }

  private async restoreThroughEngine(manifest: SnapshotManifest, via: ArchiveRestoreVia): Promise<void> {
    const { docker } = via;
    const volume = manifest.volume;
    const snapshotPath = manifest.mountPath!;
    const mountPath = via.mountPath ?? snapshotPath;
    if (posix.basename(mountPath) !== posix.basename(snapshotPath)) {
      throw new SnapshotFailedError(
        `snapshot ${manifest.id} holds ${posix.basename(snapshotPath)}/ and cannot be put at ${mountPath}`,
      );
    }
    await this.removeCarriers(docker, volume);

    const current = await docker
      .getVolume(volume)
      .inspect()
      .catch((error: unknown) => {
        if (statusOf(error) === 404) return undefined;
        throw error;
      });
    const spec: VolumeSpec = current
      ? { driver: current.Driver, options: current.Options ?? {}, labels: current.Labels ?? {} }
      : (manifest.volumeSpec ?? { driver: "local", options: {}, labels: {} });
    if (current) {
      const users = await containersUsing(docker, volume);
      if (users.length > 0) throw new VolumeInUseError(volume, users);
      try {
        await docker.getVolume(volume).remove();
      } catch (error) {
        if (statusOf(error) === 409)
          throw new VolumeInUseError(volume, await containersUsing(docker, volume));
        if (statusOf(error) !== 404) throw error;
      }
    }
    await docker.createVolume({
      Name: volume,
      Driver: spec.driver,
      DriverOpts: spec.options,
      Labels: spec.labels,
    });

    const mount = { Type: "volume", Source: volume, Target: mountPath, VolumeOptions: { NoCopy: true } };
    const carrier = await docker.createContainer({
      name: `fleetwave-restore-${manifest.id}`.slice(0, 128),
      Image: via.carrierImage,
      // Never started: the entrypoint only satisfies the Engine's "no command specified" check.
      Entrypoint: ["/fleetwave-restore-carrier-is-never-started"],
      Cmd: [],
      Labels: { [CARRIER_LABEL]: volume, "fleetwave.snapshot": manifest.id },
      NetworkDisabled: true,
      HostConfig: { NetworkMode: "none", Mounts: [mount as Dockerode.MountSettings] },
    });
    try {
      await this.assertCarrierVolumeEmpty(carrier, mountPath, volume, spec.driver);
      const response = await carrier.putArchive(createReadStream(this.tarPath(manifest.id)), {
        path: posix.dirname(mountPath),
      });
      (response as NodeJS.ReadableStream | undefined)?.resume?.();
    } finally {
      await carrier.remove({ force: true, v: false });
    }
  }

  /** A recreated volume must be empty; bind- or NFS-backed local volumes keep their data on removal. */
  private async assertCarrierVolumeEmpty(
    carrier: Dockerode.Container,
    mountPath: string,
    volume: string,
    driver: string,
  ): Promise<void> {
    const stream = await carrier.getArchive({ path: mountPath });
    const inspector = new TarInspector();
    let entries = 0;
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      inspector.write(chunk);
      entries = inspector.peekEntries();
      if (entries > 1) break;
    }
    if (entries > 1) {
      (stream as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
      throw new VolumeNotEmptiedError(volume, driver);
    }
  }

  private async removeCarriers(docker: Dockerode, volume: string): Promise<void> {
    const leftovers = await docker.listContainers({
      all: true,
      filters: { label: [`${CARRIER_LABEL}=${volume}`] },
    });
    for (const c of leftovers) {
      await docker
        .getContainer(c.Id)
        .remove({ force: true, v: false })
        .catch((error: unknown) => {
          if (statusOf(error) !== 404) throw error;
        });
    }
  }
}

/**
 * Which snapshot path to use for a volume: the Mountpoint when this process can read and write it (the
 * agent runs as root on the Docker host and talks to the local Engine over its Unix socket), else the
 * Engine archive API on `container` (which must be stopped when the snapshot is taken).
 *
 * A Mountpoint is only trusted for a plain `local` volume (no driver options) of an Engine reached over
 * a Unix socket: through tcp:// or ssh:// the same path on this machine would be another machine's
 * directory, and a local volume with options is only mounted at its Mountpoint while a container runs.
 */
export async function chooseSnapshotPath(
  docker: Dockerode,
  volumeName: string,
  container: string,
  mountPath: string,
): Promise<SnapshotVia> {
  const archive: SnapshotVia = { kind: "archive", docker, container, mountPath };
  const modem = docker.modem as { socketPath?: unknown };
  if (typeof modem.socketPath !== "string" || modem.socketPath === "") return archive;
  const info = await docker.getVolume(volumeName).inspect();
  // Only a plain local volume keeps its data in the Mountpoint directory. A local volume with options
  // (type=none o=bind, tmpfs, nfs, ...) is mounted there only while a container uses it, so a stopped
  // bot's Mountpoint is an empty directory; other drivers' Mountpoints mean nothing on this host.
  if (info.Driver !== "local" || Object.keys(info.Options ?? {}).length > 0 || !info.Mountpoint)
    return archive;
  try {
    await access(info.Mountpoint, constants.R_OK | constants.W_OK);
    if (!(await stat(info.Mountpoint)).isDirectory()) return archive;
  } catch {
    return archive;
  }
  return { kind: "mountpoint", path: info.Mountpoint };
}
