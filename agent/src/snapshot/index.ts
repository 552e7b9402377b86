export {
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
export {
  type SnapshotManifest,
  type SnapshotMethod,
  snapshotManifestSchema,
  type VolumeSpec,
} from "./manifest.ts";
export { ensureSpaceIn, estimateVolumeBytes, type SpaceCheck } from "./space.ts";
export { CARRIER_LABEL, chooseSnapshotPath, SnapshotStore, type SnapshotStoreOptions } from "./store.ts";
export type {
  ArchiveRestoreVia,
  ArchiveSnapshotVia,
  MountpointVia,
  RestoreVia,
  SnapshotRequest,
  SnapshotVia,
} from "./types.ts";
