import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { open, readdir, readFile, rename, rm, stat, unlink } from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import type { StoreContext } from "./context.ts";
import { SnapshotCorruptError, SnapshotNotFoundError } from "./errors.ts";
import { fsyncPath } from "./exec.ts";
import { assertValidSnapshotId } from "./id.ts";
import {
  findLeftovers,
  isWriting,
  LEVEL1_SUFFIX,
  type Leftover,
  type LeftoverKind,
  LISTING_SUFFIX,
} from "./leftovers.ts";
import { type SnapshotManifest, snapshotManifestSchema } from "./manifest.ts";
import { openSnapshotIds } from "./open-files.ts";

/** A file an interrupted snapshot left behind (see findLeftovers). */
export interface IncompleteFile {
  name: string;
  kind: LeftoverKind;
  bytes: number;
  modifiedAt: string;
  /** A snapshot this process or another one is writing right now: never removed. */
  inUse: boolean;
}

const notFound = (error: unknown) => (error as NodeJS.ErrnoException).code === "ENOENT";

/**
 * The files of `<dataDir>/snapshots`: `<id>.tar` plus `<id>.json`. The manifest is written last (temp
 * file, fsync, rename), so a manifest's existence means its tar is complete.
 */
export class SnapshotCatalog {
  constructor(private readonly ctx: StoreContext) {}

  get dir(): string {
    return this.ctx.dir;
  }

  tarPath(id: string): string {
    assertValidSnapshotId(id);
    return join(this.ctx.dir, `${id}.tar`);
  }

  manifestPath(id: string): string {
    assertValidSnapshotId(id);
    return join(this.ctx.dir, `${id}.json`);
  }

  /** A pair's level-1 tar. */
  level1Path(id: string): string {
    assertValidSnapshotId(id);
    return join(this.ctx.dir, `${id}${LEVEL1_SUFFIX}`);
  }

  /** GNU tar's listing (snapshot file) between a pair's level-0 and level-1. */
  listingPath(id: string): string {
    assertValidSnapshotId(id);
    return join(this.ctx.dir, `${id}${LISTING_SUFFIX}`);
  }

  /** The tar files of a snapshot in restore order, each with what its manifest says of it. */
  parts(manifest: SnapshotManifest): { path: string; bytes: number; sha256: string }[] {
    const level0 = { path: this.tarPath(manifest.id), bytes: manifest.bytes, sha256: manifest.sha256 };
    if (!manifest.level1) return [level0];
    const { bytes, sha256 } = manifest.level1;
    return [level0, { path: this.level1Path(manifest.id), bytes, sha256 }];
  }

