import { readdir, readlink } from "node:fs/promises";
import { basename, join } from "node:path";
import { leftoverId } from "./leftovers.ts";

/**
 * Ids of the snapshots whose files some process holds open, from the links in /proc/<pid>/fd (Linux).
 * A writer keeps its snapshot's file open from its creation until the manifest is in place (see
 * SnapshotWriter), so this tells a snapshot another agent or command is writing from the leftover of a
 * killed one. Links are matched by file name, so a process in another mount namespace counts too; the
 * ids' time and random tail keep two data dirs' names apart. Processes whose descriptors this one may
 * not read (another user, hidepid) are not seen: the agent and its CLI run as root.
 */
export async function openSnapshotIds(candidates: ReadonlySet<string>, proc = "/proc"): Promise<Set<string>> {
  const open = new Set<string>();
  if (candidates.size === 0) return open;
  const pids = (await readdir(proc).catch(() => [] as string[])).filter((name) => /^\d+$/.test(name));
  for (const pid of pids) {
    const fdDir = join(proc, pid, "fd");
    const fds = await readdir(fdDir).catch(() => [] as string[]);
    const targets = await Promise.all(fds.map((fd) => readlink(join(fdDir, fd)).catch(() => "")));
    for (const target of targets) {
      const id = leftoverId(basename(target.replace(/ \(deleted\)$/, "")));
      if (id !== undefined && candidates.has(id)) open.add(id);
    }
  }
  return open;
}
