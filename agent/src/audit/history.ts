import { digestCell } from "../text/digest.ts";
import { formatTable } from "../text/table.ts";
import { type ControlAction, parseActionTrailer } from "./actions.ts";

/**
 * One row of the audit table: what happened to one bot in an update (`kind: "update"`), or a
 * control action someone took (`kind: "action"`: a pause, an abort, a rollback, a lifted
 * quarantine), in which commit and by whom.
 */
export interface HistoryRow {
  when: string;
  kind: "update" | "action";
  host: string;
  /** The bot updated or rolled back; empty for actions on a rollout or the fleet. */
  bot: string;
  from: string;
  to: string;
  /** The update's result (updated, rolled-back, …) or the action's kind (rollout.pause, …). */
  result: string;
  actor: string;
  rollout: string;
  commit: string;
  /** Extra facts of an action, e.g. the image of a lifted quarantine. */
  detail?: string;
}

export interface RawCommit {
  sha: string;
  date: string;
  author: string;
  trailers: string;
}

interface Trailer {
  key: string;
  value: string;
}

function parseTrailers(text: string): Trailer[] {
  return text
    .split("\n")
    .map((l) => /^([A-Za-z-]+):\s*(.*)$/.exec(l.trim()))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ key: m[1]!.toLowerCase(), value: m[2]! }));
}

function actionFields(a: ControlAction): Pick<HistoryRow, "bot" | "to" | "rollout"> & { detail?: string } {
  switch (a.kind) {
    case "rollout.pause":
    case "rollout.resume":
    case "rollout.abort":
      return { bot: "", to: "", rollout: a.rollout };
    case "fleet.pause":
    case "fleet.resume":
      return { bot: "", to: "", rollout: "" };
    case "quarantine.lift":
      return { bot: "", to: a.digest, rollout: "", detail: a.image };
    case "bot.rollback":
      return { bot: a.bot, to: a.digest, rollout: "" };
  }
}

/**
 * Rows from the trailers of audit commits, in the log's order (newest first): one per
 * Fleetwave-Update and one per Fleetwave-Action. Commits without either give none.
 */
export function historyRows(commits: RawCommit[]): HistoryRow[] {
  const rows: HistoryRow[] = [];
  for (const commit of commits) {
    const trailers = parseTrailers(commit.trailers);
    const first = (key: string) => trailers.find((t) => t.key === key)?.value;
    const host = first("fleetwave-host") ?? "";
    const rollout = first("fleetwave-rollout") ?? "";
    const actor = first("fleetwave-actor") ?? (host ? `agent ${host}` : commit.author);
    const base = { when: commit.date, host, actor, commit: commit.sha };
    for (const t of trailers.filter((t) => t.key === "fleetwave-action")) {
      const action = parseActionTrailer(t.value);
      if (!action) continue;
      const fields = actionFields(action);
      rows.push({
        ...base,
        kind: "action",
        from: "",
        result: action.kind,
        ...fields,
        rollout: fields.rollout || rollout,
      });
    }
    for (const t of trailers.filter((t) => t.key === "fleetwave-update")) {
      const [bot = "", result = "", from = "", to = ""] = t.value.split(/\s+/);
      rows.push({ ...base, kind: "update", bot, from, to, result, rollout });
    }
  }
  return rows;
}

export interface HistoryFilter {
  bot?: string;
  tenant?: string;
  rollout?: string;
  /** The actor exactly as the table shows it: a token's name, `tenant:<id>`, `agent <host>`. */
  actor?: string;
  /** bot id -> tenant id, to filter by tenant. */
  tenantOf?: (bot: string) => string | undefined;
}

/** Rows that match every filter given; actions on a rollout or the fleet have no bot or tenant. */
export function filterHistory(rows: HistoryRow[], f: HistoryFilter): HistoryRow[] {
  return rows.filter(
    (r) =>
      (!f.bot || r.bot === f.bot) &&
      (!f.rollout || r.rollout === f.rollout) &&
      (!f.actor || r.actor === f.actor) &&
      (!f.tenant || (r.bot !== "" && f.tenantOf?.(r.bot) === f.tenant)),
  );
}

/** A fixed-width table for the terminal. */
export function formatHistoryTable(rows: HistoryRow[]): string {
  const header = ["WHEN", "HOST", "BOT", "FROM", "TO", "RESULT", "ACTOR", "ROLLOUT", "COMMIT"];
  const cells = rows.map((r) => [
    r.when,
    r.host || "-",
    r.bot || "-",
    r.from ? digestCell(r.from) : "-",
    r.to ? digestCell(r.to) : "-",
    r.result,
    r.actor,
    r.rollout || "-",
    r.commit.slice(0, 10),
  ]);
  return formatTable(header, cells);
}
