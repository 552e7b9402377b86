import { FleetwaveError } from "../errors.ts";
import { digestMatches, shortDigest } from "../text/digest.ts";
import type { HistoryRow } from "./history.ts";

/** `fleetwave rollback` cannot name a digest to go back to; nothing was changed. */
export class RollbackTargetError extends FleetwaveError {
  override name = "RollbackTargetError";
}

export type RollbackWant = { to: string } | { previous: true };

export interface RollbackTarget {
  digest: string;
  /** Why this digest: shown to the operator and written in the commit body. */
  because: string;
}

const isDigest = (d: string) => d.startsWith("sha256:");

/**
 * The digest to roll a bot back to, from its audit history (rows newest first) and what it runs
 * now. `--to` must be a digest the bot ran before (the full digest, or 12 or more of its first hex digits);
 * `--previous` is the newest digest an update brought it to healthily (result `updated`: the
 * health gate passed) other than the one it runs now.
 */
export function chooseRollbackTarget(
  rows: readonly HistoryRow[],
  bot: string,
  current: string | null,
  want: RollbackWant,
): RollbackTarget {
  const updates = rows.filter((r) => r.kind === "update" && r.bot === bot);
  const healthy = updates.filter((r) => r.result === "updated" && isDigest(r.to)).map((r) => r.to);
  const now = current ?? healthy[0] ?? null;
  if ("previous" in want) {
    const digest = healthy.find((d) => d !== now);
    if (!digest)
      throw new RollbackTargetError(
        `bot ${bot} has no earlier healthy digest in the audit history${now ? ` (it runs ${shortDigest(now)})` : ""}; name one with --to, or pull the fleet repository if it is behind`,
      );
    const row = updates.find((r) => r.result === "updated" && r.to === digest)!;
    return {
      digest,
      because: `the last digest ${bot} ran healthily before ${now ? shortDigest(now) : "now"} (${row.when}, commit ${row.commit.slice(0, 10)})`,
    };
  }
  const ran = [...new Set(updates.flatMap((r) => [r.to, r.from]).filter((d) => isDigest(d)))];
  const wanted = want.to.trim();
  const matches = ran.filter((d) => digestMatches(d, wanted));
  const known = ran.length > 0 ? `; digests it ran: ${ran.map(shortDigest).join(", ")}` : "";
  if (matches.length === 0)
    throw new RollbackTargetError(`bot ${bot} never ran ${wanted} according to the audit history${known}`);
  if (matches.length > 1)
    throw new RollbackTargetError(`${wanted} matches several digests ${bot} ran${known}; give more of it`);
  const digest = matches[0]!;
  if (digest === now)
    throw new RollbackTargetError(`bot ${bot} runs ${shortDigest(digest)} already; nothing to roll back`);
  return { digest, because: `named with --to; ${bot} ran it before` };
}
