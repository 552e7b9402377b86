/** File adapter for changelogs: `internal/DATE.md`, `user-facing/DATE.json`, `user-facing/latest.json`. */
import { mkdir, readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { readJsonIfExists, writeFileAtomic } from "#fleetwave/fs/durable.ts";
import type { UserFacingChangelog } from "./build.ts";

export const DATE_PATTERN = /^\d{4}-\d{2}-\d{2}$/;

/** A real calendar day as YYYY-MM-DD (flag and file-name format). */
/** Today's date in UTC, YYYY-MM-DD. */
export function utcToday(now: Date = new Date()): string {
  return now.toISOString().slice(0, 10);
}

export const calendarDate = z
  .string()
  .regex(DATE_PATTERN, "expected YYYY-MM-DD")
  .refine(
    (d) => {
      const time = Date.parse(`${d}T00:00:00Z`);
      return !Number.isNaN(time) && new Date(time).toISOString().startsWith(d);
    },
    { message: "not a calendar date" },
  );

export const userFacingSchema = z.strictObject({
  version: z.string().min(1),
  date: z.string().regex(DATE_PATTERN),
  range: z.strictObject({ from: z.string().min(1), to: z.string().min(1) }),
  sections: z.array(
    z.strictObject({ title: z.enum(["New", "Improved", "Fixed"]), items: z.array(z.string().min(1)).min(1) }),
  ),
});

export interface ChangelogFiles {
  internal: string;
  userFacing: string;
  latest: string;
}

export function changelogPaths(outDir: string, date: string): ChangelogFiles {
  return {
    internal: join(outDir, "internal", `${date}.md`),
    userFacing: join(outDir, "user-facing", `${date}.json`),
    latest: join(outDir, "user-facing", "latest.json"),
  };
}

/** Changelogs are committed to git and read by everyone: not private like the agent's state. */
const COMMITTED = { mode: 0o644 };

export function serializeUserFacing(view: UserFacingChangelog): string {
  return `${JSON.stringify(view, null, 2)}\n`;
}

/**
 * Writes both views for `view.date`, then makes `latest.json` a copy of the newest dated file
 * (by date, so back-filling an older day never moves `latest.json` backwards).
 */
export async function writeChangelogFiles(
  outDir: string,
  view: UserFacingChangelog,
  internalMarkdown: string,
): Promise<ChangelogFiles> {
  const paths = changelogPaths(outDir, view.date);
  await mkdir(join(outDir, "internal"), { recursive: true });
  await mkdir(join(outDir, "user-facing"), { recursive: true });
  await writeFileAtomic(paths.internal, internalMarkdown, COMMITTED);
  await writeFileAtomic(paths.userFacing, serializeUserFacing(view), COMMITTED);
  const dated = (await readdir(join(outDir, "user-facing")))
    .filter((name) => DATE_PATTERN.test(name.replace(/\.json$/, "")) && name.endsWith(".json"))
    .sort();
  const newest = dated.at(-1)!;
  await writeFileAtomic(paths.latest, await readFile(join(outDir, "user-facing", newest), "utf8"), COMMITTED);
  return paths;
}

/** The previous user-facing changelog (`latest.json`), or null when there is none yet. */
export async function readLatestUserFacing(outDir: string): Promise<UserFacingChangelog | null> {
  return (await readJsonIfExists(join(outDir, "user-facing", "latest.json"), userFacingSchema)) ?? null;
}
