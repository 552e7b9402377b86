import { describe, expect, it } from "vitest";
import { formatAuditCommit } from "./commit-message.ts";
import { filterHistory, formatHistoryTable, historyRows } from "./history.ts";

const A = `sha256:${"a".repeat(64)}`;
const B = `sha256:${"b".repeat(64)}`;

describe("audit commits", () => {
  const message = formatAuditCommit({
    host: "host-a",
    subject: "rollout 2026-11-27T0612Z-bbbbbbbb wave 1",
    rollout: "2026-11-27T0612Z-bbbbbbbb",
    records: [
      { bot: "acme-main", result: "updated", from: A, to: B, reason: "", durationMs: 8200 },
      {
        bot: "beta-1",
        result: "rolled-back",
        from: A,
        to: B,
        reason: "health check timed out after 120s; volumes restored",
      },
    ],
  });

  it("follows the structured message of the design", () => {
    expect(message).toBe(
      [
        "fleetwave(host-a): rollout 2026-11-27T0612Z-bbbbbbbb wave 1: 1 updated, 1 rolled back",
        "",
        `acme-main: updated ${A} -> ${B} in 8.2s`,
        `beta-1: rolled back to ${A}: health check timed out after 120s; volumes restored`,
        "",
        "Fleetwave-Host: host-a",
        "Fleetwave-Rollout: 2026-11-27T0612Z-bbbbbbbb",
        "Fleetwave-Event: bot.updated acme-main",
        "Fleetwave-Event: bot.update_failed beta-1",
        `Fleetwave-Update: acme-main updated ${A} ${B}`,
        `Fleetwave-Update: beta-1 rolled-back ${A} ${B}`,
        "",
      ].join("\n"),
    );
  });

  it("reads back into history rows, filtered by bot, tenant or rollout", () => {
    const trailers = message.split("\n\n").at(-1)!;
    const rows = historyRows([
      { sha: "c0ffee1234567", date: "2026-11-27T06:20:00Z", author: "Fleetwave Agent", trailers },
      { sha: "deadbeef99999", date: "2026-11-27T07:00:00Z", author: "ops", trailers: "Signed-off-by: x" },
    ]);
    expect(rows).toEqual([
      {
        when: "2026-11-27T06:20:00Z",
        host: "host-a",
        bot: "acme-main",
        from: A,
        to: B,
        result: "updated",
        actor: "agent host-a",
        rollout: "2026-11-27T0612Z-bbbbbbbb",
        commit: "c0ffee1234567",
      },
      {
        when: "2026-11-27T06:20:00Z",
        host: "host-a",
        bot: "beta-1",
        from: A,
        to: B,
        result: "rolled-back",
        actor: "agent host-a",
        rollout: "2026-11-27T0612Z-bbbbbbbb",
        commit: "c0ffee1234567",
      },
    ]);
    expect(filterHistory(rows, { bot: "beta-1" }).map((r) => r.bot)).toEqual(["beta-1"]);
    expect(
      filterHistory(rows, { tenant: "acme", tenantOf: (b) => b.split("-")[0] }).map((r) => r.bot),
    ).toEqual(["acme-main"]);
    expect(filterHistory(rows, { rollout: "other" })).toEqual([]);
    expect(formatHistoryTable(rows).split("\n")[1]).toMatch(
      /^2026-11-27T06:20:00Z\s+host-a\s+acme-main\s+aaaaaaaaaaaa\s+bbbbbbbbbbbb\s+updated\s+agent host-a\s+c0ffee1234$/,
    );
  });

  it("names the actor of an API action", () => {
    const m = formatAuditCommit({
      host: "host-a",
      subject: "update now",
      actor: "alice",
      records: [{ bot: "x1", result: "updated", from: null, to: B, reason: "" }],
    });
    expect(historyRows([{ sha: "1", date: "d", author: "a", trailers: m }])[0]).toMatchObject({
      actor: "alice",
      from: "none",
    });
  });
});
