/**
 * What a git process killed mid-command leaves in a clone: `*.lock` files (the index, HEAD, a
 * ref, the config) that make every later command of the same kind fail with "File exists", and
 * a rebase that stopped half way, which every later rebase refuses to start over. Only the sole
 * owner of a clone may clear them, and only before it runs git there itself.
 */
import { readdir, rm, stat } from "node:fs/promises";
import { join, relative } from "node:path";
import { type GitOptions, gitValue, tryGit } from "./git.ts";

/** Paths (relative to the git dir) of what was cleared; empty when the clone was clean. */
export async function clearInterruptedGit(options: GitOptions): Promise<string[]> {
  const gitDir = await gitValue(["rev-parse", "--absolute-git-dir"], options);
  const cleared: string[] = [];
  for (const lock of await lockFiles(gitDir)) {
    await rm(lock, { force: true });
    cleared.push(relative(gitDir, lock));
  }
  for (const dir of ["rebase-merge", "rebase-apply"]) {
    if (!(await exists(join(gitDir, dir)))) continue;
    const aborted = await tryGit(["rebase", "--abort"], options);
    // A rebase killed before it wrote its own state cannot be aborted; its directory alone is
    // what stops the next one.
    if (aborted.code !== 0) await rm(join(gitDir, dir), { recursive: true, force: true });
    cleared.push(dir);
  }
  return cleared;
}

/** Every `*.lock` below the git dir, except in the object store (large, and git locks nothing there). */
async function lockFiles(dir: string, top = true): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory() && !(top && entry.name === "objects"))
      found.push(...(await lockFiles(path, false)));
    else if (entry.isFile() && entry.name.endsWith(".lock")) found.push(path);
  }
  return found;
}

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  );
