/**
 * The shapes real histories have that no tenant should read: release and version commits,
 * dependency bumps, merges (security-advisory merges included), test/docs/WIP/fixup commits.
 * Pure: decided from the parsed commit alone.
 */
import type { ChangelogCommit } from "./model.ts";

export type NoiseShape =
  | "release"
  | "dependency"
  | "security-merge"
  | "merge"
  | "test"
  | "docs"
  | "work-in-progress";

export const NOISE_TITLES: Readonly<Record<NoiseShape, string>> = {
  release: "release or version bump",
  dependency: "dependency bump",
  "security-merge": "security-advisory merge",
  merge: "merge",
  test: "tests",
  docs: "documentation",
  "work-in-progress": "work in progress or fixup",
};

const VERSION = String.raw`v?\d+\.\d+(?:\.\d+)?(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?`;
const PACKAGE_AT_VERSION = String.raw`(?:@[\w.-]+/)?[\w.-]+@[\^~]?${VERSION}`;
const REFS = String.raw`(?:\s*\(#\d+\))*(?:\s*\[(?:skip ci|ci skip)\])?`;

const RELEASE: readonly RegExp[] = [
  // `4.12.34`, `v1.2.0`, `@scope/pkg@1.0.0`, `create-vite@6.1.0`
  new RegExp(`^(?:${VERSION}|${PACKAGE_AT_VERSION})${REFS}$`, "i"),
  // `Release v1.2`, `Release: 5.2.0 (#6920)`, `release: create-vite@6.2.0`, `Releases`, `Publish`
  // (but not "Release the lock when the agent stops")
  /^(?:releases?|publish(?:ed)?)(?::|\s+(?:v?\d|@|version|candidate|packages?\b|notes?\b)|$)/i,
  /^prepare (?:the )?(?:next )?release\b/i,
  // changesets: `Version Packages`, `Version Packages (next)`, pre mode
  /^version packages\b/i,
  /^(?:enter|exit)(?:ing)? pre-?release mode\b/i,
  // `Bump version to 1.2.3`, `chore: bump version`, `Update version`
  /^(?:bump|update|set)(?:ed)? (?:the )?(?:package )?version\b/i,
  /^(?:bump|update|upgrade)s? (?:to )?v?\d+\.\d+(?:\.\d+)?\b/i,
];

