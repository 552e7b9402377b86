import type { UpdateResult } from "../model/status.ts";
import { actionTrailer, type ControlAction } from "./actions.ts";

/** One bot's line in an audit commit. */
export interface AuditRecord {
  bot: string;
  result: UpdateResult | "update-available";
  from: string | null;
  to: string;
  reason: string;
  durationMs?: number;
}

export interface AuditCommit {
  host: string;
  /** What the commit is about, after the `fleetwave(host):` prefix, e.g. "rollout X wave 1" or "reconcile". */
  subject: string;
  rollout?: string;
  actor?: string;
  /** A control action (docs/contracts.md "Audit commits"), written as the Fleetwave-Action trailer. */
  action?: ControlAction;
  records: AuditRecord[];
  /** Extra body lines (drift, orphans, an invalid commit), shown but not trailers. */
  notes?: string[];
}

const EVENT: Record<AuditRecord["result"], string | undefined> = {
  updated: "bot.updated",
  "rolled-back": "bot.update_failed",
  "rollback-failed": "bot.rollback_failed",
  failed: "bot.update_failed",
  skipped: undefined,
  "update-available": "bot.update_available",
};

const WORDS: Record<AuditRecord["result"], string> = {
  updated: "updated",
  "rolled-back": "rolled back",
  "rollback-failed": "rollback failed",
  failed: "failed",
  skipped: "skipped",
  "update-available": "update available",
};

const digestText = (d: string | null) => d ?? "none";

function line(r: AuditRecord): string {
  const took = r.durationMs === undefined ? "" : ` in ${(r.durationMs / 1000).toFixed(1)}s`;
  switch (r.result) {
    case "updated":
      return `${r.bot}: updated ${digestText(r.from)} -> ${r.to}${took}`;
    case "rolled-back":
      return `${r.bot}: rolled back to ${digestText(r.from)}: ${r.reason}`;
    case "update-available":
      return `${r.bot}: update to ${r.to} available, waiting for "Update now"`;
    default:
      return `${r.bot}: ${WORDS[r.result]}: ${r.reason}`;
  }
}

/**
 * The structured message of docs/contracts.md "Audit commits". Besides the Fleetwave-Event trailers, each bot
 * gets a Fleetwave-Update trailer (bot, result, from, to) so `fleetwave history` needs no guessing
 * from prose, and API actions carry Fleetwave-Actor.
 */
export function formatAuditCommit(c: AuditCommit): string {
  const counts = new Map<string, number>();
  for (const r of c.records) counts.set(WORDS[r.result], (counts.get(WORDS[r.result]) ?? 0) + 1);
  const summary = [...counts].map(([word, n]) => `${n} ${word}`).join(", ");
  const subject = `fleetwave(${c.host}): ${c.subject}${summary ? `: ${summary}` : ""}`;
  const body = [...c.records.map(line), ...(c.notes ?? [])];
  const trailers = [`Fleetwave-Host: ${c.host}`];
  if (c.rollout) trailers.push(`Fleetwave-Rollout: ${c.rollout}`);
  if (c.actor) trailers.push(`Fleetwave-Actor: ${c.actor}`);
  if (c.action) trailers.push(`Fleetwave-Action: ${actionTrailer(c.action)}`);
  for (const r of c.records) {
    const event = EVENT[r.result];
    if (event) trailers.push(`Fleetwave-Event: ${event} ${r.bot}`);
  }
  for (const r of c.records)
    trailers.push(`Fleetwave-Update: ${r.bot} ${r.result} ${digestText(r.from)} ${r.to}`);
  return [subject, ...(body.length > 0 ? ["", ...body] : []), "", ...trailers, ""].join("\n");
}

/** A control action taken outside an agent (the CLI in an operator's clone): no host, no bot records. */
export function formatActionCommit(c: {
  subject: string;
  actor: string;
  action: ControlAction;
  body: string[];
}): string {
  const trailers = [`Fleetwave-Actor: ${c.actor}`, `Fleetwave-Action: ${actionTrailer(c.action)}`];
  return [`fleetwave: ${c.subject}`, "", ...c.body, "", ...trailers, ""].join("\n");
}
