import { describe, expect, it } from "vitest";
import { buildChangelog, toUserFacing } from "./build.ts";
import { EMPTY_HOSTED_MODE, type HostedModeConfig, hostedModeSchema } from "./exclusions.ts";
import {
  breakingParagraph,
  compareTypes,
  globMatcher,
  parseCommit,
  prepareCommits,
  type RawCommit,
  userSection,
} from "./model.ts";
import { renderInternalMarkdown } from "./render.ts";
import { toSentence } from "./wording.ts";

let n = 0;
function raw(message: string, extra: Partial<RawCommit> = {}): RawCommit {
  n += 1;
  const sha = extra.sha ?? n.toString(16).padStart(40, "a");
  return {
    sha,
    parents: ["f".repeat(40)],
    authorName: "Ada",
    authorEmail: "ada@example.com",
    date: new Date(Date.UTC(2026, 10, 1, 0, n)).toISOString(),
    message,
    files: ["src/app.ts"],
    ...extra,
  };
}

describe("parseCommit", () => {
  it("reads type, scope and subject, and `!` as breaking", () => {
    const c = parseCommit(raw("feat(agent)!: drop the v1 status format"));
    expect(c).toMatchObject({
      type: "feat",
      scope: "agent",
      subject: "drop the v1 status format",
      breaking: true,
      breakingNotes: ["drop the v1 status format"],
    });
  });

  it("reads a BREAKING CHANGE footer and keeps the body", () => {
    const c = parseCommit(
      raw(
        "fix(api): reject unknown keys\n\nValidation is strict now.\n\nBREAKING CHANGE: configs with typos fail to load",
      ),
    );
    expect(c.type).toBe("fix");
    expect(c.breaking).toBe(true);
    expect(c.breakingNotes).toEqual(["configs with typos fail to load"]);
    expect(c.body).toBe("Validation is strict now.");
  });

  it("accepts BREAKING-CHANGE and a `!` without scope", () => {
    expect(parseCommit(raw("refactor!: rename the config file")).breaking).toBe(true);
    expect(parseCommit(raw("perf: x\n\nBREAKING-CHANGE: y")).breaking).toBe(true);
    expect(parseCommit(raw("feat: not breaking\n\nmentions breaking change in prose")).breaking).toBe(false);
  });

  it("keeps a non-conventional subject as type other", () => {
    const c = parseCommit(raw("Update the onboarding copy"));
    expect(c).toMatchObject({
      type: "other",
      scope: null,
      subject: "Update the onboarding copy",
      breaking: false,
    });
    expect(parseCommit(raw("WIP: stuff")).type).toBe("wip");
    expect(parseCommit(raw("Fix: Crash on start")).type).toBe("fix");
  });

  it("keeps only the paragraph of a BREAKING CHANGE footer inside a squash-merge body", () => {
    // hono #5063, abridged: the footer sits in the middle of the squashed sub-commits
    const c = parseCommit(
      raw(
        [
          "feat(jsx): add React-compatible overloads to useRef (#5063)",
          "",
          "* feat(jsx)!: align RefObject and useRef with React 19",
          "",
          "- `RefObject<T>` now has non-null mutable `current`",
          "",
          "BREAKING CHANGE: `RefObject<T>` was `{ current: T | null }`; nullable",
          "refs should now be typed as `RefObject<T | null>`.",
          "",
          "* ci: apply automated fixes",
          "",
          "---------",
          "",
          "Co-authored-by: autofix-ci[bot] <114827586+autofix-ci[bot]@users.noreply.github.com>",
        ].join("\n"),
      ),
    );
    expect(c.breakingNotes).toEqual([
      "`RefObject<T>` was `{ current: T | null }`; nullable refs should now be typed as `RefObject<T | null>`.",
    ]);
    const footerOnly = parseCommit(raw("fix: x\n\nBREAKING CHANGE: y changed\nSigned-off-by: Ada <a@b.c>"));
    expect(footerOnly.breakingNotes).toEqual(["y changed"]);
  });

  it("reads a revert of a revert as the original change", () => {
    const c = parseCommit(
      raw(`Revert "Revert "feat(cache): skip option""\n\nThis reverts commit ${"d".repeat(40)}.`),
    );
    expect(c).toMatchObject({
      type: "feat",
      scope: "cache",
      subject: "skip option",
      reverts: "d".repeat(40),
    });
    expect(userSection(c)).toBe("New");
  });

  it("recognises git's revert message", () => {
    const c = parseCommit(raw(`Revert "feat: dark mode"\n\nThis reverts commit ${"b".repeat(40)}.`));
    expect(c.type).toBe("revert");
    expect(c.reverts).toBe("b".repeat(40));
    expect(c.revertedHeader).toBe("feat: dark mode");
  });
});