const DEPENDENCY: readonly RegExp[] = [
  // dependabot: `Bump x from 1 to 2`, `Bump the npm group with 3 updates`
  /^bumps? (?:the )?\S+(?: and \S+)?(?: from \S+ to \S+| group\b.*\bupdates?\b)/i,
  /^bumps? \S+ to v?\d/i,
  // renovate: `Update dependency x to v2`, `Update all non-major dependencies`, `Pin dependencies`,
  // `Lock file maintenance`, `Update pnpm to v10`, `Update actions/checkout action to v4`
  /^(?:update|upgrade|pin) (?:dependency|dependencies|devdependencies|all (?:non-major )?dependencies)\b/i,
  /^(?:update|upgrade) \S+(?: (?:action|docker tag|monorepo|packages?))? to v?\d[\w.-]*(?:\s*\(#\d+\))*$/i,
  /^lock ?file maintenance\b/i,
  /^update (?:the )?(?:yarn\.lock|package-lock\.json|pnpm-lock\.yaml|bun\.lockb?|lock ?files?)\b/i,
  // express: `deps: cookie@0.5.0`, or a subject that is only `package@version`
  new RegExp(`^${PACKAGE_AT_VERSION}(?:\\s*,\\s*${PACKAGE_AT_VERSION})*${REFS}$`, "i"),
];

const DEPENDENCY_SCOPES = new Set(["deps", "deps-dev", "dev-deps", "dependencies", "dependency", "devdeps"]);
const DEPENDENCY_TYPES = new Set(["deps", "dep", "dependencies"]);
const RELEASE_TYPES = new Set(["release", "version", "publish"]);
const RELEASE_SCOPES = new Set(["release", "version", "publish", "changeset", "changesets"]);

const MERGE = /^merge (?:pull request|branch|remote-tracking branch|tag|commit|(?:'[^']+'|"[^"]+") into)\b/i;
const SECURITY_MERGE = /^merge commit from fork$/i;
const TEST_PREFIX = /^tests?\s*[/:]/i;
// `fix(jsx): make merged context-isolation tests pass tsc type check`: only the tests change.
const TEST_ONLY =
  /^(?:add|fix|improve|update|increase)(?:e[sd])? (?:the |more |missing )?(?:unit |e2e |integration )?(?:test coverage|coverage|tests?)(?:$|\s+(?:for|to|of|on|in|that|around|covering)\b)|\btests? (?:pass|are green|no longer flak)/i;
const DOCS_PREFIX = /^docs?\s*[/:]/i;
const WIP = /^(?:wip\b|\[wip\]|(?:fixup|squash|amend)!)/i;

const plain = (text: string): string =>
  text
    .replace(/`([^`]*)`/g, "$1")
    .replace(/(?:\s*\((?:#\d+(?:,\s*)?)+\))+\s*$/, "")
    .trim();

/** The noise shape of a commit, or null when it may be something users want to read. */
export function noiseShape(commit: ChangelogCommit): NoiseShape | null {
  const header = plain(commit.header);
  const subject = plain(commit.subject);
  if (SECURITY_MERGE.test(header)) return "security-merge";
  if (MERGE.test(header)) return "merge";
  if (WIP.test(header) || WIP.test(subject)) return "work-in-progress";
  // Stryker disable next-line StringLiteral,Regex: empty or made-up parts are in none of the sets below.
  const scopes = (commit.scope ?? "").toLowerCase().split(/[,/\s]+/);
  if (RELEASE_TYPES.has(commit.type) || scopes.some((s) => RELEASE_SCOPES.has(s))) return "release";
  if (DEPENDENCY_TYPES.has(commit.type) || scopes.some((s) => DEPENDENCY_SCOPES.has(s))) return "dependency";
  for (const text of new Set([header, subject])) {
    if (RELEASE.some((r) => r.test(text))) return "release";
    if (/\[(?:skip ci|ci skip)\]/i.test(text) && /\b(?:release|version|publish)/i.test(text))
      return "release";
    if (DEPENDENCY.some((r) => r.test(text))) return "dependency";
    // `Bump micromatch`: a bare bump is a dependency only without a type (`fix: bump timeout` is not)
    if (commit.type === "other" && /^bumps? \S+(?: in \S+)?$/i.test(text)) return "dependency";
    if (TEST_PREFIX.test(text) || TEST_ONLY.test(text)) return "test";
    if (DOCS_PREFIX.test(text)) return "docs";
  }
  return null;
}

const REVERT = /^(?:revert:?\s*)"\s*([\s\S]*?)\s*"\s*$|^revert:\s+(?!")(.+)$/i;

/** The header a revert quotes (`Revert "feat: x"` → `feat: x`), or null for anything else. */
export function revertedHeaderOf(header: string): string | null {
  const match = REVERT.exec(header.trim());
  if (!match) return null;
  // The pattern leaves no space around either group, so nothing is left to trim.
  // Stryker disable next-line StringLiteral: one of the two groups always matched.
  return (match[1] ?? match[2] ?? "") || null;
}

/**
 * Peels `Revert "…"` layers off a header: `Revert "Revert "feat: x""` is `{ depth: 2, inner:
 * "feat: x" }`. An even depth is the original change again.
 */
export function unwrapReverts(header: string): { depth: number; inner: string } {
  let inner = header.trim();
  let depth = 0;
  for (let next = revertedHeaderOf(inner); next !== null; next = revertedHeaderOf(inner)) {
    inner = next;
    depth += 1;
  }
  return { depth, inner };
}
