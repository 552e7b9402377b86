import { execFile } from "node:child_process";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { Git } from "../git/git.ts";
import type { StatusAtRef } from "../git/status-refs.ts";
import { commitUnverified, type TrustOptions, verifiedTip } from "../git/verify.ts";
import { FileReadCache, type FleetState } from "../model/fleet-state.ts";
import { loadFleetState } from "../model/load.ts";
import type { Problem } from "../model/problems.ts";
import type { Workspace } from "./workspace.ts";

const run = promisify(execFile);

export type Loaded =
  | { ok: true; state: FleetState; commit: string }
  | {
      ok: false;
      problems: Problem[];
      commit: string;
      fallback?: { state: FleetState; commit: string };
      /** The commit is refused because its signature does not verify (not because it is invalid). */
      unverified?: true;
    };

/**
 * Loads fleet-state from the clone. An invalid commit never replaces the last valid state: the
 * agent keeps acting on what it had, and after a restart it rebuilds that state from the last
 * valid commit it recorded in its data dir. With `trust`, a commit whose signature does not
 * verify is refused the same way (git/verify.ts), and so is everything after it: the agent acts
 * on the newest verified commit, recorded in the data dir as the start of the next walk.
 */
export class DesiredState {
  private lastValid?: { state: FleetState; commit: string };
  /** What the last valid load read (HEAD and every status blob), and the state it gave. */
  private lastKey?: { key: string; loaded: { state: FleetState; commit: string } };
  /** Each file of the clone's fleet-state as last read: a tick re-reads only the files that changed. */
  private readonly files = new FileReadCache();
  private readonly trustedStatus = new Map<string, StatusAtRef>();
  /** The newest desired-state commit as found for a HEAD. */
  private lastDesired?: { head: string; commit: string };
  /** Hosts whose status tip did not verify at the last load, with why (empty without trust). */
  refusedStatus: string[] = [];
  private readonly marker: string;
  private readonly verifiedMarker: string;

  constructor(
    private readonly ws: Workspace,
    private readonly dataDir: string,
    private readonly trust?: TrustOptions,
  ) {
    this.marker = join(dataDir, "last-valid-commit");
    this.verifiedMarker = join(dataDir, "last-verified-commit");
  }

  get current(): { state: FleetState; commit: string } | undefined {
    return this.lastValid;
  }

  async load(): Promise<Loaded> {
    if (this.trust) {
      const refused = await this.refuseUnverified(this.trust);
      if (refused) return refused;
    }
    const fetched = await this.ws.statusRefs();
    const refs = this.trust ? await this.verifiedStatus(fetched, this.trust) : fetched;
    // Nothing moved since the last load (the usual idle tick): parsing every host's status again
    // is the cost that grows with the fleet, and even the walk to the last desired-state commit
    // is not needed.
    const head = await this.ws.head();
    const key = `${head} ${[...refs.values()].map((r) => `${r.host}:${r.blob}`).join(",")}`;
    if (this.lastKey?.key === key && this.lastKey.loaded === this.lastValid)
      return { ok: true, ...this.lastValid };
    // Only a status moved (most ticks of a rollout): the desired-state commit is the one found
    // for this HEAD before, without a walk of history.
    const commit =
      this.lastDesired?.head === head ? this.lastDesired.commit : await this.ws.desiredStateCommit();
    this.lastDesired = { head, commit };
    const statusFiles = new Map([...refs].map(([host, r]) => [host, r.text]));
    const result = await loadFleetState(this.ws.stateDir, this.ws.o.dir, { statusFiles, cache: this.files });
    this.lastKey = undefined;
    if (result.ok) {
      this.lastValid = { state: result.state, commit };
      this.lastKey = { key, loaded: this.lastValid };
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

  /**
   * Walks the fetched branch from the last verified commit; when a commit does not verify, loads
   * the newest verified one instead of the working tree and says why.
   */
  private async refuseUnverified(trust: TrustOptions): Promise<Loaded | undefined> {
    const anchor = await readCommit(this.verifiedMarker);
    const result = await verifiedTip({ cwd: this.ws.o.dir }, trust, anchor, await this.ws.remoteTip());
    if (result.verified && result.verified !== anchor)
      await writeFile(this.verifiedMarker, `${result.verified}\n`);
    if (result.ok) return undefined;
    if (result.verified && this.lastValid?.commit !== result.verified) {
      const refs = await this.verifiedStatus(await this.ws.statusRefs(), trust);
      const verified = await this.fromCommit(result.verified, refs);
      if (verified) this.lastValid = verified;
    }
    // No fallback to last-valid-commit here: it may predate --verify-commits and never have verified.
    const { commit, reason } = result.rejected;
    const acting = this.lastValid ? `acting on ${this.lastValid.commit.slice(0, 12)}` : "acting on nothing";
    return {
      ok: false,
      unverified: true,
      commit,
      problems: [
        {
          file: `commit ${commit.slice(0, 12)}`,
          line: 0,
          field: "signature",
          message: `${reason}; it and every commit after it are ignored (${acting}) until the branch no longer contains it`,
        },
      ],
      ...(this.lastValid ? { fallback: this.lastValid } : {}),
    };
  }

  /**
   * Every host's status as of its newest tip that verifies: status steers agents (the wave
   * barrier, the threshold, a new bot's digest), so a tip nobody trusted signed is not read; the
   * last verified one stands in (none before the first), and `refusedStatus` says why.
   */
  private async verifiedStatus(
    refs: Map<string, StatusAtRef>,
    trust: TrustOptions,
  ): Promise<Map<string, StatusAtRef>> {
    const out = new Map<string, StatusAtRef>();
    const refused: string[] = [];
    for (const [host, ref] of refs) {
      const known = this.trustedStatus.get(host);
      if (known?.commit !== ref.commit) {
        const reason = await commitUnverified({ cwd: this.ws.o.dir }, trust, ref.commit);
        if (reason) {
          refused.push(`status of ${host} at ${ref.commit.slice(0, 12)}: ${reason}`);
          if (known) out.set(host, known);
          continue;
        }
        this.trustedStatus.set(host, ref);
      }
      out.set(host, ref);
    }
    this.refusedStatus = refused;
    return out;
  }

  private async fromMarker(): Promise<{ state: FleetState; commit: string } | undefined> {
    const commit = await readCommit(this.marker);
    return commit ? this.fromCommit(commit, await this.ws.statusRefs()) : undefined;
  }

  /** fleet-state as of `commit`, extracted into the data dir (git archive), when it is valid. */
  private async fromCommit(
    commit: string,
    refs: Map<string, StatusAtRef>,
  ): Promise<{ state: FleetState; commit: string } | undefined> {
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
    const statusFiles = new Map([...refs].map(([host, r]) => [host, r.text]));
    const result = await loadFleetState(join(dir, "fleet-state"), dir, { statusFiles });
    return result.ok ? { state: result.state, commit } : undefined;
  }
}

async function readCommit(file: string): Promise<string | undefined> {
  const commit = (await readFile(file, "utf8").catch(() => "")).trim();
  return /^[0-9a-f]{40}$/.test(commit) ? commit : undefined;
}
