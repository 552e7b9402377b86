import { createReadStream } from "node:fs";
import { posix } from "node:path";
import type Dockerode from "dockerode";
import { SnapshotFailedError, VolumeInUseError, VolumeNotEmptiedError } from "./errors.ts";
import type { SnapshotManifest, VolumeSpec } from "./manifest.ts";
import { TarInspector } from "./tar-inspector.ts";
import type { ArchiveRestoreVia } from "./types.ts";

/** Label on the never-started containers that carry a tar into a recreated volume. */
export const CARRIER_LABEL = "fleetwave.snapshot-carrier";

const statusOf = (error: unknown) => (error as { statusCode?: number }).statusCode;

/** Names of the containers (any state) that reference a volume. */
async function containersUsing(docker: Dockerode, volume: string): Promise<string[]> {
  const containers = await docker.listContainers({ all: true, filters: { volume: [volume] } });
  return containers.map((c) => c.Names[0]?.replace(/^\//, "") ?? c.Id.slice(0, 12));
}

/**
 * Restores an archive-path snapshot through the Engine API (the tar at `tarPath` is already verified):
 * the volume must be referenced by NO container (VolumeInUseError otherwise); it is removed, recreated
 * with the same driver, options and labels, proven empty, and the tar is PUT at the parent of mountPath
 * through a never-started carrier container, which is removed afterwards.
 */
export async function restoreThroughEngine(
  manifest: SnapshotManifest,
  tarPath: string,
  via: ArchiveRestoreVia,
): Promise<void> {
  const { docker } = via;
  const volume = manifest.volume;
  const snapshotPath = manifest.mountPath!;
  const mountPath = via.mountPath ?? snapshotPath;
  if (posix.basename(mountPath) !== posix.basename(snapshotPath)) {
    throw new SnapshotFailedError(
      `snapshot ${manifest.id} holds ${posix.basename(snapshotPath)}/ and cannot be put at ${mountPath}`,
    );
  }
  await removeCarriers(docker, volume);

  const current = await docker
    .getVolume(volume)
    .inspect()
    .catch((error: unknown) => {
      if (statusOf(error) === 404) return undefined;
      throw error;
    });
  const spec: VolumeSpec = current
    ? { driver: current.Driver, options: current.Options ?? {}, labels: current.Labels ?? {} }
    : (manifest.volumeSpec ?? { driver: "local", options: {}, labels: {} });
  if (current) {
    const users = await containersUsing(docker, volume);
    if (users.length > 0) throw new VolumeInUseError(volume, users);
    try {
      await docker.getVolume(volume).remove();
    } catch (error) {
      if (statusOf(error) === 409) throw new VolumeInUseError(volume, await containersUsing(docker, volume));
      if (statusOf(error) !== 404) throw error;
    }
  }
  await docker.createVolume({
    Name: volume,
    Driver: spec.driver,
    DriverOpts: spec.options,
    Labels: spec.labels,
  });

  const mount = { Type: "volume", Source: volume, Target: mountPath, VolumeOptions: { NoCopy: true } };
  const carrier = await docker.createContainer({
    name: `fleetwave-restore-${manifest.id}`.slice(0, 128),
    Image: via.carrierImage,
    // Never started: the entrypoint only satisfies the Engine's "no command specified" check.
    Entrypoint: ["/fleetwave-restore-carrier-is-never-started"],
    Cmd: [],
    Labels: { [CARRIER_LABEL]: volume, "fleetwave.snapshot": manifest.id },
    NetworkDisabled: true,
    HostConfig: { NetworkMode: "none", Mounts: [mount as Dockerode.MountSettings] },
  });
  try {
    await assertCarrierVolumeEmpty(carrier, mountPath, volume, spec.driver);
    const response = await carrier.putArchive(createReadStream(tarPath), {
      path: posix.dirname(mountPath),
    });
    (response as NodeJS.ReadableStream | undefined)?.resume?.();
  } finally {
    await carrier.remove({ force: true, v: false });
  }
}

/** A recreated volume must be empty; bind- or NFS-backed local volumes keep their data on removal. */
async function assertCarrierVolumeEmpty(
  carrier: Dockerode.Container,
  mountPath: string,
  volume: string,
  driver: string,
): Promise<void> {
  const stream = await carrier.getArchive({ path: mountPath });
  const inspector = new TarInspector();
  let entries = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    inspector.write(chunk);
    entries = inspector.peekEntries();
    if (entries > 1) break;
  }
  if (entries > 1) {
    (stream as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
    throw new VolumeNotEmptiedError(volume, driver);
  }
}

/** Removes carriers that an interrupted restore of this volume left behind. */
async function removeCarriers(docker: Dockerode, volume: string): Promise<void> {
  const leftovers = await docker.listContainers({
    all: true,
    filters: { label: [`${CARRIER_LABEL}=${volume}`] },
  });
  for (const c of leftovers) {
    await docker
      .getContainer(c.Id)
      .remove({ force: true, v: false })
      .catch((error: unknown) => {
        if (statusOf(error) !== 404) throw error;
      });
  }
}
