/**
 * When each host's status reached the bench's bare remote, from the remote's own reflog: the
 * bench's reads of the remote share the loaded machine with the agents and can lag minutes
 * behind (at 500 hosts and load 300 its 1 s reads lagged ~200 s), so times read back this way
 * are the ones reported. The remote logs every ref update with its time in whole seconds.
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { catFileBatch, STATUS_BRANCH_PREFIX, statusFilePath } from "../../agent/src/git/status-refs.ts";

/** One push of a host's status as the remote recorded it, and what the status said of the rollout. */
export interface StatusArrival {
  /** Unix time (s) of the ref update on the remote. */
  at: number;
  wavesDone: number;
  completed: boolean;
}

/** The remote must log every ref update (a bare repository does not by default). */
export const REMOTE_REFLOG_CONFIG = ["config", "core.logAllRefUpdates", "always"] as const;

/** Every status push per host, in order, with the rollout's progress it carried. */
export async function statusArrivals(bare: string, rollout: string): Promise<Map<string, StatusArrival[]>> {
  const dir = join(bare, "logs", "refs", "heads", STATUS_BRANCH_PREFIX);
  const updates: { host: string; sha: string; at: number }[] = [];
  for (const host of await readdir(dir))
    for (const entry of await readReflog(join(dir, host))) updates.push({ host, ...entry });
  const texts = await catFileBatch(
    bare,
    updates.map((u) => `${u.sha}:${statusFilePath(u.host)}`),
  );
  const arrivals = new Map<string, StatusArrival[]>();
  updates.forEach((u, i) => {
    const status = parseYaml(texts[i]?.text ?? "{}") as {
      rollouts?: Record<string, { state?: string; wavesDone?: number }>;
    };
    const progress = status?.rollouts?.[rollout];
    const list = arrivals.get(u.host) ?? [];
    list.push({ at: u.at, wavesDone: progress?.wavesDone ?? 0, completed: progress?.state === "completed" });
    arrivals.set(u.host, list);
  });
  return arrivals;
}

/**
 * Seconds after `from` (unix s) when every host's status on the remote first showed each wave
 * done, and the rollout completed; undefined where some host never got there.
 */
export function remoteMilestones(
  arrivals: ReadonlyMap<string, readonly StatusArrival[]>,
  waves: number,
  from: number,
): { waveEndsS: (number | undefined)[]; completionS: number | undefined } {
  const latestFirst = (reached: (a: StatusArrival) => boolean): number | undefined => {
    let latest = Number.NEGATIVE_INFINITY;
    for (const list of arrivals.values()) {
      const first = list.find(reached);
      if (!first) return undefined;
      latest = Math.max(latest, first.at);
    }
    return arrivals.size === 0 ? undefined : latest - from;
  };
  return {
    waveEndsS: Array.from({ length: waves }, (_, k) => latestFirst((a) => a.wavesDone >= k + 1)),
    completionS: latestFirst((a) => a.completed),
  };
}

/** Unix time (s) of the last update of `ref` on the remote (e.g. the plan's push to main). */
export async function lastUpdateAt(bare: string, ref: string): Promise<number> {
  return (await readReflog(join(bare, "logs", ref))).at(-1)!.at;
}

/** The updates one reflog file records, oldest first: the new commit and the time of each. */
async function readReflog(path: string): Promise<{ sha: string; at: number }[]> {
  const entries: { sha: string; at: number }[] = [];
  for (const line of (await readFile(path, "utf8")).split("\n")) {
    // "<old> <new> <name> <email> <unix time> <tz>\t<message>"
    const fields = line.split("\t")[0]!.trim().split(" ");
    if (fields.length < 4) continue;
    entries.push({ sha: fields[1]!, at: Number(fields[fields.length - 2]) });
  }
  return entries;
}
