import { describe, expect, it } from "vitest";
import { sampleStatus } from "./fake-control.ts";
import { HttpCounters, renderMetrics } from "./metrics.ts";

describe("renderMetrics", () => {
  const snapshot = {
    updates: {},
    rollbacks: 0,
    reconciles: { ok: 0, failed: 0, durationSecondsSum: 0 },
    pushQueueLength: 0,
  };

  it("escapes label values and reports zeros before anything happened", () => {
    const http = new HttpCounters();
    http.countRequest("GET", 'a"b\\c\nd', 200);
    const status = { ...sampleStatus(), lastReconcileAt: undefined, lastError: undefined };
    const text = renderMetrics({ host: "host-a", branch: "release/1.x", status, snapshot, http });
    expect(text).toContain(
      'fleetwave_http_requests_total{method="GET",route="a\\"b\\\\c\\nd",status="200"} 1\n',
    );
    expect(text).toContain('fleetwave_info{host="host-a",branch="release/1.x"} 1\n');
    expect(text).toContain("fleetwave_last_reconcile_timestamp_seconds 0\n");
    expect(text).toContain("fleetwave_last_error_timestamp_seconds 0\n");
    expect(text).toContain('fleetwave_bot_updates_total{result="failed"} 0\n');
    expect(text).not.toContain("fleetwave_notification_queue_length");
  });

  it("declares every family once, HELP before TYPE before samples", () => {
    const text = renderMetrics({
      host: "h",
      branch: "main",
      status: sampleStatus(),
      snapshot: { ...snapshot, notificationQueueLength: 3 },
      http: new HttpCounters(),
    });
    const types = text.split("\n").filter((l) => l.startsWith("# TYPE "));
    expect(new Set(types).size).toBe(types.length);
    expect(text).toMatch(
      /# HELP fleetwave_notification_queue_length .*\n# TYPE fleetwave_notification_queue_length gauge\nfleetwave_notification_queue_length 3\n/,
    );
  });
});
