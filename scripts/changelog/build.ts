/**
 * From raw commits to the two changelog views. Pure: the same list feeds the internal markdown
 * (everything, for developers) and the user-facing JSON (New / Improved / Fixed, hosted-mode
 * exclusions applied).
 */
import { type Exclusion, exclusionMatcher, type HostedModeConfig } from "./exclusions.ts";
import {
  type ChangelogCommit,
  type DroppedCommit,
  isConventional,
  parseCommit,
  prepareCommits,
  type RawCommit,
  USER_SECTION_ORDER,
  type UserSectionTitle,
  userSection,
} from "./model.ts";
import { type NoiseShape, noiseShape } from "./shapes.ts";
import { areaName, duplicateKey, toSentence, withArea } from "./wording.ts";

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
  /** A shape no tenant reads (version bump, dependency bump, merge, ...); kept internal. */
  noise: NoiseShape | null;
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
  /** The upstream's GitHub page (`https://github.com/owner/repo`) when it is on GitHub. */
  github: string | null;
}

export interface UserFacingChangelog {
  version: string;
  date: string;
  range: ChangelogRange;
  sections: { title: UserSectionTitle; items: string[] }[];
}

const HEADER = /^\w+(?:\([^()]*\))?!?: (.+)$/;

/**
 * The user sentence for a commit: `Area: sentence` for a scoped conventional commit, reverts name
 * what they undo, a subject that follows no convention is read whole (`lib: …` keeps its prefix).
 */
export function userItem(commit: ChangelogCommit, scopeNames: Readonly<Record<string, string>> = {}): string {
  if (commit.type === "revert" && commit.revertedHeader) {
    const inner = HEADER.exec(commit.revertedHeader)?.[1] ?? commit.revertedHeader;
    return `Reverted "${toSentence(inner)}"`;
  }
  if (!isConventional(commit)) return toSentence(commit.header);
  const area = areaName(commit.scope, scopeNames);
  return area ? withArea(area, toSentence(commit.subject, false)) : toSentence(commit.subject);
}

export interface BuildInput {
  /** Commits in the range, newest first (git log order). */
  commits: readonly RawCommit[];
  config: HostedModeConfig;
  date: string;
  version: string;
  range: ChangelogRange;
  /** The upstream's GitHub page, for links to its pull requests; null when not on GitHub. */
  github?: string | null;
}

export function buildChangelog(input: BuildInput): Changelog {
  const parsed = input.commits.map(parseCommit);
  const { kept, dropped } = prepareCommits(parsed, { infrastructure: input.config.infrastructure });
  const hide = exclusionMatcher(input.config.exclude);
  const entries = kept.map((commit): ChangelogEntry => {
    const noise = noiseShape(commit);
    const section = noise ? null : userSection(commit, input.config.unconventional);
    const hiddenBy = section ? hide(commit) : null;
    const item = section && !hiddenBy ? userItem(commit, input.config.scopeNames) : null;
    // An empty sentence (a subject of only punctuation or references) is no item.
    return { commit, section, noise, hiddenBy, item: item || null };
  });
  return {
    date: input.date,
    version: input.version,
    range: input.range,
    total: parsed.length,
    entries,
    dropped,
    github: input.github ?? null,
  };
}

/** The user-facing view: sections in New, Improved, Fixed order; empty sections omitted. */
export function toUserFacing(changelog: Changelog): UserFacingChangelog {
  // Near-duplicates are merged across sections too: the first (New before Fixed) wins.
  const seen = new Set<string>();
  const sections = USER_SECTION_ORDER.flatMap((title) => {
    const items: string[] = [];
    for (const entry of changelog.entries) {
      if (entry.section !== title || entry.item === null) continue;
      const key = duplicateKey(entry.item);
      if (!seen.has(key)) items.push(entry.item);
      seen.add(key);
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
  /** Listed commits of a shape no tenant reads (`shapes.ts`). */
  noise: number;
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
    noise: e.filter((x) => x.noise !== null).length,
    internalOnly: e.filter((x) => x.section === null).length,
  };
}