describe("prepareCommits", () => {
  it("drops merge commits", () => {
    const merge = parseCommit(
      raw("Merge branch 'topic'", { parents: ["1".repeat(40), "2".repeat(40)], files: [] }),
    );
    const feat = parseCommit(raw("feat: a"));
    const { kept, dropped } = prepareCommits([merge, feat], { infrastructure: [] });
    expect(kept.map((c) => c.sha)).toEqual([feat.sha]);
    expect(dropped).toEqual([{ commit: merge, reason: "merge" }]);
  });

  it("drops a revert together with the commit it reverts inside the range", () => {
    const feat = parseCommit(raw("feat: dark mode"));
    const revert = parseCommit(raw(`Revert "feat: dark mode"\n\nThis reverts commit ${feat.sha}.`));
    const other = parseCommit(raw("fix: b"));
    const { kept, dropped } = prepareCommits([other, revert, feat], { infrastructure: [] });
    expect(kept.map((c) => c.subject)).toEqual(["b"]);
    expect(dropped.map((d) => [d.commit.sha, d.reason, d.pairedWith])).toEqual([
      [revert.sha, "revert-pair", feat.sha],
      [feat.sha, "revert-pair", revert.sha],
    ]);
  });

  it("keeps a change whose body only quotes a revert, and the commit that revert names", () => {
    const feat = parseCommit(raw("feat: dark mode"));
    const squash = parseCommit(
      raw(`feat: themes\n\nRevert "feat: dark mode"\nThis reverts commit ${feat.sha}.`),
    );
    expect(squash).toMatchObject({ type: "feat", reverts: null, revertedHeader: null });
    const { kept, dropped } = prepareCommits([squash, feat], { infrastructure: [] });
    expect(kept.map((c) => c.subject)).toEqual(["themes", "dark mode"]);
    expect(dropped).toEqual([]);
  });

  it("keeps a revert of a commit outside the range, and the original after a revert of a revert", () => {
    const outside = parseCommit(raw(`Revert "feat: old"\n\nThis reverts commit ${"c".repeat(40)}.`));
    expect(prepareCommits([outside], { infrastructure: [] }).kept).toHaveLength(1);

    const feat = parseCommit(raw("feat: dark mode"));
    const r1 = parseCommit(raw(`Revert "feat: dark mode"\n\nThis reverts commit ${feat.sha}.`));
    const r2 = parseCommit(raw(`Revert "Revert "feat: dark mode""\n\nThis reverts commit ${r1.sha}.`));
    // order-independent
    for (const order of [
      [r2, r1, feat],
      [feat, r1, r2],
    ]) {
      expect(prepareCommits(order, { infrastructure: [] }).kept.map((c) => c.sha)).toEqual([feat.sha]);
    }
  });

  it("pairs a revert by the header it quotes when the sha is not in the range (rebased history)", () => {
    const feat = parseCommit(raw(" fix(etag): resolve incorrect hashing (#5199)"));
    const revert = parseCommit(
      raw(`Revert " fix(etag): resolve incorrect hashing (#5199)"\n\nThis reverts commit ${"e".repeat(40)}.`),
    );
    const { kept, dropped } = prepareCommits([revert, feat], { infrastructure: [] });
    expect(kept).toEqual([]);
    expect(dropped.map((d) => d.pairedWith)).toEqual([feat.sha, revert.sha]);
  });

  it("drops commits that touch only infrastructure paths", () => {
    const infra = parseCommit(
      raw("fix: pin base image", { files: ["docker/Dockerfile", ".github/workflows/ci.yml"] }),
    );
    const mixed = parseCommit(raw("feat: export", { files: ["docker/Dockerfile", "src/export.ts"] }));
    const empty = parseCommit(raw("chore: empty", { files: [] }));
    const { kept, dropped } = prepareCommits([infra, mixed, empty], {
      infrastructure: ["docker/**", ".github/**"],
    });
    expect(kept).toEqual([mixed, empty]);
    expect(dropped).toEqual([{ commit: infra, reason: "infrastructure" }]);
  });
});

