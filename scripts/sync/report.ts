/**
 * The sync report: the PR title and body (also printed by the CLI and written with `--report`).
 * Written for the reviewer of the one human gate: range, counts, what tenants will read, guard
 * findings, conflicts. Pure.
 */
import { type ChangelogCounts, countChangelog, type UserFacingChangelog } from "../changelog/build.ts";
import type { GeneratedChangelog } from "../changelog/generate.ts";
import {
  renderConflicts,
  renderGuardFindings,
  renderUserFacingMarkdown,
  type SyncSummary,
  short,
} from "../changelog/render.ts";

export const REPORT_MARKER = "<!-- fleetwave:sync-upstream -->";
/** GitHub rejects PR bodies over 65536 characters. */
const MAX_BODY = 60_000;

export interface ReportInput {
  date: string;
  summary: SyncSummary;
  counts: ChangelogCounts;
  userFacing: UserFacingChangelog;
  breaking: { sha: string; text: string }[];
  /** Path of the internal changelog on the sync branch, when written. */
  internalPath: string | null;
}

export function syncTitle(input: ReportInput): string {
  const { summary, counts, date } = input;
  return `Sync upstream ${date}: ${counts.total} commits up to ${short(summary.upstream.sha)} (${summary.strategy})`;
}

export function renderSyncReport(input: ReportInput): string {
  const { summary, counts, userFacing, date } = input;
  const conflictCount = summary.conflicts ? summary.conflicts.files.length : 0;
  const status = summary.conflicts
    ? `**Stopped on conflicts** — nothing was pushed; the fork's ${summary.base.ref} is untouched.`
    : `Branch ${"`"}${summary.branch}${"`"} is ready for review.`;
  const lines: string[] = [
    REPORT_MARKER,
    `## Upstream sync ${date}`,
    "",
    status,
    "",
    "| | |",
    "|---|---|",
    `| Range | ${"`"}${short(userFacing.range.from)}..${short(userFacing.range.to)}${"`"} (${summary.upstream.ref}) |`,
    `| Version | ${userFacing.version} |`,
    `| Strategy | ${summary.strategy}; ${summary.forkCommits} fork commit(s) kept on top |`,
    `| Commits | ${counts.total} upstream: ${counts.listed} listed, ${counts.dropped} dropped (merges, revert pairs, infrastructure) |`,
    `| Users | ${counts.userVisible} shown, ${counts.hiddenByHostedMode} hidden by hosted mode, ${counts.internalOnly} internal only |`,
    `| Breaking changes | ${counts.breaking} |`,
    `| Guard findings | ${summary.guardFindings.length} |`,
    `| Conflicts | ${conflictCount === 0 ? "none" : conflictCount} |`,
    `| Backup | ${"`"}${summary.backupBranch}${"`"} at ${"`"}${short(summary.base.sha)}${"`"} |`,
    "",
  ];
  if (summary.conflicts) lines.push("### Conflicts", "", ...renderConflicts(summary.conflicts), "");
  if (input.breaking.length > 0) {
    lines.push("### ⚠ Breaking changes", "");
    for (const b of input.breaking) lines.push(`- ${"`"}${short(b.sha)}${"`"} ${b.text.replace(/\n/g, " ")}`);
    lines.push("");
  }
  lines.push("### Guard scan", "", ...renderGuardFindings(summary.guardFindings, summary.guardRules), "");
  lines.push("### What tenants will read", "", renderUserFacingMarkdown(userFacing).trimEnd(), "");
  if (input.internalPath) {
    lines.push(
      "### Review",
      "",
      `- Every commit, with author and hosted-mode decisions: ${"`"}${input.internalPath}${"`"} on this branch.`,
      "- Merge with a merge commit (not squash) so upstream's history stays intact.",
      "",
    );
  }
  let body = lines.join("\n").trimEnd();
  if (body.length > MAX_BODY) {
    body = `${body.slice(0, MAX_BODY)}\n\n… (truncated; see the internal changelog for the rest)`;
  }
  return `${body}\n`;
}

/** The report's input from a sync's summary and its generated changelog. */
export function reportInput(
  date: string,
  summary: SyncSummary,
  changelog: GeneratedChangelog,
  internalPath: string | null,
): Parameters<typeof renderSyncReport>[0] {
  const counts: ChangelogCounts = countChangelog(changelog.changelog);
  const breaking = changelog.changelog.entries
    .filter((e) => e.commit.breaking)
    .map((e) => ({ sha: e.commit.sha, text: e.commit.breakingNotes.join("; ") || e.commit.subject }));
  return { date, summary, counts, userFacing: changelog.userFacing, breaking, internalPath };
}
