/**
 * `GET /metrics` in the Prometheus text exposition format (version 0.0.4), hand-written: a few
 * counters and gauges do not need a client library.
 */
import { rolloutControlStates } from "../model/rollout.ts";
import { botStates, updateResults } from "../model/status.ts";
import type { AgentStatusView, MetricsSnapshot } from "./control.ts";

export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

type Labels = Record<string, string>;
interface Sample {
  labels?: Labels;
  value: number;
  /** Appended to the family name, e.g. "_sum" for a summary. */
  suffix?: string;
}

export const WEBHOOK_OUTCOMES = ["reconcile", "ignored", "replay", "ping", "rejected", "invalid"] as const;
export type WebhookOutcome = (typeof WEBHOOK_OUTCOMES)[number];

/** Counts kept by the HTTP module itself. */
export class HttpCounters {
  /** key: method \0 route \0 status */
  readonly requests = new Map<string, number>();
  readonly webhooks = new Map<string, number>();

  countRequest(method: string, route: string, status: number): void {
    const key = `${method}\0${route}\0${status}`;
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
  }

  countWebhook(outcome: WebhookOutcome): void {
    this.webhooks.set(outcome, (this.webhooks.get(outcome) ?? 0) + 1);
  }
}

function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Number.POSITIVE_INFINITY) return "+Inf";
  if (value === Number.NEGATIVE_INFINITY) return "-Inf";
  return String(value);
}

function formatLabels(labels: Labels | undefined): string {
  if (!labels) return "";
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabelValue(v)}"`);
  return parts.length === 0 ? "" : `{${parts.join(",")}}`;
}

class Exposition {
  private readonly lines: string[] = [];

  family(name: string, type: "counter" | "gauge" | "summary", help: string, samples: Sample[]): void {
    this.lines.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`);
    for (const s of samples) {
      this.lines.push(`${name}${s.suffix ?? ""}${formatLabels(s.labels)} ${formatValue(s.value)}`);
    }
  }

  text(): string {
    return `${this.lines.join("\n")}\n`;
  }
}

function seconds(iso: string | undefined): number {
  if (iso === undefined) return 0;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? 0 : ms / 1000;
}

export interface MetricsInput {
  host: string;
  branch: string;
  status: AgentStatusView;
  snapshot: MetricsSnapshot;
  http: HttpCounters;
}

export function renderMetrics({ host, branch, status, snapshot, http }: MetricsInput): string {
  const out = new Exposition();
  out.family("fleetwave_info", "gauge", "Constant 1, labelled with the agent's host id and watched branch.", [
    { labels: { host, branch }, value: 1 },
  ]);
  out.family(
    "fleetwave_bot_updates_total",
    "counter",
    "Bot updates finished since the agent started, by result.",
    updateResults.map((result) => ({ labels: { result }, value: snapshot.updates[result] ?? 0 })),
  );
  out.family("fleetwave_rollbacks_total", "counter", "Rollbacks performed (successful or not).", [
    { value: snapshot.rollbacks },
  ]);
  out.family("fleetwave_reconciles_total", "counter", "Finished reconciles, by outcome.", [
    { labels: { outcome: "ok" }, value: snapshot.reconciles.ok },
    { labels: { outcome: "failed" }, value: snapshot.reconciles.failed },
  ]);
  out.family("fleetwave_reconcile_duration_seconds", "summary", "Time spent in reconciles.", [
    { suffix: "_sum", value: snapshot.reconciles.durationSecondsSum },
    { suffix: "_count", value: snapshot.reconciles.ok + snapshot.reconciles.failed },
  ]);
  out.family(
    "fleetwave_last_reconcile_duration_seconds",
    "gauge",
    "Duration of the last finished reconcile (0 before the first).",
    [{ value: snapshot.lastReconcileDurationSeconds ?? 0 }],
  );
  out.family(
    "fleetwave_last_reconcile_timestamp_seconds",
    "gauge",
    "Unix time the last reconcile finished (0 before the first).",
    [{ value: seconds(status.lastReconcileAt) }],
  );
  out.family(
    "fleetwave_last_error_timestamp_seconds",
    "gauge",
    "Unix time of the agent's current unresolved error (0 when there is none).",
    [{ value: seconds(status.lastError?.at) }],
  );
  out.family(
    "fleetwave_bots",
    "gauge",
    "Bots on this host, by state.",
    botStates.map((state) => ({
      labels: { state },
      value: status.bots.filter((b) => b.state === state).length,
    })),
  );
  out.family("fleetwave_bots_update_available", "gauge", "Bots of manual tenants waiting for Update now.", [
    { value: status.bots.filter((b) => b.updateAvailable !== undefined).length },
  ]);
  out.family(
    "fleetwave_rollouts",
    "gauge",
    "Rollout plans in the current fleet-state, by control state.",
    rolloutControlStates.map((state) => ({
      labels: { state },
      value: status.rollouts.filter((r) => r.control.state === state).length,
    })),
  );
  out.family("fleetwave_fleet_paused", "gauge", "1 while the fleet is paused in fleet.yaml.", [
    { value: status.paused ? 1 : 0 },
  ]);
  out.family("fleetwave_push_queue_length", "gauge", "Local status commits not pushed to the remote yet.", [
    { value: snapshot.pushQueueLength },
  ]);
  if (snapshot.notificationQueueLength !== undefined) {
    out.family("fleetwave_notification_queue_length", "gauge", "Notifications waiting to be sent.", [
      { value: snapshot.notificationQueueLength },
    ]);
  }
  out.family(
    "fleetwave_webhook_deliveries_total",
    "counter",
    "GitHub webhook deliveries, by outcome.",
    WEBHOOK_OUTCOMES.map((outcome) => ({
      labels: { outcome },
      value: http.webhooks.get(outcome) ?? 0,
    })),
  );
  out.family(
    "fleetwave_http_requests_total",
    "counter",
    "HTTP requests answered, by method, route and status.",
    [...http.requests.entries()].map(([key, value]) => {
      const [method, route, code] = key.split("\0") as [string, string, string];
      return { labels: { method, route, status: code }, value };
    }),
  );
  return out.text();
}