describe("classification and the user-facing view", () => {
  it("maps types to sections", () => {
    const section = (m: string) => userSection(parseCommit(raw(m)));
    expect(section("feat: a")).toBe("New");
    expect(section("fix: a")).toBe("Fixed");
    expect(section("perf: a")).toBe("Improved");
    expect(section("refactor: a")).toBe("Improved");
    expect(section("Polish the sidebar")).toBeNull();
    expect(section("lib: use req.socket")).toBeNull();
    expect(userSection(parseCommit(raw("Polish the sidebar")), "improved")).toBe("Improved");
    expect(userSection(parseCommit(raw("lib: use req.socket")), "improved")).toBe("Improved");
    for (const hidden of ["chore: a", "ci: a", "build: a", "test: a", "docs: a", "deps: a@1.0.0"]) {
      expect(section(hidden)).toBeNull();
      expect(userSection(parseCommit(raw(hidden)), "improved")).toBeNull();
    }
  });

  it("rewrites subjects as plain sentences", () => {
    expect(toSentence("add dark mode.")).toBe("Add dark mode");
    expect(toSentence("  support `--json` output (#123)  ")).toBe("Support --json output");
    expect(toSentence("handle empty lists... ")).toBe("Handle empty lists");
    expect(toSentence(":sparkles: show avatars [skip ci]")).toBe("Show avatars");
    expect(toSentence("élan vital (closes #4, #5)")).toBe("Élan vital");
    expect(toSentence("Keep iOS as is")).toBe("Keep iOS as is");
  });

  const config: HostedModeConfig = hostedModeSchema.parse({
    exclude: { scopes: ["adapters"], paths: ["packages/adapters/**"], keywords: ["cli", "thinking effort"] },
  });

  it("applies exclusions by scope, path and whole-word keyword, and keeps 'client'", () => {
    const commits = [
      raw("feat(adapters): add a Gemini adapter"),
      raw("feat: faster streaming", { files: ["packages/adapters/claude/index.ts"] }),
      raw("feat: new CLI flag for exports"),
      raw("feat: pick the thinking effort per agent"),
      raw("fix: the client reconnects after a timeout"),
      raw("fix: clicking twice no longer submits twice"),
      raw("feat: shared inbox", { files: ["packages/adapters/x.ts", "ui/src/Inbox.tsx"] }),
    ].reverse();
    const changelog = buildChangelog({
      commits,
      config,
      date: "2026-11-27",
      version: "v1.0.0",
      range: { from: "a".repeat(40), to: "b".repeat(40) },
    });
    const view = toUserFacing(changelog);
    expect(view.sections).toEqual([
      { title: "New", items: ["Shared inbox"] },
      {
        title: "Fixed",
        items: ["Clicking twice no longer submits twice", "The client reconnects after a timeout"],
      },
    ]);
    const hidden = changelog.entries.filter((e) => e.hiddenBy).map((e) => [e.commit.subject, e.hiddenBy]);
    expect(hidden).toEqual([
      ["pick the thinking effort per agent", { kind: "keyword", value: "thinking effort" }],
      ["new CLI flag for exports", { kind: "keyword", value: "cli" }],
      ["faster streaming", { kind: "path", value: "packages/adapters/**" }],
      ["add a Gemini adapter", { kind: "scope", value: "adapters" }],
    ]);
    const md = renderInternalMarkdown(changelog);
    expect(md).toContain('hidden from users by keyword "cli"');
    expect(md).toContain("new CLI flag for exports");
  });

  it("keeps noise out of the user view, marks it internally, adds areas and merges near-duplicates", () => {
    const changelog = buildChangelog({
      commits: [
        raw("4.12.34"),
        raw("Merge commit from fork"),
        raw("chore(deps): update dependency vitest to v4"),
        raw("refactor(timing): Test/add test for middleware timing (#4991)"),
        raw("feat(cache): add a skip option (#4862)"),
        raw("feat(cache): Add a skip-option"),
        raw("fix(reg-exp-router): associate wildcard middleware with matching routes (#5266)"),
        raw("fix(core): keep the query string"),
        raw("Polish the sidebar"),
      ].reverse(),
      config: hostedModeSchema.parse({ scopeNames: { "reg-exp-router": "Router", core: "" } }),
      date: "2026-11-27",
      version: "v1.0.0",
      range: { from: "a".repeat(40), to: "b".repeat(40) },
      github: "https://github.com/honojs/hono",
    });
    expect(toUserFacing(changelog).sections).toEqual([
      { title: "New", items: ["Cache: add a skip-option"] }, // the newer of the two near-duplicates
      {
        title: "Fixed",
        items: ["Keep the query string", "Router: associate wildcard middleware with matching routes"],
      },
    ]);
    const md = renderInternalMarkdown(changelog);
    expect(md).toContain("4.12.34 — `");
    expect(md).toMatch(/4\.12\.34 — .*_not for users: release or version bump_/);
    expect(md).toMatch(/Merge commit from fork — .*_not for users: security-advisory merge_/);
    expect(md).toMatch(/update dependency vitest to v4 — .*_not for users: dependency bump_/);
    expect(md).toMatch(/Test\/add test for middleware timing .*_not for users: tests_/);
    expect(md).toMatch(/Polish the sidebar — .*_internal only: not a conventional commit_/);
    expect(md).toContain("add a skip option ([#4862](https://github.com/honojs/hono/pull/4862))");

    const improved = buildChangelog({
      commits: [raw("Polish the sidebar"), raw("4.12.34")],
      config: hostedModeSchema.parse({ unconventional: "improved" }),
      date: "2026-11-27",
      version: "v1.0.0",
      range: { from: "a".repeat(40), to: "b".repeat(40) },
    });
    expect(toUserFacing(improved).sections).toEqual([{ title: "Improved", items: ["Polish the sidebar"] }]);
  });

  it("omits empty sections and produces the documented JSON shape", () => {
    const changelog = buildChangelog({
      commits: [raw("chore: deps"), raw("fix: typo in the greeting.")],
      config: EMPTY_HOSTED_MODE,
      date: "2026-11-27",
      version: "2026-11-27+bbbbbbb",
      range: { from: "a".repeat(40), to: "b".repeat(40) },
    });
    expect(toUserFacing(changelog)).toEqual({
      version: "2026-11-27+bbbbbbb",
      date: "2026-11-27",
      range: { from: "a".repeat(40), to: "b".repeat(40) },
      sections: [{ title: "Fixed", items: ["Typo in the greeting"] }],
    });
  });
});

