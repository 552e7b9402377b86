import { mkdir, mkdtemp, readdir, rename, stat, statfs } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { SnapshotCatalog } from "./catalog.ts";
import type { StoreContext } from "./context.ts";
import { SnapshotFailedError } from "./errors.ts";
import { emptyDirectory, run } from "./exec.ts";
import { EXTRACT_FLAGS, runTar } from "./gnu-tar.ts";
import type { SnapshotManifest } from "./manifest.ts";
import { chooseRestoreArea, RESTORE_PREFIX } from "./restore-area.ts";

/** Work area of direct restores inside the snapshots dir: staging and trash directories. */
export const RESTORE_AREA = ".restore";

/**
 * Restores through the volume's Mountpoint with GNU tar. When a work area is on the volume's own mount
 * (see chooseRestoreArea), the tar is hashed and extracted into a staging directory there at the same time
 * (the hash on one core, tar on the other); only once the sha256 matched are the volume's old entries moved
 * out and the staged ones moved in (renames), the root's own mode, owner, xattrs and ACLs applied from the
 * `./` entry, and the old entries deleted in the background. Otherwise (another filesystem, a bind mount,
 * no room to stage): verify, delete every entry in place, extract.
 */
export class DirectRestorer {
  private readonly purges = new Set<Promise<unknown>>();
  private running = 0;

  constructor(
    private readonly ctx: StoreContext,
    private readonly catalog: SnapshotCatalog,
  ) {}

  async restore(manifest: SnapshotManifest, path: string): Promise<void> {
    this.running += 1;
    try {
      await this.restoreDirectory(manifest, path);
    } finally {
      this.running -= 1;
    }
  }

  private async restoreDirectory(manifest: SnapshotManifest, path: string): Promise<void> {
    const { phase } = this.ctx;
    const info = await stat(path).catch(() => undefined);
    if (!info?.isDirectory()) {
      throw new SnapshotFailedError(`volume Mountpoint ${path} is not a directory; nothing was restored`);
    }
    const staging = await phase("restore.stage", () => this.stage(manifest, path));
    const leftovers = staging && (await phase("restore.swap", () => this.swapIn(manifest, path, staging)));
    if (!leftovers) {
      if (!staging) await phase("restore.verify", () => this.catalog.verify(manifest));
      await phase("restore.empty", () => emptyDirectory(path));
      await phase("restore.extract", () => this.extract(manifest, path, []));
    }
    if (this.ctx.durable) {
      await phase("restore.sync", () => run("sync", ["--file-system", path], `sync of ${path}`));
    }
    // Only now, so the sync does not also wait for the deletion's own writes.
    if (leftovers) this.purgeInBackground(...leftovers);
  }

  /**
   * GNU tar extraction of the snapshot into `dir`, optionally limited by extra arguments. A pair is
   * extracted level-0 then level-1, both as incremental archives: the level-1's directory listings delete
   * what was removed or renamed away after the level-0 read it.
   */
  private async extract(manifest: SnapshotManifest, dir: string, extra: readonly string[]): Promise<void> {
    const parts = this.catalog.parts(manifest);
    const incremental = parts.length > 1 ? ["--listed-incremental=/dev/null"] : [];
    for (const { path } of parts) await this.extractOne(manifest, path, dir, [...incremental, ...extra]);
  }

  private extractOne(manifest: SnapshotManifest, tarPath: string, dir: string, extra: readonly string[]) {
    const tar = runTar(
      [...EXTRACT_FLAGS, `--file=${tarPath}`, "--directory", dir, ...extra],
      `restore of snapshot ${manifest.id} into ${dir}`,
      { tarCommand: this.ctx.tarCommand },
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
    const ownArea = join(this.ctx.dir, RESTORE_AREA);
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
    const bytes = manifest.bytes + (manifest.level1?.bytes ?? 0);
    if (Number(fs.bavail * fs.bsize) < bytes + this.ctx.marginBytes) return undefined;
    await this.catalog.checkSize(manifest);
    const staging = await mkdtemp(join(area, `${RESTORE_PREFIX}${manifest.id}-stage-`));
    const [hashed, extracted] = await Promise.allSettled([
      this.catalog.hashTar(manifest),
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
    // The volume root itself: only the `./` entry, which is the first, of the last part (the stopped
    // state). Not as an incremental archive, whose listing of `./` would delete what was just moved in.
    const last = this.catalog.parts(manifest).at(-1)!;
    await this.extractOne(manifest, last.path, path, ["--no-recursion", "--occurrence=1", "./"]);
    return [staging, trash];
  }

  private purgeInBackground(...dirs: string[]): void {
    const purge = run("rm", ["-rf", "--", ...dirs], "deleting a volume's previous contents").catch(
      () => undefined,
    );
    this.purges.add(purge);
    void purge.finally(() => this.purges.delete(purge));
  }

  /** Resolves once the previous contents that restores moved aside are deleted. */
  async settled(): Promise<void> {
    while (this.purges.size > 0) await Promise.all([...this.purges]);
  }

  /**
   * Deletes the staging and trash directories that interrupted restores left in the store's own area,
   * once the background deletions are done; nothing while a restore of this restorer runs (its staging
   * directory lives there). Returns the removed names, relative to the snapshots dir.
   */
  async removeLeftovers(): Promise<string[]> {
    await this.settled();
    if (this.running > 0) return [];
    const area = join(this.ctx.dir, RESTORE_AREA);
    const leftovers = await readdir(area).catch(() => [] as string[]);
    // Checked again: a restore may have begun while the directory was read.
    if (leftovers.length === 0 || this.running > 0) return [];
    await run("rm", ["-rf", "--", ...leftovers.map((n) => join(area, n))], "cleanup");
    return leftovers.map((n) => `${RESTORE_AREA}/${n}`);
  }
}
