/**
 * The changelog on real histories (test/fixtures/changelog/*.jsonl): each corpus is rebuilt as a
 * git repository and read back through `generateChangelog`, as the nightly sync does.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeTempDir } from "../sync/test-helpers.ts";
import type { ChangelogEntry } from "./build.ts";
import { buildCorpusRepo, CORPORA, loadCorpus, noiseKind } from "./corpus.ts";
import { type HostedModeConfig, hostedModeSchema } from "./exclusions.ts";
import { type GeneratedChangelog, generateChangelog } from "./generate.ts";
import { isConventional } from "./model.ts";

let tmp: { dir: string; cleanup: () => Promise<void> };
beforeAll(async () => {
  tmp = await makeTempDir("fleetwave-corpus-");
});
afterAll(() => tmp.cleanup());

async function generate(name: string, config: HostedModeConfig): Promise<GeneratedChangelog> {
  const info = CORPORA.find((c) => c.name === name)!;
  const repo = await buildCorpusRepo(
    join(tmp.dir, `${name}-${config.unconventional}`),
    await loadCorpus(name),
  );
  return generateChangelog({
    git: repo.git,
    from: repo.from,
    to: repo.to,
    date: "2026-11-27",
    config,
    outDir: null,
    github: info.upstream,
  });
}

const items = (g: GeneratedChangelog) => g.userFacing.sections.flatMap((s) => s.items);
const counts = (g: GeneratedChangelog) =>
  Object.fromEntries(g.userFacing.sections.map((s) => [s.title, s.items.length]));
const shown = (g: GeneratedChangelog) => g.changelog.entries.filter((e) => e.item !== null);

/** What every corpus must satisfy, whatever its habits. */
function expectReadable(g: GeneratedChangelog, scopeNames: Readonly<Record<string, string>>): void {
  const noise = items(g).filter((item) => noiseKind(item) !== null);
  expect(noise).toEqual([]);
  // every scoped conventional item carries its area (unless scopeNames maps it to nothing)
  const scoped = shown(g).filter(
    (e: ChangelogEntry) => e.commit.scope && isConventional(e.commit) && e.commit.type !== "revert",
  );
  for (const entry of scoped) {
    if (scopeNames[entry.commit.scope!.toLowerCase()] === "") continue;
    expect(entry.item, entry.commit.header).toMatch(/^[^:]{2,40}: \S/);
  }
  // merges, trailers and squashed sub-commit lists never reach either view
  for (const item of items(g))
    expect(item).not.toMatch(/^merge (?:pull|branch|commit|tag|remote)|co-authored-by|signed-off-by|^\* /i);
  expect(g.internalMarkdown).not.toMatch(/co-authored-by|signed-off-by|^\s+\* /im);
}