describe("parseCommit: edge cases", () => {
  it("reads an empty message as an empty non-conventional commit", () => {
    for (const message of ["", "   \n  "]) {
      expect(parseCommit(raw(message))).toMatchObject({
        type: "other",
        scope: null,
        subject: "",
        header: "",
        body: null,
        breaking: false,
        breakingNotes: [],
        reverts: null,
        revertedHeader: null,
      });
    }
  });

  it("reads CRLF messages, blank scopes, upper-case types and an empty subject", () => {
    expect(parseCommit(raw("feat(ui): x\r\n\r\nbody line\r\n"))).toMatchObject({
      type: "feat",
      scope: "ui",
      header: "feat(ui): x",
      body: "body line",
    });
    expect(parseCommit(raw("feat( ): x")).scope).toBeNull();
    expect(parseCommit(raw("FEAT: Upper")).type).toBe("feat");
    expect(parseCommit(raw("feat:   "))).toMatchObject({ type: "other", subject: "feat:" });
  });

  it("reads a quoted revert without git's footer as a revert, and a revert in prose as other", () => {
    expect(parseCommit(raw('Revert "feat: a"'))).toMatchObject({
      type: "revert",
      revertedHeader: "feat: a",
      reverts: null,
    });
    expect(parseCommit(raw("Revert the thing"))).toMatchObject({ type: "other", revertedHeader: null });
    expect(parseCommit(raw('Reverted "feat: a"\n\nThis reverts commit abcdef1.'))).toMatchObject({
      type: "other",
      reverts: null,
    });
  });

  it("reads an odd number of reverts as a revert and keeps what a revert of a revert undoes", () => {
    const twice = parseCommit(raw('Revert "Revert "feat(x): y""\n\nThis reverts commit abc1234.'));
    expect(twice).toMatchObject({ type: "feat", scope: "x", reverts: "abc1234", revertedHeader: null });
    expect(twice.header).toBe('Revert "Revert "feat(x): y""');
    expect(parseCommit(raw('Revert "Revert "feat(x): y""')).reverts).toBeNull();
    expect(parseCommit(raw('Revert "Revert "Revert "feat: y"""'))).toMatchObject({
      type: "revert",
      revertedHeader: 'Revert "Revert "feat: y""',
    });
  });

  it("takes a breaking note that starts on the next paragraph, and both a `!` and a footer once", () => {
    expect(parseCommit(raw("feat: x\n\nBREAKING CHANGE:\n\nmore")).breakingNotes).toEqual(["more"]);
    expect(parseCommit(raw("feat!: x\n\nBREAKING CHANGE: y")).breakingNotes).toEqual(["y"]);
  });

  it("ends a breaking paragraph at a blank line, a rule, a list item or a trailer", () => {
    expect(breakingParagraph("  a  \r\n  b  ")).toBe("a b");
    expect(breakingParagraph("a\nb\n---\nc")).toBe("a b");
    expect(breakingParagraph("a\n* b")).toBe("a");
    expect(breakingParagraph("a\n- b")).toBe("a");
    expect(breakingParagraph("a\nCloses: #1")).toBe("a");
    expect(breakingParagraph("a\n\nb")).toBe("a");
  });
});

