/**
 * The changelog model: commits parsed once into a typed list, then filtered and classified.
 * Pure — no git, no files. Adapters (`git-commits.ts`, `files.ts`) feed it and store its output.
 */
import { CommitParser } from "conventional-commits-parser";
import picomatch from "picomatch";
import { revertedHeaderOf, unwrapReverts } from "./shapes.ts";

/** A commit as read from git, before any interpretation. */
export interface RawCommit {
  sha: string;
  parents: string[];
  authorName: string;
  authorEmail: string;
  /** ISO 8601 author date. */
  date: string;
  /** The full message (subject, blank line, body, trailers). */
  message: string;
  /** Paths the commit touched relative to its first parent (empty for merges). */
  files: string[];
}

/** A commit as the changelog sees it. */
export interface ChangelogCommit {
  sha: string;
  parents: string[];
  author: { name: string; email: string };
  date: string;
  /** Lower-case conventional type (`feat`, `fix`, ...) or `other` for a non-conventional subject. */
  type: string;
  scope: string | null;
  /** The subject without the `type(scope)!:` prefix. */
  subject: string;
  /** The first line of the message, as written. */
  header: string;
  body: string | null;
  /** `!` after the type/scope or a `BREAKING CHANGE:` / `BREAKING-CHANGE:` footer. */
  breaking: boolean;
  /** Texts of the breaking-change notes (the header's subject when only `!` was used). */
  breakingNotes: string[];
  files: string[];
  /** The sha this commit says it reverts (`This reverts commit <sha>.`), if any. */
  reverts: string | null;
  /** The header of the reverted commit, when the message quotes it (`Revert "<header>"`). */
  revertedHeader: string | null;
}

export type DropReason = "merge" | "revert-pair" | "infrastructure";

export interface DroppedCommit {
  commit: ChangelogCommit;
  reason: DropReason;
  /** For revert pairs: the sha of the other half. */
  pairedWith?: string;
}

// `type(scope)!: subject` — the `!` is optional in the plain pattern and required in the
// breaking one, so the parser turns a `!` header into a BREAKING CHANGE note by itself.
const HEADER = /^(\w+)(?:\(([^()\r\n]*)\))?!?: (.+)$/;
const BREAKING_HEADER = /^(\w+)(?:\(([^()\r\n]*)\))?!: (.+)$/;

const parser = new CommitParser({
  headerPattern: HEADER,
  breakingHeaderPattern: BREAKING_HEADER,
  headerCorrespondence: ["type", "scope", "subject"],
  noteKeywords: ["BREAKING CHANGE", "BREAKING-CHANGE"],
  revertPattern: /^(?:Revert|revert:)\s"?([\s\S]+?)"?\s*This reverts commit (\w+)\.?/im,
  revertCorrespondence: ["header", "hash"],
  // No `-field-` meta blocks: a line like `-x-` in a body is text, not a field.
  fieldPattern: /[^\s\S]/, // matches nothing
});

function field(value: unknown): string | null {
  return typeof value === "string" && value.trim().length > 0 ? value.trim() : null;
}

