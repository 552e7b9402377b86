import { mkdir, open, readdir, readFile, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { botSchema } from "../model/tenant.ts";

/** Where an update stands. Each is written, and fsynced, before the step it names is taken. */
export const phases = [
  "pulling",
  "pre-copying",
  "stopping",
  "snapshotting",
  "renaming",
  "creating",
  "starting",
  "health-gate",
  "confirmed",
  "rolling-back",
] as const;
export type Phase = (typeof phases)[number];

const entrySchema = z.object({
  bot: botSchema.extend({ tenant: z.string() }),
  repository: z.string(),
  fromDigest: z.string().nullable(),
  toDigest: z.string(),
  oldContainerId: z.string(),
  newContainerId: z.string().optional(),
  snapshots: z.array(z.object({ id: z.string(), volume: z.string() })),
  /** Level-0s taken while the old container ran, each waiting for its level-1 (the pair's id). */
  precopies: z.array(z.object({ id: z.string(), volume: z.string() })).default([]),
  keepSnapshots: z.number().int().min(0),
  phase: z.enum(phases),
  reason: z.string().optional(),
  startedAt: z.string(),
  steps: z.array(z.object({ phase: z.enum(phases), at: z.string() })),
});
export type JournalEntry = z.output<typeof entrySchema>;

/**
 * One JSON file per bot with an update in flight, in the agent's data dir. Written to a temp
 * file, fsynced, renamed over the old one and the directory fsynced, so after a crash the file
 * is either the previous step or the next, never half of one.
 */
export class Journal {
  readonly dir: string;

  constructor(dataDir: string) {
    this.dir = join(dataDir, "journal");
  }

  private path(botId: string) {
    return join(this.dir, `${botId}.json`);
  }

  async write(entry: JournalEntry): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const target = this.path(entry.bot.id);
    const temp = `${target}.tmp`;
    const file = await open(temp, "w");
    try {
      await file.writeFile(`${JSON.stringify(entry, null, 2)}\n`);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temp, target);
    await syncDir(this.dir);
  }

  async advance(entry: JournalEntry, phase: Phase, patch: Partial<JournalEntry> = {}): Promise<JournalEntry> {
    const next = {
      ...entry,
      ...patch,
      phase,
      steps: [...entry.steps, { phase, at: new Date().toISOString() }],
    };
    await this.write(next);
    return next;
  }

  async list(): Promise<JournalEntry[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw error;
    }
    const entries: JournalEntry[] = [];
    for (const name of names.filter((n) => n.endsWith(".json")).sort()) {
      const text = await readFile(join(this.dir, name), "utf8");
      entries.push(entrySchema.parse(JSON.parse(text)));
    }
    return entries;
  }

  /** The entry of one bot, or undefined when no update of it is in flight. */
  async read(botId: string): Promise<JournalEntry | undefined> {
    let text: string;
    try {
      text = await readFile(this.path(botId), "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
    return entrySchema.parse(JSON.parse(text));
  }

  async finish(botId: string): Promise<void> {
    await rm(this.path(botId), { force: true });
    // Nothing was ever journaled (a fresh data dir): there is no directory entry to make durable.
    await syncDir(this.dir).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== "ENOENT") throw error;
    });
  }
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
