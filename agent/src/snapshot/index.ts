/**
 * Volume snapshots without any helper image (the update's snapshot step, docs/contracts.md "One bot's update").
 *
 * - `chooseSnapshotPath` picks the direct path (GNU tar of a plain local volume's Mountpoint, when this
 *   process can read and write it over a local Engine socket) or the Engine archive API on the bot's
 *   stopped container.
 * - `SnapshotStore.snapshotVolume` checks free space first (InsufficientSpaceError before anything is
 *   written), streams the tar through sha256 + an entry counter into `<dataDir>/snapshots/<id>.tar`,
 *   fsyncs it, and writes `<id>.json` last.
 * - `SnapshotStore.restoreVolume` verifies size and sha256 first (SnapshotCorruptError, volume untouched),
 *   then replaces the volume's contents completely. Direct path: staged next to the volume and swapped in
 *   by rename when possible (old contents deleted in the background, see `settled()`), else emptied in
 *   place and extracted. Archive path: the volume is removed and recreated with the same driver, options
 *   and labels, so the engine must first remove every container that references it (VolumeInUseError
 *   otherwise) and recreate the bot's container afterwards; the tar is PUT through a never-started
 *   carrier container from an image that is already local.
 * - A pair (`precopyVolume` while the bot runs, `completeVolume` after the stop): a level-0 GNU tar with its
 *   listing, then a level-1 of what changed since the level-0 began; both tars, one manifest, one id.
 * - Leftovers of interrupted snapshots (`*.tar.partial`, `*.json.tmp`, tars without a manifest) are removed
 *   before every space check and by `cleanIncomplete()`, which the agent calls when it starts; never the
 *   files of a snapshot this process is still writing.
 * - Files: `catalog.ts` (manifests, list, prune, leftovers), `writer.ts`, `restore-direct.ts`,
 *   `restore-engine.ts`; `store.ts` is the façade over them.
 */
export type { IncompleteFile } from "./catalog.ts";
export { chooseSnapshotPath } from "./choose-path.ts";
export type { SnapshotStoreOptions } from "./context.ts";
export {
  DataDiskFullError,
  InsufficientSpaceError,
  InvalidSnapshotIdError,
  SnapshotCorruptError,
  SnapshotFailedError,
  SnapshotMethodMismatchError,
  SnapshotNotFoundError,
  VolumeInUseError,
  VolumeNotEmptiedError,
} from "./errors.ts";
export { assertValidSnapshotId, isValidSnapshotId, newSnapshotId, SNAPSHOT_ID_PATTERN } from "./id.ts";
export type { LeftoverKind } from "./leftovers.ts";
export {
  type SnapshotManifest,
  type SnapshotMethod,
  snapshotManifestSchema,
  type VolumeSpec,
} from "./manifest.ts";
export { CARRIER_LABEL } from "./restore-engine.ts";
export { ensureSpaceIn, estimateVolumeBytes, type SpaceCheck } from "./space.ts";
export { SnapshotStore } from "./store.ts";
export type {
  ArchiveRestoreVia,
  ArchiveSnapshotVia,
  MountpointVia,
  RestoreVia,
  SnapshotRequest,
  SnapshotVia,
} from "./types.ts";
export { type Completed, DEFAULT_PAIR_LIMITS, type PairLimits } from "./writer.ts";
