import { dirname } from "node:path";
import { FleetwaveError } from "../errors.ts";

function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

/** A snapshot id that is not one Fleetwave could have made (path traversal, NUL, slashes, ...). */
export class InvalidSnapshotIdError extends FleetwaveError {
  override name = "InvalidSnapshotIdError";
  constructor(readonly id: string) {
    super(
      `invalid snapshot id ${JSON.stringify(id)}: ids look like <bot>--<volume>--<UTC time>-<hex> and contain only ` +
        `letters, digits, ".", "_" and "-" (never "/" or ".."); take the id from the snapshot list`,
    );
  }
}

/** No manifest for this id in the snapshots directory. */
export class SnapshotNotFoundError extends FleetwaveError {
  override name = "SnapshotNotFoundError";
  constructor(
    readonly id: string,
    readonly dir: string,
  ) {
    super(`snapshot ${id} does not exist in ${dir}; list the bot's snapshots to pick one that does`);
  }
}

/** The tar file does not match its manifest (sha256 or size), or the manifest itself is unreadable. */
export class SnapshotCorruptError extends FleetwaveError {
  override name = "SnapshotCorruptError";
  constructor(
    readonly id: string,
    detail: string,
  ) {
    super(
      `snapshot ${id} is corrupt: ${detail}; nothing was restored and the volume was left as it is. ` +
        "Restore an older snapshot of this volume, and check the disk that holds the agent's data dir",
    );
  }
}

/** Not enough free space in the snapshots directory; raised before anything is written. */
export class InsufficientSpaceError extends FleetwaveError {
  override name = "InsufficientSpaceError";
  constructor(
    readonly dir: string,
    readonly neededBytes: number,
    readonly availableBytes: number,
  ) {
    super(
      `not enough free space for a snapshot in ${dir}: needed ${formatBytes(neededBytes)} (${neededBytes} bytes, ` +
        `including a safety margin), available ${formatBytes(availableBytes)} (${availableBytes} bytes); ` +
        "free space there, prune old snapshots, or move the agent's data dir to a larger disk",
    );
  }
}

/**
 * The data dir's disk filled up while a snapshot was being written (ENOSPC, or EDQUOT for a quota): the
 * space check passed, then the volume turned out bigger than its estimate or something else took the space.
 */
export class DataDiskFullError extends FleetwaveError {
  override name = "DataDiskFullError";
  constructor(
    readonly dir: string,
    readonly writtenBytes: number,
    readonly code: string,
  ) {
    super(
      `the disk of the agent's data dir is full (${code}): writing a snapshot to ${dir} failed after ` +
        `${formatBytes(writtenBytes)} (${writtenBytes} bytes) and the partial file was removed; free space on ` +
        `that disk (\`fleetwave snapshots prune --data-dir ${dirname(dir)} --bot ID\` removes old ` +
        "snapshots) or move the data dir to a larger disk, then retry the update",
    );
  }
}

/** The volume is still referenced by containers, so it cannot be recreated for an archive-path restore. */
export class VolumeInUseError extends FleetwaveError {
  override name = "VolumeInUseError";
  constructor(
    readonly volume: string,
    readonly containers: string[],
  ) {
    const who = containers.length > 0 ? containers.join(", ") : "a container the engine did not name";
    super(
      `volume ${volume} is still used by ${who}: restoring through the Engine archive API recreates the volume, ` +
        "so every container that mounts it (running or stopped) must be removed first and recreated afterwards",
    );
  }
}

/** A recreated volume still had data in it (a bind- or network-backed volume keeps its data on removal). */
export class VolumeNotEmptiedError extends FleetwaveError {
  override name = "VolumeNotEmptiedError";
  constructor(
    readonly volume: string,
    readonly driver: string,
  ) {
    super(
      `volume ${volume} (driver ${driver}) still had data after it was removed and recreated, so it cannot be ` +
        "emptied through the Engine API; nothing was extracted. Run the agent where it can read and write the " +
        "volume's Mountpoint (the direct path) to restore it",
    );
  }
}

/** tar or the Engine failed while taking or restoring a snapshot. */
export class SnapshotFailedError extends FleetwaveError {
  override name = "SnapshotFailedError";
}

/** A snapshot taken one way cannot be restored the other way. */
export class SnapshotMethodMismatchError extends FleetwaveError {
  override name = "SnapshotMethodMismatchError";
  constructor(
    readonly id: string,
    readonly snapshotMethod: string,
    readonly restoreMethod: string,
  ) {
    super(
      `snapshot ${id} was taken through the ${snapshotMethod} path and cannot be restored through the ` +
        `${restoreMethod} path (the archive layouts differ); restore it through the ${snapshotMethod} path`,
    );
  }
}

export { formatBytes };
