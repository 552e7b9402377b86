import { join } from "node:path";
import type { DockerAdapter } from "../docker/docker.ts";
import { EngineAvailability } from "../engine/engine-wait.ts";
import { IncidentBook } from "../engine/heal-bot.ts";
import { Journal } from "../engine/journal.ts";
import type { UpdateOutcome } from "../engine/outcome.ts";
import type { EngineOptions } from "../engine/update-bot.ts";
import { MountpointSnapshotter } from "../engine/volume-snapshots.ts";
import type { AgentErrorView, MetricsSnapshot } from "../http/control.ts";
import type { FleetState } from "../model/fleet-state.ts";
import type { Strategy } from "../model/strategy.ts";
import { SnapshotStore } from "../snapshot/index.ts";
import { DesiredState } from "./desired-state.ts";
import type { Notifier } from "./notifier.ts";
import { StatusBook } from "./status-book.ts";
import { type Identity, Workspace } from "./workspace.ts";

export interface AgentOptions {
  repo: string;
  host: string;
  branch: string;
  dataDir: string;
  docker: DockerAdapter;
  identity?: Identity;
  /** Made once the first valid fleet-state is loaded (it carries the SMTP and webhook config). */
  notifier?: (state: FleetState) => Promise<Notifier>;
  log?: (line: string) => void;
  now?: () => Date;
  stopTimeoutSeconds?: number;
  /** Limit of each git clone, fetch and push (default 60 s). */
  gitTimeoutMs?: number;
}

/** What one reconcile did; `--once` exits 1 when `failed`, `errors` or `down` is not empty. */
export interface TickReport {
  outcomes: UpdateOutcome[];
  failed: string[];
  errors: string[];
  /** Declared bots left not running (or not healthy) by this reconcile. */
  down: string[];
}

export const emptyReport = (): TickReport => ({ outcomes: [], failed: [], errors: [], down: [] });

/**
 * What the parts of one agent share: the clone, the desired state, this host's status book, the
 * engine's collaborators, and the flags and counters that the lifecycle, the rollout runner, the
 * bot updater, the status writer and the control adapter read and set.
 */
export class AgentRuntime {
  readonly host: string;
  readonly watchedBranch: string;
  readonly ws: Workspace;
  readonly desired: DesiredState;
  readonly journal: Journal;
  readonly store: SnapshotStore;
  readonly snapshotter: MountpointSnapshotter;
  readonly log: (line: string) => void;
  readonly now: () => Date;
  book: StatusBook;
  lastError?: AgentErrorView;
  lastReconcileAt?: string;
  recovered = false;
  stopping = false;
  /** Set while a fleet pause asked through the API is on its way into the working tree. */
  pauseRequested = false;
  /** Bots with an update in flight: a wave and "Update now" never touch the same bot at once. */
  readonly updating = new Set<string>();
  readonly background = new Set<Promise<unknown>>();
  notifier?: Notifier;
  report: TickReport = emptyReport();
  /** Whether the Engine answers, and since when it does not: every update waits on it. */
  readonly availability = new EngineAvailability();
  /** Bots that are down, so admins hear of each incident once. */
  readonly incidents = new IncidentBook();
  readonly counters: MetricsSnapshot = {
    updates: {},
    rollbacks: 0,
    reconciles: { ok: 0, failed: 0, durationSecondsSum: 0 },
    pushQueueLength: 0,
  };

  constructor(readonly o: AgentOptions) {
    this.host = o.host;
    this.watchedBranch = o.branch;
    this.log = o.log ?? ((line) => process.stderr.write(`${line}\n`));
    this.now = o.now ?? (() => new Date());
    this.ws = new Workspace({
      repo: o.repo,
      branch: o.branch,
      dir: join(o.dataDir, "repo"),
      identity: o.identity ?? {
        name: `Fleetwave Agent (${o.host})`,
        email: `fleetwave-agent@${o.host}.invalid`,
      },
      host: o.host,
      networkTimeoutMs: o.gitTimeoutMs ?? 60_000,
      log: this.log,
    });
    this.desired = new DesiredState(this.ws, o.dataDir);
    this.journal = new Journal(o.dataDir);
    this.store = new SnapshotStore({ dataDir: o.dataDir });
    this.snapshotter = new MountpointSnapshotter(o.docker, this.store);
    this.book = StatusBook.empty(o.host);
    this.availability.onChange((since) => {
      if (since)
        this.setError("docker-engine", `the Docker Engine is unavailable since ${since.toISOString()}`);
      else if (this.lastError?.source === "docker-engine") this.lastError = undefined;
    });
  }

  get statusPath(): string {
    return `fleet-state/status/${this.host}.yaml`;
  }

  engineOptions(fleet: FleetState["fleet"], strategy: Strategy): EngineOptions {
    return {
      docker: this.o.docker,
      journal: this.journal,
      snapshots: this.snapshotter,
      allowlist: fleet.images.allowlist,
      healthCheckTimeoutSeconds: strategy.healthCheckTimeoutSeconds,
      minHealthySeconds: strategy.minHealthySeconds,
      keepSnapshots: fleet.snapshots.keepAfterSuccess,
      precopy: fleet.snapshots.precopy,
      stopTimeoutSeconds: this.o.stopTimeoutSeconds ?? 10,
      availability: this.availability,
      log: this.log,
    };
  }

  setError(source: string, message: string): void {
    this.lastError = { source, message, at: this.now().toISOString() };
    this.log(`error (${source}): ${message}`);
  }

  /** Keeps background work (an API-started update, a requested reconcile) for `stop` to wait on. */
  track(work: Promise<unknown>): void {
    this.background.add(work);
    void work.finally(() => this.background.delete(work));
  }
}
