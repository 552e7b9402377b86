import { constants } from "node:fs";
import { access, stat } from "node:fs/promises";
import type Dockerode from "dockerode";
import type { SnapshotVia } from "./types.ts";

/**
 * Which snapshot path to use for a volume: the Mountpoint when this process can read and write it (the
 * agent runs as root on the Docker host and talks to the local Engine over its Unix socket), else the
 * Engine archive API on `container` (which must be stopped when the snapshot is taken).
 *
 * A Mountpoint is only trusted for a plain `local` volume (no driver options) of an Engine reached over
 * a Unix socket: through tcp:// or ssh:// the same path on this machine would be another machine's
 * directory, and a local volume with options is only mounted at its Mountpoint while a container runs.
 */
export async function chooseSnapshotPath(
  docker: Dockerode,
  volumeName: string,
  container: string,
  mountPath: string,
): Promise<SnapshotVia> {
  const archive: SnapshotVia = { kind: "archive", docker, container, mountPath };
  const modem = docker.modem as { socketPath?: unknown };
  if (typeof modem.socketPath !== "string" || modem.socketPath === "") return archive;
  const info = await docker.getVolume(volumeName).inspect();
  // Only a plain local volume keeps its data in the Mountpoint directory. A local volume with options
  // (type=none o=bind, tmpfs, nfs, ...) is mounted there only while a container uses it, so a stopped
  // bot's Mountpoint is an empty directory; other drivers' Mountpoints mean nothing on this host.
  if (info.Driver !== "local" || Object.keys(info.Options ?? {}).length > 0 || !info.Mountpoint)
    return archive;
  try {
    await access(info.Mountpoint, constants.R_OK | constants.W_OK);
    if (!(await stat(info.Mountpoint)).isDirectory()) return archive;
  } catch {
    return archive;
  }
  return { kind: "mountpoint", path: info.Mountpoint };
}