  /** The manifest, or undefined when there is none; SnapshotCorruptError when it is unreadable. */
  async get(id: string): Promise<SnapshotManifest | undefined> {
    const path = this.manifestPath(id);
    let text: string;
    try {
      text = await readFile(path, "utf8");
    } catch (error) {
      if (notFound(error)) return undefined;
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

  async require(id: string): Promise<SnapshotManifest> {
    const manifest = await this.get(id);
    if (!manifest) throw new SnapshotNotFoundError(id, this.ctx.dir);
    return manifest;
  }

  private async names(): Promise<string[]> {
    return readdir(this.ctx.dir).catch((error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") return [];
      throw error;
    });
  }

  /** Complete snapshots, newest first; manifests that cannot be read are skipped. */
  async list(filter: { bot?: string; volume?: string } = {}): Promise<SnapshotManifest[]> {
    const manifests: SnapshotManifest[] = [];
    for (const name of await this.names()) {
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
    await rm(this.level1Path(id), { force: true });
    await rm(this.listingPath(id), { force: true });
    if (this.ctx.durable && existed) await fsyncPath(this.ctx.dir);
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
   * The leftovers in the snapshots dir, each with whether its snapshot is being written right now: by this
   * process (markWriting) or another one (openSnapshotIds).
   */
  private async leftovers(): Promise<(Leftover & { inUse: boolean })[]> {
    const found = findLeftovers(await this.names());
    const elsewhere = await openSnapshotIds(
      new Set(found.filter((l) => !isWriting(this.ctx.dir, l.id)).map((l) => l.id)),
    );
    return found.map((l) => ({ ...l, inUse: isWriting(this.ctx.dir, l.id) || elsewhere.has(l.id) }));
  }

  /** What interrupted snapshots left (`*.tar.partial`, `*.json.tmp`, tars without a manifest), by name. */
  async incomplete(): Promise<IncompleteFile[]> {
    const files: IncompleteFile[] = [];
    for (const leftover of await this.leftovers()) {
      const info = await stat(join(this.ctx.dir, leftover.name)).catch(() => undefined);
      if (!info) continue; // finished or removed meanwhile
      files.push({
        name: leftover.name,
        kind: leftover.kind,
        bytes: info.size,
        modifiedAt: info.mtime.toISOString(),
        inUse: leftover.inUse,
      });
    }
    return files;
  }

  /** Removes what interrupted snapshots left, never a snapshot being written. Returns the removed names. */
  async removeIncomplete(): Promise<string[]> {
    const removed: string[] = [];
    for (const leftover of await this.leftovers()) {
      // Asked again at the last moment: this process may have begun writing it meanwhile.
      if (leftover.inUse || isWriting(this.ctx.dir, leftover.id)) continue;
      // The listing is older than the open-file check: another process may have finished this
      // snapshot (manifest in place, file closed) in between. Its tars are no leftovers then.
      if (
        leftover.kind === "orphan-tar" &&
        (await stat(this.manifestPath(leftover.id)).catch(() => undefined))
      )
        continue;
      await rm(join(this.ctx.dir, leftover.name), { force: true });
      removed.push(leftover.name);
    }
    if (removed.length > 0 && this.ctx.durable) await fsyncPath(this.ctx.dir);
    return removed;
  }

  /** Checks the tar's size and sha256 against its manifest; throws SnapshotCorruptError when they differ. */
  async verify(idOrManifest: string | SnapshotManifest): Promise<SnapshotManifest> {
    const manifest = typeof idOrManifest === "string" ? await this.require(idOrManifest) : idOrManifest;
    await this.checkSize(manifest);
    await this.hashTar(manifest);
    return manifest;
  }

  async checkSize(manifest: SnapshotManifest): Promise<void> {
    for (const { path, bytes } of this.parts(manifest)) {
      const info = await stat(path).catch(() => undefined);
      if (!info) throw new SnapshotCorruptError(manifest.id, `its tar file ${path} is missing`);
      if (info.size !== bytes) {
        throw new SnapshotCorruptError(
          manifest.id,
          `${path} has ${info.size} bytes, its manifest says ${bytes}`,
        );
      }
    }
  }

  /** Resolves true when every tar's sha256 matches the manifest; throws SnapshotCorruptError otherwise. */
  async hashTar(manifest: SnapshotManifest): Promise<true> {
    for (const { path, sha256 } of this.parts(manifest)) {
      const hash = createHash("sha256");
      await pipeline(createReadStream(path, { highWaterMark: 4 << 20 }), async (source) => {
        for await (const chunk of source) hash.update(chunk as Buffer);
      });
      const actual = hash.digest("hex");
      if (actual !== sha256) {
        throw new SnapshotCorruptError(
          manifest.id,
          `sha256 of ${path} is ${actual}, its manifest says ${sha256}`,
        );
      }
    }
    return true;
  }

  /** Writes `<id>.json` through a temp file, fsynced and renamed, then fsyncs the directory. */
  async writeManifest(manifest: SnapshotManifest): Promise<void> {
    const path = this.manifestPath(manifest.id);
    const tmp = `${path}.tmp`;
    try {
      const handle = await open(tmp, "wx", 0o600);
      try {
        await handle.writeFile(`${JSON.stringify(manifest, null, 2)}\n`);
        if (this.ctx.durable) await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(tmp, path);
      if (this.ctx.durable) await fsyncPath(this.ctx.dir);
    } catch (error) {
      await rm(tmp, { force: true });
      throw error;
    }
  }
}
