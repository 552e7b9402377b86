import { randomUUID } from "node:crypto";
import { open, readFile, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { z } from "zod";
import { FleetwaveError } from "../errors.ts";

/**
 * Makes a directory entry (a create, rename or delete inside `dir`) survive a power loss.
 * A directory that does not exist has no entry to make durable, so ENOENT is not an error.
 */
export async function fsyncDir(dir: string): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(dir, "r");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
    throw error;
  }
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export interface WriteAtomicOptions {
  /** File mode of a new file; the agent's state is private to it by default. */
  mode?: number;
}

/**
 * Writes `content` to `path` so that a reader, or the same path after a crash, sees either the
 * old file or the whole new one: a temporary sibling is written and fsynced, renamed over the
 * target, and the directory fsynced. The temporary file is removed when anything fails.
 */
export async function writeFileAtomic(
  path: string,
  content: string | Uint8Array,
  options: WriteAtomicOptions = {},
): Promise<void> {
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.${process.pid}.${randomUUID().slice(0, 8)}.tmp`);
  try {
    const handle = await open(temp, "wx", options.mode ?? 0o600);
    try {
      await handle.writeFile(content);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  await fsyncDir(dir);
}

/** A JSON state file that exists but cannot be trusted; the message says which and why. */
export class CorruptFileError extends FleetwaveError {
  constructor(
    readonly path: string,
    detail: string,
  ) {
    super(`${path}: ${detail}; move it aside or delete it if it is not needed`);
  }
}

/** Reads and validates a JSON file; undefined when it does not exist. */
export async function readJsonIfExists<S extends z.ZodType>(
  path: string,
  schema: S,
): Promise<z.output<S> | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new CorruptFileError(path, `not valid JSON (${(error as Error).message})`);
  }
  const parsed = schema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new CorruptFileError(path, `${issue.path.join(".") || "(root)"}: ${issue.message}`);
  }
  return parsed.data;
}
