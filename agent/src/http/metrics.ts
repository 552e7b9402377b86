/**
 * `GET /metrics` through prom-client. Three registries are merged per scrape: the agent's own
 * (counters and histograms of updates and reconciles, the default process metrics, build info),
 * the HTTP module's (requests, webhook deliveries), and gauges read from the agent's status at
 * scrape time (bots by state, rollouts, pause, timestamps), so those are never out of date.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { BuildInfo } from "../build-info.ts";
import type { Timings, UpdateOutcome } from "../engine/outcome.ts";
import { rolloutControlStates } from "../model/rollout.ts";
import { botStates, updateResults } from "../model/status.ts";
import type { AgentStatusView } from "./control.ts";

export const METRICS_CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE;

export const WEBHOOK_OUTCOMES = ["reconcile", "ignored", "replay", "ping", "rejected", "invalid"] as const;
export type WebhookOutcome = (typeof WEBHOOK_OUTCOMES)[number];

const PHASES: readonly (keyof Timings)[] = [
  "preflight",
  "pull",
  "stop",
  "snapshot",
  "recreate",
  "health",
  "rollback",
];

/** Seconds; updates take from under a second (no volumes) to minutes (large snapshots). */
const UPDATE_BUCKETS = [0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800];
/** Seconds a bot answers nobody: from stop to the first healthy answer of the new container. */
const DOWNTIME_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
const LINT_FAILING_DEFAULTS = [
  "nodejs_active_handles_total",
  "nodejs_active_requests_total",
  "nodejs_active_resources_total",
];
const RECONCILE_BUCKETS = [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900];

export interface AgentMetricsOptions {
  host: string;
  branch: string;
  build: BuildInfo;
  /** Notifications waiting to be (re)sent; undefined while no notifier exists yet. */
  notificationQueueLength?: () => number | undefined;
  /** The default process metrics of prom-client (CPU, memory, event loop, handles); default on. */
  processMetrics?: boolean;
}

/** What the agent counts and times, since it started (Prometheus handles restarts). */
export class AgentMetrics {
  readonly registry = new Registry();
  /** Local status commits not pushed yet (non-zero while the remote is unreachable). */
  pushQueueLength = 0;
  private readonly updates: Counter<"result">;
  private readonly rollbacks: Counter;
  private readonly updateDuration: Histogram<"result">;
  private readonly phaseDuration: Histogram<"phase">;
  private readonly downtime: Histogram;
  private readonly reconciles: Counter<"outcome">;
  private readonly reconcileDuration: Histogram;
  private readonly lastReconcileDuration: Gauge;

  constructor(o: AgentMetricsOptions) {
    const registers = [this.registry];
    if (o.processMetrics ?? true) {
      collectDefaultMetrics({ register: this.registry });
      // Gauges named like counters fail `promtool check metrics`; their per-type gauges
      // (nodejs_active_handles{type}, …) carry the same counts.
      for (const name of LINT_FAILING_DEFAULTS) this.registry.removeSingleMetric(name);
    }
    new Gauge({
      name: "fleetwave_info",
      help: "Constant 1, labelled with the agent's version, commit, host id and watched branch.",
      labelNames: ["version", "commit", "host", "branch"],
      registers,
    }).set({ version: o.build.version, commit: o.build.commit, host: o.host, branch: o.branch }, 1);
    this.updates = new Counter({
      name: "fleetwave_bot_updates_total",
      help: "Bot updates finished since the agent started, by final result (retries are not counted apart).",
      labelNames: ["result"],
      registers,
    });
    for (const result of updateResults) this.updates.inc({ result }, 0);
    this.rollbacks = new Counter({
      name: "fleetwave_rollbacks_total",
      help: "Rollbacks performed, in any attempt (successful or not).",
      registers,
    });
    this.updateDuration = new Histogram({
      name: "fleetwave_update_duration_seconds",
      help: "Wall time of each bot update, all its attempts together, by final result.",
      labelNames: ["result"],
      buckets: UPDATE_BUCKETS,
      registers,
    });
    this.phaseDuration = new Histogram({
      name: "fleetwave_update_phase_duration_seconds",
      help: "Time spent in each phase of each update attempt.",
      labelNames: ["phase"],
      buckets: UPDATE_BUCKETS,
      registers,
    });
    this.downtime = new Histogram({
      name: "fleetwave_update_downtime_seconds",
      help: "Per update attempt that replaced the container: from the old one's stop to the new one's first healthy answer.",
      buckets: DOWNTIME_BUCKETS,
      registers,
    });
    this.reconciles = new Counter({
      name: "fleetwave_reconciles_total",
      help: "Finished reconciles, by outcome.",
      labelNames: ["outcome"],
      registers,
    });
    for (const outcome of ["ok", "failed"]) this.reconciles.inc({ outcome }, 0);
    this.reconcileDuration = new Histogram({
      name: "fleetwave_reconcile_duration_seconds",
      help: "Time spent in reconciles.",
      buckets: RECONCILE_BUCKETS,
      registers,
    });
    this.lastReconcileDuration = new Gauge({
      name: "fleetwave_last_reconcile_duration_seconds",
      help: "Duration of the last finished reconcile (0 before the first).",
      registers,
    });
    const metrics = this;
    new Gauge({
      name: "fleetwave_push_queue_length",
      help: "Local status commits not pushed to the remote yet.",
      registers,
      collect() {
        this.set(metrics.pushQueueLength);
      },
    });
    const pending = o.notificationQueueLength;
    if (pending) {
      new Gauge({
        name: "fleetwave_notification_queue_length",
        help: "Notifications waiting to be sent (0 before the first valid fleet-state).",
        registers,
        collect() {
          this.set(pending() ?? 0);
        },
      });
    }
  }

