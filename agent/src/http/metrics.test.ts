import { describe, expect, it } from "vitest";
import { promtoolCheck } from "#test/support/promtool.ts";
import type { UpdateOutcome } from "../engine/outcome.ts";
import { sampleStatus } from "./fake-control.ts";
import { AgentMetrics, HttpCounters, renderMetrics } from "./metrics.ts";

const build = { version: "1.2.3", commit: "0123456789abcdef0123456789abcdef01234567" };

const attempt = (result: UpdateOutcome["result"], extra: Partial<UpdateOutcome> = {}): UpdateOutcome => ({
  bot: "acme-support",
  result,
  from: null,
  to: "sha256:0",
  reason: "",
  durationMs: 4000,
  timings: { pull: 1500, stop: 200, recreate: 300, health: 2000 },
  snapshots: [],
  ...extra,
});

/** Lines of one family's samples, e.g. `name{labels} value`. */
function samples(text: string, name: string): string[] {
  return text.split("\n").filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
}

describe("the agent's /metrics", () => {
  it("passes promtool check metrics, process metrics and all, after updates and requests", async () => {
    const metrics = new AgentMetrics({
      host: "host-a",
      branch: "main",
      build,
      notificationQueueLength: () => 3,
    });
    const http = new HttpCounters();
    http.countRequest("GET", 'a"b\\c\nd', 200);
    http.countWebhook("ping");
    metrics.recordAttempt(attempt("rolled-back"));
    metrics.recordAttempt(attempt("updated", { downtimeMs: 700 }));
    metrics.recordUpdate(attempt("updated"), 9000);
    metrics.recordReconcile(true, 1.5);
    const text = await renderMetrics({ status: sampleStatus(), metrics, http });

    const checked = promtoolCheck(text);
    expect(checked.output).toBe("");
    expect(checked.code).toBe(0);
    expect(text).toContain(
      'fleetwave_http_requests_total{method="GET",route="a\\"b\\\\c\\nd",status="200"} 1\n',
    );
    expect(text).toContain(
      `fleetwave_info{version="1.2.3",commit="${build.commit}",host="host-a",branch="main"} 1\n`,
    );
    expect(text).toContain("process_cpu_user_seconds_total");
    expect(text).toContain("fleetwave_notification_queue_length 3\n");
  });

  it("counts one update per bot update, however many attempts it took", async () => {
    const metrics = new AgentMetrics({ host: "h", branch: "main", build, processMetrics: false });
    metrics.recordAttempt(attempt("rolled-back"));
    metrics.recordAttempt(attempt("updated", { downtimeMs: 700 }));
    metrics.recordUpdate(attempt("updated"), 9000);
    const text = await renderMetrics({ status: sampleStatus(), metrics, http: new HttpCounters() });

    expect(samples(text, "fleetwave_bot_updates_total")).toEqual(
      expect.arrayContaining([
        'fleetwave_bot_updates_total{result="updated"} 1',
        'fleetwave_bot_updates_total{result="rolled-back"} 0',
      ]),
    );
    expect(text).toContain("fleetwave_rollbacks_total 1\n");
    expect(text).toContain('fleetwave_update_duration_seconds_sum{result="updated"} 9\n');
    expect(text).toContain('fleetwave_update_duration_seconds_count{result="updated"} 1\n');
    expect(text).toContain('fleetwave_update_phase_duration_seconds_count{phase="pull"} 2\n');
    expect(text).toContain('fleetwave_update_phase_duration_seconds_sum{phase="health"} 4\n');
    expect(text).toContain("fleetwave_update_downtime_seconds_count 1\n");
    expect(text).toContain('fleetwave_update_downtime_seconds_bucket{le="1"} 1\n');
    expect(text).not.toContain("process_cpu_user_seconds_total");
    expect(text).not.toContain("fleetwave_notification_queue_length");
  });

  it("reports zeros before anything happened", async () => {
    const metrics = new AgentMetrics({ host: "h", branch: "main", build, processMetrics: false });
    const status = { ...sampleStatus(), lastReconcileAt: undefined, lastError: undefined };
    const text = await renderMetrics({ status, metrics, http: new HttpCounters() });
    expect(text).toContain("fleetwave_last_reconcile_timestamp_seconds 0\n");
    expect(text).toContain("fleetwave_last_error_timestamp_seconds 0\n");
    expect(text).toContain('fleetwave_bot_updates_total{result="failed"} 0\n');
    expect(text).toContain('fleetwave_webhook_deliveries_total{outcome="invalid"} 0\n');
    expect(text).toContain('fleetwave_reconciles_total{outcome="failed"} 0\n');
  });
});
