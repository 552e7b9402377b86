/**
 * Markdown renderings of a changelog: the internal file (every commit, grouped by type, plus the
 * sync's own report) and the user-facing preview used in the sync PR. Pure.
 */
import type { Changelog, UserFacingChangelog } from "./build.ts";
import { describeExclusion } from "./exclusions.ts";
import { type ChangelogCommit, compareTypes, isConventional, TYPE_TITLES } from "./model.ts";
import { NOISE_TITLES } from "./shapes.ts";

export interface GuardFinding {
  rule: string;
  file: string;
  /** The regular expression the file lacks. */
  require: string;
  description?: string;
}

export interface ConflictReport {
  /** What git was doing when it stopped, e.g. `replaying abc1234 "feat: x"`. */
  step: string;
  files: string[];
  /** Shell commands that finish the sync by hand. */
  commands: string[];
}

/** What a sync did, rendered into the internal changelog and the PR body. */
export interface SyncSummary {
  strategy: "rebase" | "merge";
  branch: string;
  base: { ref: string; sha: string };
  upstream: { ref: string; sha: string };
  backupBranch: string;
  /** Fork commits not in upstream (replayed on top for rebase, kept on the other side for merge). */
  forkCommits: number;
  conflicts: ConflictReport | null;
  guardFindings: GuardFinding[];
  /** The guard rules that were checked (names). */
  guardRules: string[];
}

export const short = (sha: string): string => sha.slice(0, 7);

function code(text: string): string {
  const ticks = text.includes("`") ? "``" : "`";
  return `${ticks}${text}${ticks}`;
}

/**
 * Escapes what would turn a commit subject into unintended markup (links, emphasis, HTML, table
 * pipes). Backticks are kept: in commit subjects they mark code, as in Markdown.
 */
function md(text: string): string {
  return text.replace(/([\\*_[\]<>|])/g, "\\$1");
}

