import { describe, expect, it } from "vitest";
import { actionTrailer, type ControlAction, parseActionTrailer } from "./actions.ts";
import { formatActionCommit, formatAuditCommit } from "./commit-message.ts";
import { filterHistory, formatHistoryTable, type HistoryRow, historyRows } from "./history.ts";
import { chooseRollbackTarget, RollbackTargetError } from "./rollback-target.ts";

const A = `sha256:${"a".repeat(64)}`;
const B = `sha256:${"b".repeat(64)}`;
const C = `sha256:${"c".repeat(64)}`;
const trailersOf = (message: string) => message.split("\n\n").at(-1)!;

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
        kind: "update",
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
        kind: "update",
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
      /^2026-11-27T06:20:00Z\s+host-a\s+acme-main\s+aaaaaaaaaaaa\s+bbbbbbbbbbbb\s+updated\s+agent host-a\s+2026-11-27T0612Z-bbbbbbbb\s+c0ffee1234$/,
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

describe("control actions in the audit", () => {
  const actions: ControlAction[] = [
    { kind: "rollout.pause", rollout: "r1" },
    { kind: "rollout.resume", rollout: "r1" },
    { kind: "rollout.abort", rollout: "r1" },
    { kind: "fleet.pause" },
    { kind: "fleet.resume" },
    { kind: "quarantine.lift", image: "ghcr.io/acme/paperclip:managed", digest: B },
    { kind: "bot.rollback", bot: "acme-main", digest: A },
  ];

  it("writes every action as a trailer that reads back the same", () => {
    for (const a of actions) expect(parseActionTrailer(actionTrailer(a))).toEqual(a);
    expect(parseActionTrailer("rollout.pause")).toBeUndefined();
    expect(parseActionTrailer("bot.rollback acme-main")).toBeUndefined();
    expect(parseActionTrailer("rollout.explode r1")).toBeUndefined();
  });

  it("shows API edits, CLI actions and updates in one table, filterable by actor", () => {
    const pause = formatAuditCommit({
      host: "host-a",
      subject: "pause rollout r1",
      actor: "alice",
      action: { kind: "rollout.pause", rollout: "r1" },
      rollout: "r1",
      records: [],
    });
    expect(pause).toContain("Fleetwave-Actor: alice\nFleetwave-Action: rollout.pause r1\n");
    const rollback = formatActionCommit({
      subject: "roll back acme-main to sha256:aaaaaaaaaaaa",
      actor: "bob",
      action: { kind: "bot.rollback", bot: "acme-main", digest: A },
      body: ["acme-main: pinned"],
    });
    expect(rollback.split("\n")[0]).toBe("fleetwave: roll back acme-main to sha256:aaaaaaaaaaaa");
    expect(rollback).not.toContain("Fleetwave-Host");
    const lift = formatActionCommit({
      subject: "lift",
      actor: "carol",
      action: { kind: "quarantine.lift", image: "ghcr.io/acme/paperclip:managed", digest: B },
      body: [],
    });
    const confirm = formatAuditCommit({
      host: "host-a",
      subject: "update now acme-main",
      actor: "tenant:acme",
      rollout: "r1",
      records: [{ bot: "acme-main", result: "updated", from: A, to: B, reason: "" }],
    });
    const rows = historyRows([
      { sha: "4", date: "t4", author: "carol", trailers: trailersOf(lift) },
      { sha: "3", date: "t3", author: "bob", trailers: trailersOf(rollback) },
      { sha: "2", date: "t2", author: "alice", trailers: trailersOf(pause) },
      { sha: "1", date: "t1", author: "x", trailers: trailersOf(confirm) },
    ]);
    expect(rows.map((r) => [r.kind, r.result, r.bot, r.actor, r.rollout, r.to])).toEqual([
      ["action", "quarantine.lift", "", "carol", "", B],
      ["action", "bot.rollback", "acme-main", "bob", "", A],
      ["action", "rollout.pause", "", "alice", "r1", ""],
      ["update", "updated", "acme-main", "tenant:acme", "r1", B],
    ]);
    expect(rows[0]!.detail).toBe("ghcr.io/acme/paperclip:managed");
    expect(filterHistory(rows, { actor: "tenant:acme" }).map((r) => r.commit)).toEqual(["1"]);
    expect(filterHistory(rows, { bot: "acme-main" }).map((r) => r.commit)).toEqual(["3", "1"]);
    expect(filterHistory(rows, { rollout: "r1" }).map((r) => r.commit)).toEqual(["2", "1"]);
    expect(filterHistory(rows, { tenant: "acme", tenantOf: () => "acme" }).map((r) => r.commit)).toEqual([
      "3",
      "1",
    ]);
    expect(filterHistory(rows, { rollout: "r1", actor: "alice" }).map((r) => r.commit)).toEqual(["2"]);
    expect(formatHistoryTable(rows).split("\n")[3]).toMatch(
      /^t2\s+host-a\s+-\s+-\s+-\s+rollout\.pause\s+alice\s+r1\s+2$/,
    );
  });
});

