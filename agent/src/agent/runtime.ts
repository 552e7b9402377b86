import { join } from "node:path";
import { buildInfo } from "../build-info.ts";
import type { EnginePort } from "../docker/engine-port.ts";
import { EngineAvailability } from "../engine/engine-wait.ts";
import { IncidentBook } from "../engine/heal-bot.ts";
import { Journal } from "../engine/journal.ts";
import type { UpdateOutcome } from "../engine/outcome.ts";
import type { EngineOptions } from "../engine/update-bot.ts";
import { MountpointSnapshotter } from "../engine/volume-snapshots.ts";
import type { TrustOptions } from "../git/verify.ts";
import type { AgentErrorView } from "../http/control.ts";
import { AgentMetrics } from "../http/metrics.ts";
import type { Logger } from "../log/logger.ts";
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
  /** The container engine: `DockerAdapter` in production. */
  docker: EnginePort;
  identity?: Identity;
  /** Made once the first valid fleet-state is loaded (it carries the SMTP and webhook config). */
  notifier?: (state: FleetState) => Promise<Notifier>;
  /** The agent's logger, made once per process; its lines already carry the host. */
  logger: Logger;
  now?: () => Date;
  stopTimeoutSeconds?: number;
  /** Limit of each git clone, fetch and push (default 60 s). */
  gitTimeoutMs?: number;
  /** Act only on fleet-state commits whose signatures verify (git/verify.ts). */
  trust?: TrustOptions;
  /** The SSH private key (path) this agent signs its commits with. */
  signingKey?: string;
  /** The only directory a bot's `env: { fromFile }` may read secrets from (default /etc/fleetwave/secrets). */
  secretsDir?: string;
}

/** What one reconcile did; `--once` exits 1 when `failed`, `errors` or `down` is not empty. */
export interface TickReport {
  outcomes: UpdateOutcome[];
  failed: string[];
  errors: string[];
  /** Declared bots left not running (or not healthy) by this reconcile. */
  down: string[];
  /**
   * The earliest time a gate this host waits on opens by the clock alone (a wave's pause, a
   * tenant's window; plan/wake.ts): the next reconcile is due then at the latest.
   */
  wakeAt?: Date;
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
  readonly log: Logger;
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
  readonly metrics: AgentMetrics;

  constructor(readonly o: AgentOptions) {
    this.host = o.host;
    this.watchedBranch = o.branch;
    this.log = o.logger;
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
      log: (line) => this.log.warn(line),
      ...(o.signingKey ? { signingKey: o.signingKey } : {}),
    });
    this.desired = new DesiredState(this.ws, o.dataDir, o.trust);
    this.journal = new Journal(o.dataDir);
    this.store = new SnapshotStore({ dataDir: o.dataDir });
    this.snapshotter = new MountpointSnapshotter(o.docker, this.store);
    this.book = StatusBook.empty(o.host);
    this.metrics = new AgentMetrics({
      host: o.host,
      branch: o.branch,
      build: buildInfo(),
      notificationQueueLength: () => this.notifier?.pendingCount(),
    });
    this.availability.onChange((since) => {
      if (since)
        this.setError("docker-engine", `the Docker Engine is unavailable since ${since.toISOString()}`);
      else if (this.lastError?.source === "docker-engine") this.lastError = undefined;
    });
  }

  get statusPath(): string {
    return `fleet-state/status/${this.host}.yaml`;
  }

  /** `log` is the logger the engine's lines go to: pass a child carrying the bot and rollout. */
  engineOptions(fleet: FleetState["fleet"], strategy: Strategy, log: Logger = this.log): EngineOptions {
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
      log,
      ...(this.o.secretsDir ? { secretsDir: this.o.secretsDir } : {}),
    };
  }

  setError(source: string, message: string): void {
    this.lastError = { source, message, at: this.now().toISOString() };
    this.log.error({ source }, message);
  }

  /** Keeps background work (an API-started update, a requested reconcile) for `stop` to wait on. */
  track(work: Promise<unknown>): void {
    this.background.add(work);
    void work.finally(() => this.background.delete(work));
  }
}