describe("globs and type order", () => {
  it("matches dotfiles, and nothing without globs", () => {
    expect(globMatcher([])("x")).toBe(false);
    expect(globMatcher(["**/*.md"])(".github/a.md")).toBe(true);
    expect(globMatcher(["src/*"])("src/a/b")).toBe(false);
  });

  it("orders the usual types first, unknown ones by name, and `other` last", () => {
    expect(["other", "zzz", "feat", "chore", "aaa", "style", "fix"].sort(compareTypes)).toEqual([
      "feat",
      "fix",
      "chore",
      "style",
      "aaa",
      "zzz",
      "other",
    ]);
  });
});

describe("prepareCommits: pairing reverts", () => {
  it("pairs by a sha of at least 7 characters in any case, and never a revert with itself", () => {
    const feat = parseCommit(raw("feat: dark mode", { sha: "abcdef0".padEnd(40, "1") }));
    const six = parseCommit(raw(`Revert "feat: x"\n\nThis reverts commit ${feat.sha.slice(0, 6)}.`));
    expect(prepareCommits([six, feat], { infrastructure: [] }).kept).toHaveLength(2);
    const upper = parseCommit(
      raw(`Revert "feat: x"\n\nThis reverts commit ${feat.sha.slice(0, 7).toUpperCase()}.`),
    );
    expect(prepareCommits([upper, feat], { infrastructure: [] }).kept).toEqual([]);
    const self = parseCommit(
      raw(`Revert "feat: self"\n\nThis reverts commit ${"0".repeat(40)}.`, { sha: "0".repeat(40) }),
    );
    expect(prepareCommits([self], { infrastructure: [] }).kept).toEqual([self]);
  });

  it("pairs by the quoted header, in any case and spacing, only with an older commit", () => {
    const feat = parseCommit(raw("feat: Dark  Mode"));
    const revert = parseCommit(raw(`Revert "feat: dark mode"\n\nThis reverts commit ${"e".repeat(40)}.`));
    expect(prepareCommits([revert, feat], { infrastructure: [] }).kept).toEqual([]);
    expect(prepareCommits([feat, revert], { infrastructure: [] }).kept).toEqual([feat, revert]);
  });
});

