import { type IncompleteFile, SnapshotCatalog } from "./catalog.ts";
import { type SnapshotStoreOptions, type StoreContext, storeContext } from "./context.ts";
import { SnapshotMethodMismatchError } from "./errors.ts";
import type { SnapshotManifest } from "./manifest.ts";
import { DirectRestorer } from "./restore-direct.ts";
import { restoreThroughEngine } from "./restore-engine.ts";
import type { SpaceCheck } from "./space.ts";
import type { RestoreVia, SnapshotRequest } from "./types.ts";
import { type Completed, DEFAULT_PAIR_LIMITS, type PairLimits, SnapshotWriter } from "./writer.ts";

/**
 * Volume snapshots in `<dataDir>/snapshots`: the one object callers hold. The work is done by the
 * catalog (files, manifests, leftovers), the writer (space check, tar stream), and the two restorers
 * (direct through the Mountpoint, or through the Engine archive API).
 */
export class SnapshotStore {
  readonly dir: string;
  private readonly ctx: StoreContext;
  private readonly catalog: SnapshotCatalog;
  private readonly writer: SnapshotWriter;
  private readonly direct: DirectRestorer;

  constructor(options: SnapshotStoreOptions) {
    this.ctx = storeContext(options);
    this.dir = this.ctx.dir;
    this.catalog = new SnapshotCatalog(this.ctx);
    this.writer = new SnapshotWriter(this.ctx, this.catalog);
    this.direct = new DirectRestorer(this.ctx, this.catalog);
  }

  tarPath(id: string): string {
    return this.catalog.tarPath(id);
  }

  manifestPath(id: string): string {
    return this.catalog.manifestPath(id);
  }

  /**
   * Removes what interrupted snapshots left (never what this process is writing), then throws
   * InsufficientSpaceError unless the snapshots dir has `bytesNeeded` plus the margin free.
   */
  ensureSpaceFor(bytesNeeded: number): Promise<SpaceCheck> {
    return this.writer.ensureSpaceFor(bytesNeeded);
  }

  /**
   * Snapshots one volume while nothing writes to it (the bot's container must be stopped). Checks the
   * space first and throws InsufficientSpaceError before writing anything; DataDiskFullError when the
   * disk fills up meanwhile. On any failure no file of the snapshot is left behind.
   */
  snapshotVolume(request: SnapshotRequest): Promise<SnapshotManifest> {
    return this.writer.snapshotVolume(request);
  }

  /**
   * The level-0 of a pair (Mountpoint only), taken WHILE the bot runs, at low I/O and CPU priority; the
   * space check reserves room for the level-1 too. Returns the id to pass to completeVolume after the
   * stop, or to discard. The level-0 lives in this process only: a crash leaves leftovers, never a
   * snapshot.
   */
  precopyVolume(request: SnapshotRequest, limits: PairLimits = DEFAULT_PAIR_LIMITS): Promise<string> {
    return this.writer.precopyVolume(request, limits);
  }

  /**
   * After the stop: the level-1 of the pair `id` and its manifest, or a full snapshot (with the reason in
   * `fallback`) when the level-0 is too old, the level-1 too large, or it failed.
   */
  completeVolume(id: string, limits: PairLimits = DEFAULT_PAIR_LIMITS): Promise<Completed> {
    return this.writer.completeVolume(id, limits);
  }

  /** Drops a level-0 that will not be completed. */
  discardPrecopy(id: string): Promise<void> {
    return this.writer.discard(id);
  }

  /**
   * Restores a volume exactly as it was snapshotted: verifies the tar's size and sha256 (throws
   * SnapshotCorruptError, volume untouched), empties the volume completely, extracts (a pair: level-0,
   * then level-1, whose directory listings delete what was removed or renamed meanwhile).
   *
   * - mountpoint: deletes every entry inside the Mountpoint (dotfiles included) but keeps the directory,
   *   then GNU tar restores contents, owners, modes (the root's too, from `./`), xattrs and ACLs.
   * - archive: the volume must be referenced by NO container (VolumeInUseError otherwise); it is removed,
   *   recreated with the same driver, options and labels, proven empty, and the tar is PUT at the parent
   *   of mountPath through a never-started carrier container, which is removed afterwards.
   */
  async restoreVolume(id: string, via: RestoreVia): Promise<SnapshotManifest> {
    const manifest = await this.catalog.require(id);
    if (manifest.method !== via.kind) throw new SnapshotMethodMismatchError(id, manifest.method, via.kind);
    if (via.kind === "mountpoint") {
      await this.direct.restore(manifest, via.path);
    } else {
      await this.ctx.phase("restore.verify", () => this.catalog.verify(manifest));
      await this.ctx.phase("restore.engine", () =>
        restoreThroughEngine(manifest, this.catalog.tarPath(manifest.id), via),
      );
    }
    return manifest;
  }

  /** Checks the tar's size and sha256 against its manifest; throws SnapshotCorruptError when they differ. */
  verify(idOrManifest: string | SnapshotManifest): Promise<SnapshotManifest> {
    return this.catalog.verify(idOrManifest);
  }

  /** The manifest, or undefined when there is none; SnapshotCorruptError when it is unreadable. */
  get(id: string): Promise<SnapshotManifest | undefined> {
    return this.catalog.get(id);
  }

  /** Complete snapshots, newest first; manifests that cannot be read are skipped. */
  list(filter: { bot?: string; volume?: string } = {}): Promise<SnapshotManifest[]> {
    return this.catalog.list(filter);
  }

  /** Deletes a snapshot (manifest first, so no manifest ever points at a missing tar). False if absent. */
  remove(id: string): Promise<boolean> {
    return this.catalog.remove(id);
  }

  /** Keeps the newest `keep` snapshots of one bot's volume and removes the rest; returns the removed ids. */
  prune(options: { bot: string; volume: string; keep: number }): Promise<string[]> {
    return this.catalog.prune(options);
  }

  /** Files interrupted snapshots left (`*.tar.partial`, `*.json.tmp`, tars without a manifest). */
  incomplete(): Promise<IncompleteFile[]> {
    return this.catalog.incomplete();
  }

  /**
   * Removes what interrupted snapshots left (`*.tar.partial`, `*.json.tmp`, tars without a manifest), never
   * a snapshot that this or another process is writing. Safe at any time, e.g. from the CLI while the agent
   * runs. Returns the removed file names.
   */
  removeIncomplete(): Promise<string[]> {
    return this.catalog.removeIncomplete();
  }

  /**
   * What the agent calls when it starts: removeIncomplete() plus the staging and trash directories that
   * interrupted direct restores left, unless one of this store's restores runs. A restore of another
   * process is not seen, so only the one agent of a data dir may call it. Returns the removed names.
   */
  async cleanIncomplete(): Promise<string[]> {
    const removed = await this.catalog.removeIncomplete();
    return [...removed, ...(await this.direct.removeLeftovers())];
  }

  /**
   * Resolves once the previous contents that direct restores moved aside are deleted (they are deleted in
   * the background so the bot can start sooner). Anything left by a crash goes with cleanIncomplete().
   */
  settled(): Promise<void> {
    return this.direct.settled();
  }
}