  /** One attempt of the update engine: its phases, its downtime, a rollback it did. */
  recordAttempt(outcome: UpdateOutcome): void {
    for (const phase of PHASES) {
      const ms = outcome.timings[phase];
      if (ms !== undefined) this.phaseDuration.observe({ phase }, ms / 1000);
    }
    if (outcome.downtimeMs !== undefined) this.downtime.observe(outcome.downtimeMs / 1000);
    if (outcome.result === "rolled-back" || outcome.result === "rollback-failed") this.rollbacks.inc();
  }

  /** A bot update as a whole: counted once whatever the number of attempts it took. */
  recordUpdate(outcome: UpdateOutcome, totalMs: number): void {
    this.updates.inc({ result: outcome.result });
    this.updateDuration.observe({ result: outcome.result }, totalMs / 1000);
  }

  recordReconcile(ok: boolean, seconds: number): void {
    this.reconciles.inc({ outcome: ok ? "ok" : "failed" });
    this.reconcileDuration.observe(seconds);
    this.lastReconcileDuration.set(seconds);
  }
}

/** Counts kept by the HTTP module itself. */
export class HttpCounters {
  readonly registry = new Registry();
  private readonly requests = new Counter({
    name: "fleetwave_http_requests_total",
    help: "HTTP requests answered, by method, route and status.",
    labelNames: ["method", "route", "status"],
    registers: [this.registry],
  });
  private readonly webhooks = new Counter({
    name: "fleetwave_webhook_deliveries_total",
    help: "GitHub webhook deliveries, by outcome.",
    labelNames: ["outcome"],
    registers: [this.registry],
  });

  constructor() {
    for (const outcome of WEBHOOK_OUTCOMES) this.webhooks.inc({ outcome }, 0);
  }

  countRequest(method: string, route: string, status: number): void {
    this.requests.inc({ method, route, status: String(status) });
  }

  countWebhook(outcome: WebhookOutcome): void {
    this.webhooks.inc({ outcome });
  }
}

function seconds(iso: string | undefined): number {
  if (iso === undefined) return 0;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? 0 : ms / 1000;
}

/** The gauges read from the status at scrape time. */
function statusRegistry(status: AgentStatusView): Registry {
  const registry = new Registry();
  const registers = [registry];
  const gauge = (name: string, help: string, value: number) =>
    new Gauge({ name, help, registers }).set(value);
  gauge(
    "fleetwave_last_reconcile_timestamp_seconds",
    "Unix time the last reconcile finished (0 before the first).",
    seconds(status.lastReconcileAt),
  );
  gauge(
    "fleetwave_last_error_timestamp_seconds",
    "Unix time of the agent's current unresolved error (0 when there is none).",
    seconds(status.lastError?.at),
  );
  const bots = new Gauge({
    name: "fleetwave_bots",
    help: "Bots on this host, by state.",
    labelNames: ["state"],
    registers,
  });
  for (const state of botStates) bots.set({ state }, status.bots.filter((b) => b.state === state).length);
  gauge(
    "fleetwave_bots_update_available",
    "Bots of manual tenants waiting for Update now.",
    status.bots.filter((b) => b.updateAvailable !== undefined).length,
  );
  const rollouts = new Gauge({
    name: "fleetwave_rollouts",
    help: "Rollout plans in the current fleet-state, by control state.",
    labelNames: ["state"],
    registers,
  });
  for (const state of rolloutControlStates)
    rollouts.set({ state }, status.rollouts.filter((r) => r.control.state === state).length);
  gauge("fleetwave_fleet_paused", "1 while the fleet is paused in fleet.yaml.", status.paused ? 1 : 0);
  return registry;
}

export interface MetricsInput {
  status: AgentStatusView;
  metrics: AgentMetrics;
  http: HttpCounters;
}

export function renderMetrics({ status, metrics, http }: MetricsInput): Promise<string> {
  return Registry.merge([metrics.registry, http.registry, statusRegistry(status)]).metrics();
}