describe("parseCommit: what the header alone decides", () => {
  it("trims the header and the scope", () => {
    expect(parseCommit(raw("feat( ui ): x  \n\nbody"))).toMatchObject({
      header: "feat( ui ): x",
      scope: "ui",
    });
  });

  it("reads git's revert footer under an unquoted header as a revert, but not a revert only mentioned", () => {
    expect(parseCommit(raw("Revert foo bar\n\nThis reverts commit abc1234."))).toMatchObject({
      type: "revert",
      reverts: "abc1234",
    });
    expect(
      parseCommit(raw('Undo the revert of x\n\nRevert "x"\nThis reverts commit abc1234.')),
    ).toMatchObject({
      type: "other",
      reverts: null,
    });
  });

  it("is breaking with a footer whose paragraph is empty, without an empty note", () => {
    expect(parseCommit(raw("feat: x\n\nBREAKING CHANGE: - item"))).toMatchObject({
      breaking: true,
      breakingNotes: [],
    });
    expect(parseCommit(raw("feat: x\n\nBREAKING CHANGE: a\n\nBREAKING-CHANGE: b")).breakingNotes).toEqual([
      "a",
      "b",
    ]);
  });

  it("ends a breaking paragraph only at a whole rule or a list item at the start of a line", () => {
    expect(breakingParagraph("a\n---x")).toBe("a ---x");
    expect(breakingParagraph("a\nb---")).toBe("a b---");
    expect(breakingParagraph("a\nuse x - y now")).toBe("a use x - y now");
  });
});

describe("prepareCommits: reasons", () => {
  it("keeps a revert pair's reason when both halves touch only infrastructure", () => {
    const feat = parseCommit(raw("feat: chart", { sha: "1234567".padEnd(40, "0"), files: ["deploy/a"] }));
    const revert = parseCommit(
      raw(`Revert "feat: chart"\n\nThis reverts commit ${feat.sha}.`, { files: ["deploy/a"] }),
    );
    const { dropped } = prepareCommits([revert, feat], { infrastructure: ["deploy/**"] });
    expect(dropped.map((d) => d.reason)).toEqual(["revert-pair", "revert-pair"]);
  });

  it("does not pair headers that differ only by a space inside a word", () => {
    const feat = parseCommit(raw("feat: a b"));
    const revert = parseCommit(raw(`Revert "feat: ab"\n\nThis reverts commit ${"e".repeat(40)}.`));
    expect(prepareCommits([revert, feat], { infrastructure: [] }).kept).toEqual([revert, feat]);
  });
});
