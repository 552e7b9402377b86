import { readdir, readFile } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { buildFleetState, type FleetStateResult, type StateFile } from "./fleet-state.ts";

const SUBDIRS = ["tenants", "rollouts", "status"] as const;

/** Reads a fleet-state directory. Problems name files relative to `cwd` so they can be opened. */
export async function loadFleetState(dir: string, cwd = process.cwd()): Promise<FleetStateResult> {
  const files: StateFile[] = [];
  const fleetText = await readOptional(join(dir, "fleet.yaml"));
  if (fleetText !== undefined) files.push({ path: "fleet.yaml", text: fleetText });
  for (const sub of SUBDIRS) {
    let names: string[];
    try {
      names = await readdir(join(dir, sub));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") continue;
      throw error;
    }
    for (const name of names) {
      if (name.startsWith(".")) continue;
      const text = await readOptional(join(dir, sub, name));
      if (text !== undefined) files.push({ path: `${sub}/${name}`, text });
    }
  }
  const shown = relative(cwd, dir);
  const prefix = shown === "" ? "" : `${(shown.startsWith("..") ? dir : shown).split(sep).join("/")}/`;
  return buildFleetState(files, prefix);
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "EISDIR") return undefined;
    throw error;
  }
}