describe("rollback target", () => {
  const row = (when: string, result: string, from: string, to: string): HistoryRow => ({
    when,
    kind: "update",
    host: "host-a",
    bot: "acme-main",
    from,
    to,
    result,
    actor: "agent host-a",
    rollout: "",
    commit: `commit-${when}`,
  });
  // Newest first: created at A, updated to B, C rolled back (B kept), then updated to C.
  const rows = [
    row("t4", "updated", B, C),
    row("t3", "rolled-back", B, C),
    row("t2", "updated", A, B),
    row("t1", "updated", "none", A),
    { ...row("t0", "updated", "none", A), bot: "other" },
  ];

  it("--previous is the newest healthy digest other than the running one", () => {
    expect(chooseRollbackTarget(rows, "acme-main", C, { previous: true }).digest).toBe(B);
    expect(chooseRollbackTarget(rows, "acme-main", B, { previous: true }).digest).toBe(C);
    expect(chooseRollbackTarget(rows, "acme-main", null, { previous: true }).digest).toBe(B);
    expect(chooseRollbackTarget(rows.slice(2), "acme-main", B, { previous: true }).digest).toBe(A);
  });

  it("--previous without an earlier healthy digest says what to do", () => {
    expect(() => chooseRollbackTarget(rows.slice(3), "acme-main", A, { previous: true })).toThrow(
      /no earlier healthy digest .*name one with --to/,
    );
    expect(() => chooseRollbackTarget(rows, "ghost", null, { previous: true })).toThrow(RollbackTargetError);
  });

  it("--to takes a digest the bot ran, in full or by an unambiguous prefix", () => {
    expect(chooseRollbackTarget(rows, "acme-main", C, { to: A }).digest).toBe(A);
    expect(chooseRollbackTarget(rows, "acme-main", C, { to: "sha256:bbbbbbbbbbbb" }).digest).toBe(B);
    expect(() => chooseRollbackTarget(rows, "acme-main", C, { to: C })).toThrow(
      /runs sha256:cccccccccccc already/,
    );
    const never = `sha256:${"d".repeat(64)}`;
    expect(() => chooseRollbackTarget(rows, "acme-main", C, { to: never })).toThrow(
      /never ran .*digests it ran: sha256:cccccccccccc, sha256:bbbbbbbbbbbb, sha256:aaaaaaaaaaaa/,
    );
    expect(() => chooseRollbackTarget(rows, "acme-main", C, { to: "sha256:" })).toThrow(/never ran/);
    // Twelve hex digits as the tables show them, with or without the prefix; fewer are not enough.
    expect(chooseRollbackTarget(rows, "acme-main", C, { to: "aaaaaaaaaaaa" }).digest).toBe(A);
    expect(() => chooseRollbackTarget(rows, "acme-main", C, { to: "sha256:aaaaa" })).toThrow(/never ran/);
    // Only the other bot ran this one's digest A first; acme-main's rows decide.
    expect(() => chooseRollbackTarget(rows.slice(4), "acme-main", null, { to: A })).toThrow(/never ran/);
  });
});
