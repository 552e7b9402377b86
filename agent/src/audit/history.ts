import { digestCell } from "../text/digest.ts";
import { formatTable } from "../text/table.ts";
/** One row of the audit table: what happened to one bot, in which commit. */
export interface HistoryRow {
  when: string;
  host: string;
  bot: string;
  from: string;
  to: string;
  result: string;
  actor: string;
  rollout: string;
  commit: string;
}

export interface RawCommit {
  sha: string;
  date: string;
  author: string;
  trailers: string;
}

/** Rows from the trailers of audit commits; commits without Fleetwave-Update trailers give none. */
export function historyRows(commits: RawCommit[]): HistoryRow[] {
  const rows: HistoryRow[] = [];
  for (const commit of commits) {
    const trailers = commit.trailers
      .split("\n")
      .map((l) => /^([A-Za-z-]+):\s*(.*)$/.exec(l.trim()))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => ({ key: m[1]!.toLowerCase(), value: m[2]! }));
    const first = (key: string) => trailers.find((t) => t.key === key)?.value;
    const host = first("fleetwave-host") ?? "";
    const rollout = first("fleetwave-rollout") ?? "";
    const actor = first("fleetwave-actor") ?? (host ? `agent ${host}` : commit.author);
    for (const t of trailers.filter((t) => t.key === "fleetwave-update")) {
      const [bot = "", result = "", from = "", to = ""] = t.value.split(/\s+/);
      rows.push({ when: commit.date, host, bot, from, to, result, actor, rollout, commit: commit.sha });
    }
  }
  return rows;
}

export interface HistoryFilter {
  bot?: string;
  tenant?: string;
  rollout?: string;
  /** bot id -> tenant id, to filter by tenant. */
  tenantOf?: (bot: string) => string | undefined;
}

export function filterHistory(rows: HistoryRow[], f: HistoryFilter): HistoryRow[] {
  return rows.filter(
    (r) =>
      (!f.bot || r.bot === f.bot) &&
      (!f.rollout || r.rollout === f.rollout) &&
      (!f.tenant || f.tenantOf?.(r.bot) === f.tenant),
  );
}

/** A fixed-width table for the terminal. */
export function formatHistoryTable(rows: HistoryRow[]): string {
  const header = ["WHEN", "HOST", "BOT", "FROM", "TO", "RESULT", "ACTOR", "COMMIT"];
  const cells = rows.map((r) => [
    r.when,
    r.host,
    r.bot,
    digestCell(r.from),
    digestCell(r.to),
    r.result,
    r.actor,
    r.commit.slice(0, 10),
  ]);
  return formatTable(header, cells);
}
