import { execFile } from "node:child_process";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { Git } from "../git/git.ts";
import type { FleetState } from "../model/fleet-state.ts";
import { loadFleetState } from "../model/load.ts";
import type { Problem } from "../model/problems.ts";
import type { Workspace } from "./workspace.ts";

const run = promisify(execFile);

export type Loaded =
  | { ok: true; state: FleetState; commit: string }
  | { ok: false; problems: Problem[]; commit: string; fallback?: { state: FleetState; commit: string } };

/**
 * Loads fleet-state from the clone. An invalid commit never replaces the last valid state: the
 * agent keeps acting on what it had, and after a restart it rebuilds that state from the last
 * valid commit it recorded in its data dir.
 */
export class DesiredState {
  private lastValid?: { state: FleetState; commit: string };
  private lastKey?: string;
  private readonly marker: string;

  constructor(
    private readonly ws: Workspace,
    private readonly dataDir: string,
  ) {
    this.marker = join(dataDir, "last-valid-commit");
  }

  get current(): { state: FleetState; commit: string } | undefined {
    return this.lastValid;
  }

  async load(): Promise<Loaded> {
    const commit = await this.ws.desiredStateCommit();
    const refs = await this.ws.statusRefs();
    // Nothing moved since the last load (the usual idle tick): parsing every host's status again
    // is the cost that grows with the fleet.
    const key = `${await this.ws.head()} ${[...refs.values()].map((r) => `${r.host}:${r.blob}`).join(",")}`;
    if (this.lastKey === key && this.lastValid?.commit === commit) return { ok: true, ...this.lastValid };
    const statusFiles = new Map([...refs].map(([host, r]) => [host, r.text]));
    const result = await loadFleetState(this.ws.stateDir, this.ws.o.dir, { statusFiles });
    this.lastKey = result.ok ? key : undefined;
    if (result.ok) {
      this.lastValid = { state: result.state, commit };
      await writeFile(this.marker, `${commit}\n`);
      return { ok: true, state: result.state, commit };
    }
    this.lastValid ??= await this.fromMarker();
    return {
      ok: false,
      problems: result.problems,
      commit,
      ...(this.lastValid ? { fallback: this.lastValid } : {}),
    };
  }

  private async fromMarker(): Promise<{ state: FleetState; commit: string } | undefined> {
    const commit = (await readFile(this.marker, "utf8").catch(() => "")).trim();
    if (!/^[0-9a-f]{40}$/.test(commit)) return undefined;
    const dir = join(this.dataDir, "last-valid");
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    const tar = join(this.dataDir, "last-valid.tar");
    try {
      await new Git(this.ws.o.dir).archive(commit, ["fleet-state"], tar);
      await run("tar", ["-xf", tar, "-C", dir]);
    } catch {
      return undefined;
    } finally {
      await rm(tar, { force: true });
    }
    const result = await loadFleetState(join(dir, "fleet-state"), dir);
    return result.ok ? { state: result.state, commit } : undefined;
  }
}
