/** A volume's snapshot as the update took it: a pair (level-0 before the stop), or one full tar. */
export interface TakenSnapshot {
  id: string;
  /** Why a level-0 was dropped and a full snapshot taken after the stop instead. */
  fallback?: string;
}

/**
 * What the update engine needs from volume snapshots, by volume name. Kept narrow so the
 * sequence in update-bot.ts reads as the steps of an update and not as tar plumbing.
 */
export interface VolumeSnapshotter {
  /**
   * Throws a FleetwaveError when the snapshots of these volumes would not fit on disk. With `pairs`,
   * resolves true when their pairs (level-0 and level-1) fit too, false when only full snapshots do.
   */
  ensureSpace(volumes: string[], pairs: boolean): Promise<boolean>;
  /** The level-0 of a pair, taken while the bot runs; resolves to the id snapshot() completes. */
  precopy(volume: string, bot: string, imageDigest: string | null): Promise<string>;
  /** After the stop: completes the pair `level0`, or takes a full snapshot when there is none. */
  snapshot(volume: string, bot: string, imageDigest: string | null, level0?: string): Promise<TakenSnapshot>;
  restore(snapshotId: string, volume: string): Promise<void>;
  /** Drops the given snapshots but the newest `keep` per volume; level-0s without a level-1 always go. */
  release(snapshotIds: string[], keep: number): Promise<void>;
}
