import type { EnginePort } from "../docker/engine-port.ts";
import { FleetwaveError } from "../errors.ts";
import {
  DEFAULT_PAIR_LIMITS,
  estimateVolumeBytes,
  InsufficientSpaceError,
  type MountpointVia,
  type PairLimits,
  type SnapshotStore,
} from "../snapshot/index.ts";
import type { TakenSnapshot, VolumeSnapshotter } from "./snapshotter.ts";

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
    private readonly docker: EnginePort,
    private readonly store: SnapshotStore,
    private readonly limits: PairLimits = DEFAULT_PAIR_LIMITS,
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

  async ensureSpace(volumes: string[], pairs: boolean): Promise<boolean> {
    let bytes = 0;
    for (const volume of volumes) bytes += await estimateVolumeBytes(await this.via(volume));
    if (pairs) {
      try {
        await this.store.ensureSpaceFor(bytes * (1 + this.limits.maxLevel1Fraction));
        return true;
      } catch (error) {
        if (!(error instanceof InsufficientSpaceError)) throw error;
      }
    }
    await this.store.ensureSpaceFor(bytes);
    return false;
  }

  async precopy(volume: string, bot: string, imageDigest: string | null): Promise<string> {
    return this.store.precopyVolume({ volume, bot, imageDigest, via: await this.via(volume) }, this.limits);
  }

  async snapshot(
    volume: string,
    bot: string,
    imageDigest: string | null,
    level0?: string,
  ): Promise<TakenSnapshot> {
    if (level0) {
      const { manifest, fallback } = await this.store.completeVolume(level0, this.limits);
      return { id: manifest.id, ...(fallback ? { fallback } : {}) };
    }
    const manifest = await this.store.snapshotVolume({
      volume,
      bot,
      imageDigest,
      via: await this.via(volume),
    });
    return { id: manifest.id };
  }

  async restore(snapshotId: string, volume: string): Promise<void> {
    await this.store.restoreVolume(snapshotId, await this.via(volume));
  }

  async release(snapshotIds: string[], keep: number): Promise<void> {
    const manifests = await Promise.all(snapshotIds.map((id) => this.store.get(id)));
    // No manifest: a level-0 whose level-1 was never taken (or a snapshot already gone).
    for (const [i, id] of snapshotIds.entries()) if (!manifests[i]) await this.store.discardPrecopy(id);
    const volumes = new Map<string, string>();
    for (const m of manifests) if (m) volumes.set(m.volume, m.bot);
    if (keep === 0) {
      for (const id of snapshotIds) await this.store.remove(id);
      return;
    }
    for (const [volume, bot] of volumes) await this.store.prune({ bot, volume, keep });
  }
}
