/**
 * From raw commits to the two changelog views. Pure: the same list feeds the internal markdown
 * (everything, for developers) and the user-facing JSON (New / Improved / Fixed, hosted-mode
 * exclusions applied).
 */
import { type Exclusion, exclusionMatcher, type HostedModeConfig } from "./exclusions.ts";
import {
  type ChangelogCommit,
  type DroppedCommit,
  parseCommit,
  prepareCommits,
  type RawCommit,
  USER_SECTION_ORDER,
  type UserSectionTitle,
  userSection,
} from "./model.ts";

export interface ChangelogRange {
  /** Exclusive start: the last upstream commit already in the fork. */
  from: string;
  /** Inclusive end: the upstream commit brought in. */
  to: string;
}

export interface ChangelogEntry {
  commit: ChangelogCommit;
  /** Where its type puts it for users; null for internal types (chore, ci, docs, ...). */
  section: UserSectionTitle | null;
  /** The hosted-mode rule hiding it from users, if any. */
  hiddenBy: Exclusion | null;
  /** The sentence users read; null when it does not reach them. */
  item: string | null;
}

export interface Changelog {
  date: string;
  version: string;
  range: ChangelogRange;
  /** Every commit in the range, including dropped ones. */
  total: number;
  /** Kept commits in the order given (newest first when read from git log). */
  entries: ChangelogEntry[];
  dropped: DroppedCommit[];
}

export interface UserFacingChangelog {
  version: string;
  date: string;
  range: ChangelogRange;
  sections: { title: UserSectionTitle; items: string[] }[];
}

const TRAILING_REFS =
  /\s*\((?:(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?|see|refs?)\s+)?#\d+(?:\s*,\s*#\d+)*\)\s*$/i;

/**
 * Rewrites a commit subject as a plain sentence: no type prefix (already parsed off), no gitmoji,
 * backticks or trailing `(#123)` / `[skip ci]`, no trailing period noise, first letter capitalised.
 */
export function toSentence(subject: string): string {
  let text = subject.replace(/\s+/g, " ").trim();
  text = text.replace(/^(?::[a-z0-9_+-]+:\s*)+/i, "");
  text = text.replace(/\[(?:skip ci|ci skip|no ci)\]/gi, "");
  let previous = "";
  while (previous !== text) {
    previous = text;
    text = text.replace(TRAILING_REFS, "").replace(/\s+#\d+$/, "");
  }
  text = text.replace(/`([^`]+)`/g, "$1");
  text = text
    .replace(/[\s.;,:]+$/u, "")
    .replace(/\s+/g, " ")
    .trim();
  if (text.length === 0) return text;
  const first = text.codePointAt(0)!;
  const head = String.fromCodePoint(first);
  return head.toLocaleUpperCase("en-US") + text.slice(head.length);
}

const HEADER = /^\w+(?:\([^()]*\))?!?: (.+)$/;

/** The user sentence for a commit (reverts name what they undo). */
export function userItem(commit: ChangelogCommit): string {
  if (commit.type === "revert" && commit.revertedHeader) {
    const inner = HEADER.exec(commit.revertedHeader)?.[1] ?? commit.revertedHeader;
    return `Reverted "${toSentence(inner)}"`;
  }
  return toSentence(commit.subject);
}

export interface BuildInput {
  /** Commits in the range, newest first (git log order). */
  commits: readonly RawCommit[];
  config: HostedModeConfig;
  date: string;
  version: string;
  range: ChangelogRange;
}

export function buildChangelog(input: BuildInput): Changelog {
  const parsed = input.commits.map(parseCommit);
  const { kept, dropped } = prepareCommits(parsed, { infrastructure: input.config.infrastructure });
  const hide = exclusionMatcher(input.config.exclude);
  const entries = kept.map((commit): ChangelogEntry => {
    const section = userSection(commit);
    const hiddenBy = section ? hide(commit) : null;
    const item = section && !hiddenBy ? userItem(commit) : null;
    return { commit, section, hiddenBy, item: item && item.length > 0 ? item : null };
  });
  return {
    date: input.date,
    version: input.version,
    range: input.range,
    total: parsed.length,
    entries,
    dropped,
  };
}

/** The user-facing view: sections in New, Improved, Fixed order; empty sections omitted. */
export function toUserFacing(changelog: Changelog): UserFacingChangelog {
  const sections = USER_SECTION_ORDER.flatMap((title) => {
    const items: string[] = [];
    for (const entry of changelog.entries) {
      if (entry.section !== title || entry.item === null) continue;
      if (!items.includes(entry.item)) items.push(entry.item);
    }
    return items.length > 0 ? [{ title, items }] : [];
  });
  return {
    version: changelog.version,
    date: changelog.date,
    range: { from: changelog.range.from, to: changelog.range.to },
    sections,
  };
}

export interface ChangelogCounts {
  total: number;
  listed: number;
  dropped: number;
  breaking: number;
  userVisible: number;
  hiddenByHostedMode: number;
  internalOnly: number;
}

export function countChangelog(changelog: Changelog): ChangelogCounts {
  const e = changelog.entries;
  return {
    total: changelog.total,
    listed: e.length,
    dropped: changelog.dropped.length,
    breaking: e.filter((x) => x.commit.breaking).length,
    userVisible: e.filter((x) => x.item !== null).length,
    hiddenByHostedMode: e.filter((x) => x.hiddenBy !== null).length,
    internalOnly: e.filter((x) => x.section === null).length,
  };
}
