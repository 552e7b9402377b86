import type Dockerode from "dockerode";

/** Read the volume's Mountpoint directly (the agent runs on the Docker host with access to it). */
export interface MountpointVia {
  kind: "mountpoint";
  /** The volume's `Mountpoint` from `docker volume inspect`. */
  path: string;
}

/** Read the volume through the Engine archive API of a STOPPED container that mounts it. */
export interface ArchiveSnapshotVia {
  kind: "archive";
  docker: Dockerode;
  /** Id or name of a stopped container that mounts the volume at `mountPath`. */
  container: string;
  mountPath: string;
}

export type SnapshotVia = MountpointVia | ArchiveSnapshotVia;

/**
 * Restore through the Engine API: the volume is removed and recreated empty (same driver, options and
 * labels), so NO container may reference it, not even a stopped one; the engine removes the bot's
 * containers first and recreates them afterwards. The tar is put into a never-started carrier container
 * created from `carrierImage`, an image that is already local (e.g. the bot's old image by digest).
 */
export interface ArchiveRestoreVia {
  kind: "archive";
  docker: Dockerode;
  carrierImage: string;
  /**
   * Where the carrier mounts the volume; defaults to the manifest's mountPath and must have the same last
   * path component, since the archive's top entry is named after it.
   */
  mountPath?: string;
}

export type RestoreVia = MountpointVia | ArchiveRestoreVia;

export interface SnapshotRequest {
  volume: string;
  bot: string;
  /** Digest of the image the bot runs; null when unknown (e.g. a container that was never pinned). */
  imageDigest: string | null;
  via: SnapshotVia;
  /** A size estimate the caller already made (see estimateVolumeBytes); skips the second estimate. */
  estimatedBytes?: number;
}