describe("hono (conventional commits, bare version bumps, security-advisory merges)", () => {
  const scopeNames = {
    "reg-exp-router": "Router",
    "trie-router": "Router",
    "pattern-router/linear-router": "Router",
    "utils/ipaddr": "IP addresses",
    "hono-base": "Core",
    "aws-lambada": "AWS Lambda",
    ssg: "Static site generation",
  };
  let g: GeneratedChangelog;
  beforeAll(async () => {
    g = await generate("hono", hostedModeSchema.parse({ scopeNames }));
  });

  it("shows no version bump, merge or test item, and every scoped item with its area", () => {
    expect(g.changelog.total).toBe(217);
    expectReadable(g, scopeNames);
    expect(items(g)).not.toContain("4.12.34");
    expect(items(g).some((i) => /Test\//.test(i))).toBe(false);
    expect(counts(g)).toEqual({ New: 20, Improved: 11, Fixed: 75 });
    expect(items(g)).toEqual(
      expect.arrayContaining([
        "Trailing Slash: add skip option",
        "Router: throw UnsupportedPathError during route registration",
        'IP addresses: expand "::" to eight zero groups',
        "Cache: add onCacheNotAvailable option",
        "Add first-class QUERY method support",
      ]),
    );
  });

  it("marks the noise in the internal view and keeps breaking notes to the footer", () => {
    const md = g.internalMarkdown;
    expect(md.match(/— `\w+` · [^\n]*_not for users: release or version bump_/g)).toHaveLength(35);
    expect(md.match(/Merge commit from fork — [^\n]*_not for users: security-advisory merge_/g)?.length).toBe(
      32,
    );
    expect(md).toMatch(/Test\/add test for middleware timing [^\n]*_not for users: tests_/);
    const breaking = md.slice(md.indexOf("## ⚠ Breaking changes"), md.indexOf("## Features"));
    // the heading, a blank line, the commit, its footer as one paragraph
    expect(breaking.trim().split("\n")).toHaveLength(4);
    expect(breaking).toContain("pass `undefined` explicitly.");
    expect(breaking).not.toMatch(/apply automated fixes|MutableRefObject alias/);
    expect(md).toContain("([#4862](https://github.com/honojs/hono/pull/4862))");
  });
});

describe("vite (conventional-commits monorepo, release: commits, renovate)", () => {
  const scopeNames = { "create-vite": "Project templates" };
  let g: GeneratedChangelog;
  beforeAll(async () => {
    g = await generate("vite", hostedModeSchema.parse({ scopeNames }));
  });

  it("shows no release or dependency item, and every scoped item with its area", () => {
    expect(g.changelog.total).toBe(214);
    expectReadable(g, scopeNames);
    expect(counts(g)).toEqual({ New: 23, Improved: 10, Fixed: 80 });
    expect(items(g)).toEqual(
      expect.arrayContaining([
        "CSS: show lightningcss warnings",
        "Project templates: change Remix to React Router v7",
        "SSR: combine empty source mappings",
      ]),
    );
    expect(items(g).join("\n")).not.toMatch(/non-major dependencies|vite-plugin-solid|^v6\./im);
  });
});

describe("changesets (changesets-driven, plain sentences, dependabot)", () => {
  it("keeps sentences that follow no convention internal by default", async () => {
    const g = await generate("changesets", hostedModeSchema.parse({}));
    expect(g.changelog.total).toBe(165);
    expectReadable(g, {});
    expect(g.userFacing.sections).toEqual([
      {
        title: "New",
        items: [
          "CLI: allow comma-separated packages in --major/--minor/--patch",
          "Make init command interactive",
        ],
      },
      { title: "Improved", items: ["Replace picocolors with node:util styletext"] },
      { title: "Fixed", items: ["Remove two spaces", "Do not run publish on forks"] },
    ]);
    expect(g.internalMarkdown).toMatch(
      /Version Packages \(next\) [^\n]*_not for users: release or version bump_/,
    );
  });

  it("shows them under Improved with `unconventional: improved`, still without noise", async () => {
    const g = await generate("changesets", hostedModeSchema.parse({ unconventional: "improved" }));
    expectReadable(g, {});
    expect(counts(g)).toEqual({ New: 2, Improved: 129, Fixed: 2 });
    expect(items(g).join("\n")).not.toMatch(/version packages|^bump |prerelease mode|^merge /im);
  });
});

describe("express (no conventional commits: deps:, tests:, build: prefixes, bare versions)", () => {
  it("shows the real changes and nothing else with `unconventional: improved`", async () => {
    const g = await generate("express", hostedModeSchema.parse({ unconventional: "improved" }));
    expect(g.changelog.total).toBe(172);
    expectReadable(g, {});
    expect(counts(g)).toEqual({ Improved: 16 });
    expect(items(g)).toEqual(
      expect.arrayContaining([
        'Add "root" option to res.download',
        "Support proper 205 responses using res.send",
        "Fix handling very large stacks of sync middleware",
        // its original is older than the range: users did get it, so they read that it is gone
        'Reverted "Improve error message for null/undefined to res.status"',
      ]),
    );
    // `Revert "build: use minimatch@3.0.4 for Node.js < 4"` cancels the commit it reverts
    expect(g.changelog.dropped.map((d) => d.reason)).toEqual(["revert-pair", "revert-pair"]);
  });
});