/** `(#1234)` → a link to the upstream's pull request (GitHub resolves issue numbers too). */
export function linkPullRequests(markdown: string, github: string | null): string {
  if (!github) return markdown;
  return markdown.replace(/(?<![\w/[])#(\d+)\b(?!\])/g, (_, n: string) => `[#${n}](${github}/pull/${n})`);
}

function commitLine(commit: ChangelogCommit, github: string | null): string {
  const scope = commit.scope ? `**${md(commit.scope)}:** ` : "";
  const subject = linkPullRequests(md(commit.subject), github);
  return `${scope}${subject} — ${code(short(commit.sha))} · ${md(commit.author.name)}`;
}

export function renderGuardFindings(findings: readonly GuardFinding[], rules: readonly string[]): string[] {
  if (rules.length === 0) return ["No guard rules configured."];
  if (findings.length === 0)
    return [`All files upstream changed pass the guard rules (${rules.join(", ")}).`];
  return findings.map(
    (f) =>
      `- ${code(f.file)}: rule ${code(f.rule)} — missing ${code(`/${f.require}/`)}` +
      (f.description ? ` (${md(f.description)})` : ""),
  );
}

export function renderConflicts(conflicts: ConflictReport): string[] {
  return [
    `Git stopped while ${conflicts.step}. Conflicted files:`,
    "",
    ...conflicts.files.map((f) => `- ${code(f)}`),
    "",
    "Nothing was committed or pushed; the fork's main is untouched. To finish by hand:",
    "",
    "```sh",
    ...conflicts.commands,
    "```",
  ];
}

/** The internal changelog: every listed commit by type, breaking changes first, the sync report. */
export function renderInternalMarkdown(changelog: Changelog, sync?: SyncSummary): string {
  const { range } = changelog;
  const lines: string[] = [
    `# Upstream changes ${changelog.date} (${changelog.version})`,
    "",
    `Range: ${code(`${short(range.from)}..${short(range.to)}`)} — ${changelog.total} commits, ` +
      `${changelog.entries.length} listed, ${changelog.dropped.length} dropped.`,
    "",
  ];

  if (sync) {
    lines.push("## Sync report", "");
    lines.push(`- Strategy: ${sync.strategy}`);
    lines.push(`- Branch: ${code(sync.branch)} from ${code(sync.base.ref)} at ${code(short(sync.base.sha))}`);
    lines.push(`- Upstream: ${code(sync.upstream.ref)} at ${code(short(sync.upstream.sha))}`);
    lines.push(`- Backup of the fork's main: ${code(sync.backupBranch)}`);
    lines.push(`- Fork commits kept on top of upstream: ${sync.forkCommits}`);
    lines.push(`- Conflicts: ${sync.conflicts ? sync.conflicts.files.length : "none"}`);
    lines.push(`- Guard findings: ${sync.guardFindings.length}`);
    lines.push("");
    if (sync.conflicts) lines.push("### Conflicts", "", ...renderConflicts(sync.conflicts), "");
    lines.push("### Guard scan", "", ...renderGuardFindings(sync.guardFindings, sync.guardRules), "");
  }

  const breaking = changelog.entries.filter((e) => e.commit.breaking);
  if (breaking.length > 0) {
    lines.push("## ⚠ Breaking changes", "");
    for (const { commit } of breaking) {
      // Only the footer's paragraph (model.ts trims it): never the rest of a squash-merge body.
      const notes = commit.breakingNotes.filter((n) => n !== commit.subject);
      lines.push(`- ${commitLine(commit, changelog.github)}`);
      for (const note of notes) lines.push(`  ${linkPullRequests(md(note), changelog.github)}`);
    }
    lines.push("");
  }

  const types = [...new Set(changelog.entries.map((e) => e.commit.type))].sort(compareTypes);
  for (const type of types) {
    lines.push(`## ${TYPE_TITLES[type] ?? type}`, "");
    for (const entry of changelog.entries.filter((e) => e.commit.type === type)) {
      const tags: string[] = [];
      if (entry.commit.breaking) tags.push("⚠ breaking");
      if (entry.noise) tags.push(`not for users: ${NOISE_TITLES[entry.noise]}`);
      else if (entry.item !== null) tags.push(`users: ${entry.section}`);
      else if (entry.hiddenBy) tags.push(`hidden from users by ${describeExclusion(entry.hiddenBy)}`);
      else if (!isConventional(entry.commit)) tags.push("internal only: not a conventional commit");
      else tags.push("internal only");
      lines.push(`- ${commitLine(entry.commit, changelog.github)} · _${tags.join(" · ")}_`);
    }
    lines.push("");
  }
  if (changelog.entries.length === 0) lines.push("No commits to list.", "");

  if (changelog.dropped.length > 0) {
    lines.push("## Dropped from both views", "");
    for (const d of changelog.dropped) {
      // Stryker disable next-line StringLiteral: a revert pair always names its other half; the fallback only satisfies the type.
      const other = d.pairedWith ?? "";
      const why =
        d.reason === "merge"
          ? "merge commit"
          : d.reason === "infrastructure"
            ? "touches only infrastructure paths"
            : `revert pair with ${code(short(other))}`;
      const header = linkPullRequests(md(d.commit.header), changelog.github);
      lines.push(`- ${code(short(d.commit.sha))} ${header} — ${why}`);
    }
    lines.push("");
  }
  return `${lines.join("\n").trimEnd()}\n`;
}

/** The user-facing view as markdown (PR preview, notifications). */
export function renderUserFacingMarkdown(view: UserFacingChangelog): string {
  if (view.sections.length === 0) return "_Nothing user-visible in this update._\n";
  const lines: string[] = [];
  for (const section of view.sections) {
    lines.push(`**${section.title}**`, "");
    for (const item of section.items) lines.push(`- ${md(item)}`);
    lines.push("");
  }
  return `${lines.join("\n").trimEnd()}\n`;
}