/** Parses one raw commit. Never throws: a subject that is not conventional becomes type `other`. */
export function parseCommit(raw: RawCommit): ChangelogCommit {
  const message = raw.message.replace(/\r\n/g, "\n").trim();
  // Stryker disable next-line OptionalChaining,StringLiteral: split always gives a first item; the fallback only satisfies the type.
  const header = message.split("\n", 1)[0]?.trim() ?? "";
  const base = {
    sha: raw.sha,
    parents: raw.parents,
    author: { name: raw.authorName, email: raw.authorEmail },
    date: raw.date,
    header,
    files: raw.files,
  };
  if (message.length === 0) {
    return {
      ...base,
      type: "other",
      scope: null,
      subject: "",
      body: null,
      breaking: false,
      breakingNotes: [],
      reverts: null,
      revertedHeader: null,
    };
  }
  const { depth, inner } = unwrapReverts(header);
  if (depth >= 2 && depth % 2 === 0) {
    // A revert of a revert brings the original back: read it as the original change, but keep
    // what it reverts so an in-range pair still cancels out.
    const original = parseCommit({ ...raw, message: inner });
    const revert = parser.parse(message).revert;
    return { ...original, header, reverts: revert ? field(revert.hash) : null, revertedHeader: null };
  }
  const parsed = parser.parse(message);
  const type = field(parsed.type);
  // The parser makes notes of `noteKeywords` only: every note is a breaking change.
  const notes = parsed.notes.map((n) => breakingParagraph(n.text));
  // The parser finds a revert at the start of any line: a squashed change whose body quotes one of
  // its own commits' reverts must not be paired with (and dropped together with) that commit.
  const revert = /^revert\b/i.test(header) ? parsed.revert : null;
  const gitRevert =
    !type && (revert !== null || revertedHeaderOf(header) !== null) && /^revert\b/i.test(header);
  return {
    ...base,
    type: type ? type.toLowerCase() : gitRevert ? "revert" : "other",
    scope: type ? field(parsed.scope) : null,
    subject: type ? (field(parsed.subject) ?? header) : header,
    body: field(parsed.body),
    breaking: notes.length > 0,
    breakingNotes: notes.filter((n) => n.length > 0),
    reverts: revert ? field(revert.hash) : null,
    revertedHeader: revert ? field(revert.header) : revertedHeaderOf(header),
  };
}

const TRAILER =
  /^(?:co-authored-by|signed-off-by|reviewed-by|acked-by|tested-by|reported-by|helped-by|change-id|cc|refs?|closes|fixes|resolves):/i;

/**
 * The note of a `BREAKING CHANGE:` footer as one paragraph: squash-merge bodies put the footer
 * in the middle of a sub-commit list, and the parser hands back everything after it.
 */
export function breakingParagraph(text: string): string {
  const lines: string[] = [];
  // trim() below also drops the CR of a CRLF line end.
  for (const raw of text.trim().split("\n")) {
    const line = raw.trim();
    if (line.length === 0 || /^-{3,}$/.test(line) || /^[*-] \S/.test(line)) break;
    if (TRAILER.test(line)) break;
    lines.push(line);
  }
  return lines.join(" ");
}

export interface PrepareOptions {
  /** Globs of infrastructure paths: a commit touching only these is dropped from both views. */
  infrastructure: readonly string[];
}

export interface PreparedCommits {
  kept: ChangelogCommit[];
  dropped: DroppedCommit[];
}

/** Both sides come trimmed (parseCommit, revertedHeaderOf); only inner spacing and case differ. */
// Stryker disable next-line MethodExpression: folding both sides to upper case compares the same.
const normalizeHeader = (header: string): string => header.replace(/\s+/g, " ").toLowerCase();

/** A matcher for a list of globs (`**`, `*`, `{a,b}`; dotfiles included). */
export function globMatcher(globs: readonly string[]): (path: string) => boolean {
  // Stryker disable next-line ConditionalExpression: picomatch with no globs matches nothing too; this skips building it.
  if (globs.length === 0) return () => false;
  const match = picomatch([...globs], { dot: true });
  return (path) => match(path);
}

/**
 * Drops what no reader wants: merge commits, a revert together with the commit it reverts when
 * both are in the range, and commits whose every file is an infrastructure path.
 * Order is preserved.
 */
