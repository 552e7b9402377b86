import { readFile, realpath } from "node:fs/promises";
import { basename, dirname } from "node:path";

/** Undoes the octal escapes (`\040` for a space, ...) of /proc/self/mountinfo. */
function unescapeMountPath(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
}

/**
 * The id of the mount that `path` lives on, from /proc/self/mountinfo (the longest mount point that
 * contains the real path; of several mounts on one point, the last). Undefined when it cannot be told.
 */
export async function mountIdOf(path: string, mountinfo?: string): Promise<string | undefined> {
  let real: string;
  let table: string;
  try {
    real = await realpath(path);
    table = mountinfo ?? (await readFile("/proc/self/mountinfo", "utf8"));
  } catch {
    return undefined;
  }
  let best: { id: string; length: number } | undefined;
  for (const line of table.split("\n")) {
    const fields = line.split(" ");
    const id = fields[0];
    const point = fields[4];
    if (!id || point === undefined) continue;
    const mountPoint = unescapeMountPath(point);
    const contains = mountPoint === "/" || real === mountPoint || real.startsWith(`${mountPoint}/`);
    if (contains && (!best || mountPoint.length >= best.length)) best = { id, length: mountPoint.length };
  }
  return best?.id;
}

/**
 * Where a direct restore can stage the snapshot next to the volume so the result can be renamed into it:
 * a directory on the very mount of the Mountpoint (renames across mounts fail with EXDEV, and the Docker
 * Engine bind-mounts its data root onto itself, so the agent's data dir is usually NOT on it).
 * Candidates: the agent's own area, then, for a Docker local volume (`…/volumes/<name>/_data`), the
 * volume's own directory `…/volumes/<name>`, which the Engine deletes with the volume.
 */
export async function chooseRestoreArea(volumePath: string, ownArea: string): Promise<string | undefined> {
  const volumeMount = await mountIdOf(volumePath);
  if (volumeMount === undefined) return undefined;
  const candidates = [ownArea];
  if (basename(volumePath) === "_data") candidates.push(dirname(volumePath));
  for (const area of candidates) {
    if ((await mountIdOf(area)) === volumeMount) return area;
  }
  return undefined;
}

/** Prefix of the staging and trash directories a direct restore creates in its area. */
export const RESTORE_PREFIX = ".fleetwave-restore-";
