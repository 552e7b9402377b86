/**
 * What the update engine needs from volume snapshots, by volume name. Kept narrow so the
 * sequence in update-bot.ts reads as the steps of an update and not as tar plumbing.
 */
export interface VolumeSnapshotter {
  /** Throws a FleetwaveError when the snapshots of these volumes would not fit on disk. */
  ensureSpace(volumes: string[]): Promise<void>;
  snapshot(volume: string, bot: string, imageDigest: string | null): Promise<string>;
  restore(snapshotId: string, volume: string): Promise<void>;
  /** Drops the given snapshots but the newest `keep` per volume. */
  release(snapshotIds: string[], keep: number): Promise<void>;
}
