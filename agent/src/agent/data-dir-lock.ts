/**
 * One agent per data dir: `agent.pid` in the data dir names the process that holds it for its
 * whole life. A holder that is gone (killed -9, host rebooted, its pid reused by another process)
 * is recognised as such and replaced, so a crash never blocks the next start. Reading, checking
 * and writing the pidfile happen under a short proper-lockfile lock, so two agents starting at the
 * same moment cannot both take a stale file over.
 */
import { readFileSync, unlinkSync } from "node:fs";
import { mkdir, readFile, unlink } from "node:fs/promises";
import { join, resolve } from "node:path";
import lockfile from "proper-lockfile";
import { z } from "zod";
import { FleetwaveError } from "../errors.ts";
import { writeFileAtomic } from "../fs/durable.ts";

/** Another live agent holds the data dir. */
export class AgentLockedError extends FleetwaveError {
  override name = "AgentLockedError";
  constructor(
    readonly dataDir: string,
    readonly holder: LockHolder,
  ) {
    super(
      `another fleetwave agent (pid ${holder.pid}, started ${holder.startedAt}) already runs with data dir ${dataDir}; stop it first (kill -TERM ${holder.pid}) or, for another host, pass a different --data-dir`,
    );
  }
}

const holderSchema = z.object({
  pid: z.number().int().positive(),
  startedAt: z.string(),
  /** Start time of the process in clock ticks since boot (Linux), to tell a reused pid apart. */
  processStart: z.string().optional(),
});
export type LockHolder = z.output<typeof holderSchema>;

export const PIDFILE = "agent.pid";

/** Data dirs this process holds, so an agent in the same process is told apart from a stale file. */
const heldHere = new Set<string>();

/** Field 22 of /proc/<pid>/stat; undefined where there is no procfs. */
function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may contain spaces and parentheses: count from its closing one.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Whether the process a pidfile names is still that process. */
export function holderAlive(holder: LockHolder, dataDir: string): boolean {
  if (holder.pid === process.pid) return heldHere.has(resolve(dataDir));
  if (!running(holder.pid)) return false;
  const start = processStart(holder.pid);
  return holder.processStart === undefined || start === undefined || start === holder.processStart;
}

async function readHolder(dataDir: string): Promise<LockHolder | undefined> {
  const text = await readFile(join(dataDir, PIDFILE), "utf8").catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    const parsed = holderSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** The live agent holding `dataDir`, if any. */
export async function liveHolder(dataDir: string): Promise<LockHolder | undefined> {
  const holder = await readHolder(dataDir);
  return holder && holderAlive(holder, dataDir) ? holder : undefined;
}

export interface DataDirLock {
  readonly holder: LockHolder;
  /** Stale holder that this start replaced, for the log. */
  readonly replaced?: LockHolder;
  release(): Promise<void>;
}

/**
 * Takes the data dir for this process, or throws AgentLockedError naming the live holder. The
 * pidfile is removed on release and, as a last resort, when the process exits.
 */
export async function lockDataDir(dataDir: string): Promise<DataDirLock> {
  const dir = resolve(dataDir);
  await mkdir(dir, { recursive: true });
  const pidfile = join(dir, PIDFILE);
  let unlockGuard: () => Promise<void>;
  try {
    unlockGuard = await lockfile.lock(dir, {
      lockfilePath: `${pidfile}.lock`,
      realpath: false,
      stale: 10_000,
      retries: { retries: 20, minTimeout: 20, maxTimeout: 250 },
      // Held for a few milliseconds; a compromise cannot outlive it.
      onCompromised: () => undefined,
    });
  } catch (error) {
    throw new FleetwaveError(
      `another fleetwave agent is starting with data dir ${dir} right now (${(error as Error).message}); wait for it or stop it, then retry`,
    );
  }
  try {
    const previous = await readHolder(dir);
    if (previous && holderAlive(previous, dir)) throw new AgentLockedError(dir, previous);
    const start = processStart(process.pid);
    const holder: LockHolder = {
      pid: process.pid,
      startedAt: new Date().toISOString(),
      ...(start ? { processStart: start } : {}),
    };
    await writeFileAtomic(pidfile, `${JSON.stringify(holder)}\n`, { mode: 0o644 });
    heldHere.add(dir);
    const onExit = () => {
      try {
        if (readFileSync(pidfile, "utf8").includes(`"pid":${process.pid},`)) unlinkSync(pidfile);
      } catch {
        // Already gone.
      }
    };
    process.on("exit", onExit);
    let released = false;
    return {
      holder,
      ...(previous ? { replaced: previous } : {}),
      async release() {
        if (released) return;
        released = true;
        process.off("exit", onExit);
        heldHere.delete(dir);
        const current = await readHolder(dir);
        if (current?.pid === process.pid) await unlink(pidfile).catch(() => undefined);
      },
    };
  } finally {
    await unlockGuard();
  }
}