export function prepareCommits(
  commits: readonly ChangelogCommit[],
  options: PrepareOptions,
): PreparedCommits {
  const dropped = new Map<string, DroppedCommit>();
  for (const commit of commits) {
    if (commit.parents.length > 1) dropped.set(commit.sha, { commit, reason: "merge" });
  }
  // Pair each revert with its target. A revert that is itself reverted is settled first by the
  // outer one (revert of a revert cancels the inner revert; the original change survives).
  // By sha; when the sha is not in the range (a rebased or cherry-picked history), by the header
  // the revert quotes.
  const targetOf = (revert: ChangelogCommit): ChangelogCommit | undefined => {
    const prefix = revert.reverts?.toLowerCase();
    const bySha =
      prefix && prefix.length >= 7
        ? commits.find((c) => c.sha !== revert.sha && c.sha.toLowerCase().startsWith(prefix))
        : undefined;
    if (bySha) return bySha;
    const quoted = revertedHeaderOf(revert.header);
    if (!quoted) return undefined;
    const at = commits.indexOf(revert);
    return commits.slice(at + 1).find((c) => normalizeHeader(c.header) === normalizeHeader(quoted));
  };
  for (;;) {
    const open = commits.filter((c) => !dropped.has(c.sha) && targetOf(c) && !dropped.has(targetOf(c)!.sha));
    // Stryker disable next-line OptionalChaining: every commit in `open` has a target.
    const outer = open.find((r) => !open.some((o) => targetOf(o)?.sha === r.sha));
    if (!outer) break;
    const target = targetOf(outer)!;
    dropped.set(outer.sha, { commit: outer, reason: "revert-pair", pairedWith: target.sha });
    dropped.set(target.sha, { commit: target, reason: "revert-pair", pairedWith: outer.sha });
  }
  const isInfra = globMatcher(options.infrastructure);
  for (const commit of commits) {
    if (dropped.has(commit.sha)) continue;
    if (commit.files.length > 0 && commit.files.every(isInfra)) {
      dropped.set(commit.sha, { commit, reason: "infrastructure" });
    }
  }
  return {
    kept: commits.filter((c) => !dropped.has(c.sha)),
    dropped: commits.flatMap((c) => {
      const d = dropped.get(c.sha);
      return d ? [d] : [];
    }),
  };
}

export type UserSectionTitle = "New" | "Improved" | "Fixed";
export const USER_SECTION_ORDER: readonly UserSectionTitle[] = ["New", "Improved", "Fixed"];

/** Types that never reach users, whatever the exclusions say. */
export const HIDDEN_TYPES: ReadonlySet<string> = new Set([
  "chore",
  "ci",
  "build",
  "test",
  "tests",
  "docs",
  "doc",
  "style",
  "lint",
  "release",
  "wip",
  "deps",
  "bench",
  "benchmark",
  "example",
  "examples",
]);

const USER_TYPES: Readonly<Record<string, UserSectionTitle>> = {
  feat: "New",
  feature: "New",
  fix: "Fixed",
  bugfix: "Fixed",
  hotfix: "Fixed",
  security: "Fixed",
  sec: "Fixed",
  perf: "Improved",
  refactor: "Improved",
  revert: "Improved",
};

/** Where a commit whose subject follows no known convention goes: `improved` or internal only. */
export type UnconventionalPlace = "improved" | "internal";

/** Is the type one of the conventional ones (user-facing or internal)? `lib:` or `Fix x` are not. */
export function isConventional(commit: ChangelogCommit): boolean {
  return HIDDEN_TYPES.has(commit.type) || commit.type in USER_TYPES;
}

/**
 * Where a commit goes in the user-facing view, or null when it stays internal: feat → New,
 * fix → Fixed, perf/refactor/revert → Improved; a subject that follows no convention goes where
 * `unconventional` says (internal when left out).
 */
export function userSection(
  commit: ChangelogCommit,
  unconventional?: UnconventionalPlace,
): UserSectionTitle | null {
  if (HIDDEN_TYPES.has(commit.type)) return null;
  return USER_TYPES[commit.type] ?? (unconventional === "improved" ? "Improved" : null);
}

/** Internal grouping order: the usual conventional types first, anything unknown before `other`. */
export const TYPE_ORDER: readonly string[] = [
  "feat",
  "fix",
  "perf",
  "refactor",
  "revert",
  "docs",
  "test",
  "build",
  "ci",
  "chore",
  "style",
];

export const TYPE_TITLES: Readonly<Record<string, string>> = {
  feat: "Features",
  fix: "Bug fixes",
  perf: "Performance",
  refactor: "Refactoring",
  revert: "Reverts",
  docs: "Documentation",
  test: "Tests",
  build: "Build",
  ci: "CI",
  chore: "Chores",
  style: "Style",
  other: "Other (not conventional)",
};

export function compareTypes(a: string, b: string): number {
  const rank = (t: string) => {
    const i = TYPE_ORDER.indexOf(t);
    if (i >= 0) return i;
    return t === "other" ? TYPE_ORDER.length + 1 : TYPE_ORDER.length;
  };
  return rank(a) - rank(b) || a.localeCompare(b);
}
