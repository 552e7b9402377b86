import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, sep } from "node:path";
import {
  buildFleetState,
  type FileReadCache,
  type FleetStateResult,
  type OversizedFile,
  type StateFile,
} from "./fleet-state.ts";
import { MAX_FILE_BYTES } from "./limits.ts";

const SUBDIRS = ["tenants", "rollouts", "status"] as const;

/** Where fleet-state files come from besides the directory. */
export interface LoadOptions {
  /**
   * Host -> the text of its status file as its status ref holds it (docs/contracts.md). It
   * replaces `status/<host>.yaml` of the directory: a repository that still has status files on
   * its branch keeps them for the hosts whose agents have not moved to their ref yet.
   */
  statusFiles?: ReadonlyMap<string, string>;
  /** Kept by a caller that loads the same directory again and again (the agent, every tick). */
  cache?: FileReadCache;
}

/** Reads a fleet-state directory. Problems name files relative to `cwd` so they can be opened. */
export async function loadFleetState(
  dir: string,
  cwd = process.cwd(),
  options: LoadOptions = {},
): Promise<FleetStateResult> {
  const files: (StateFile | OversizedFile)[] = [];
  const fleet = readOptional(join(dir, "fleet.yaml"), "fleet.yaml");
  if (fleet) files.push(fleet);
  for (const sub of SUBDIRS) {
    let names: string[];
    try {
      names = readdirSync(join(dir, sub));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") continue;
      throw error;
    }
    for (const name of names) {
      if (name.startsWith(".")) continue;
      const file = readOptional(join(dir, sub, name), `${sub}/${name}`);
      if (file) files.push(file);
    }
  }
  const overlay = options.statusFiles ?? new Map<string, string>();
  const merged = files.filter((f) => !overlay.has(/^status\/(.+)\.ya?ml$/.exec(f.path)?.[1] ?? ""));
  for (const [host, text] of overlay) {
    const path = `status/${host}.yaml`;
    const bytes = Buffer.byteLength(text);
    merged.push(bytes > MAX_FILE_BYTES ? { path, bytes } : { path, text });
  }
  const shown = relative(cwd, dir);
  const prefix = shown === "" ? "" : `${(shown.startsWith("..") ? dir : shown).split(sep).join("/")}/`;
  return buildFleetState(merged, prefix, options.cache);
}

/**
 * A file too large for fleet-state is only measured: reading 50 MB to refuse it is the harm.
 * Synchronous on purpose: the validation after it blocks the event loop anyway, and 2,000 tenant
 * files read through fs/promises cost ~10× the CPU (~300 ms against ~30 ms, bench/README.md).
 */
function readOptional(path: string, shown: string): StateFile | OversizedFile | undefined {
  try {
    const { size } = statSync(path);
    if (size > MAX_FILE_BYTES) return { path: shown, bytes: size };
    return { path: shown, text: readFileSync(path, "utf8") };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "EISDIR") return undefined;
    throw error;
  }
}
