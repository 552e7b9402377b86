import type { DockerAdapter } from "../docker/docker.ts";
import { FleetwaveError } from "../errors.ts";
import { estimateVolumeBytes, type MountpointVia, type SnapshotStore } from "../snapshot/index.ts";
import type { VolumeSnapshotter } from "./snapshotter.ts";

export class VolumeNotReachableError extends FleetwaveError {
  override name = "VolumeNotReachableError";
}

/**
 * Snapshots through the volume's mount point on this host: the agent runs next to the Engine
 * (as the systemd unit in agent/ does), so it reads and restores the directory itself with GNU
 * tar, with no helper image and no container in the way of a restore.
 */
export class MountpointSnapshotter implements VolumeSnapshotter {
  constructor(
    private readonly docker: DockerAdapter,
    private readonly store: SnapshotStore,
  ) {}

  private async via(volume: string): Promise<MountpointVia> {
    let path: string;
    try {
      path = await this.docker.volumeMountpoint(volume);
    } catch (error) {
      throw new VolumeNotReachableError(`volume ${volume} cannot be inspected: ${(error as Error).message}`);
    }
    return { kind: "mountpoint", path };
  }

  async ensureSpace(volumes: string[]): Promise<void> {
    let bytes = 0;
    for (const volume of volumes) bytes += await estimateVolumeBytes(await this.via(volume));
    await this.store.ensureSpaceFor(bytes);
  }

  async snapshot(volume: string, bot: string, imageDigest: string | null): Promise<string> {
    const manifest = await this.store.snapshotVolume({
      volume,
      bot,
      imageDigest,
      via: await this.via(volume),
    });
    return manifest.id;
  }

  async restore(snapshotId: string, volume: string): Promise<void> {
    await this.store.restoreVolume(snapshotId, await this.via(volume));
  }

  async release(snapshotIds: string[], keep: number): Promise<void> {
    const manifests = await Promise.all(snapshotIds.map((id) => this.store.get(id)));
    const volumes = new Map<string, string>();
    for (const m of manifests) if (m) volumes.set(m.volume, m.bot);
    if (keep === 0) {
      for (const id of snapshotIds) await this.store.remove(id);
      return;
    }
    for (const [volume, bot] of volumes) await this.store.prune({ bot, volume, keep });
  }
}
