import { describe, expect, it } from "vitest";
import { buildChangelog, type Changelog, toUserFacing } from "./build.ts";
import { hostedModeSchema } from "./exclusions.ts";
import type { RawCommit } from "./model.ts";
import { renderInternalMarkdown, renderUserFacingMarkdown, type SyncSummary } from "./render.ts";

/** A commit whose sha is `digit` repeated, so the rendered short shas are easy to read. */
function raw(digit: string, message: string, extra: Partial<RawCommit> = {}): RawCommit {
  return {
    sha: digit.repeat(40),
    parents: ["f".repeat(40)],
    authorName: "Ada <Lovelace>",
    authorEmail: "ada@example.com",
    date: "2026-11-01T00:00:00Z",
    message,
    files: ["src/x.ts"],
    ...extra,
  };
}

function changelogOf(commits: RawCommit[], github: string | null = "https://github.com/acme/app"): Changelog {
  return buildChangelog({
    commits,
    config: hostedModeSchema.parse({ infrastructure: ["deploy/**"], exclude: { scopes: ["cli"] } }),
    date: "2026-11-27",
    version: "v1.2.0",
    range: { from: "a".repeat(40), to: "b".repeat(40) },
    github,
  });
}

const COMMITS = [
  raw(
    "1",
    "feat(api)!: drop *v1* routes (#12)\n\nBREAKING CHANGE: clients must use /v2 (#13).\n\n- sub commit",
  ),
  raw("0", "feat(ui)!: new layout"),
  raw("2", "fix(cli): quote `a|b` args"),
  raw("3", "Polish [the] sidebar"),
  raw("4", "chore(deps): bump vitest to v4"),
  raw("5", "ci: cache npm"),
  raw("6", "lib: tidy"),
  raw("7", "perf: faster _boot_ (#3)"),
  raw("8", "Merge branch 'x'", { parents: ["f".repeat(40), "e".repeat(40)], files: [] }),
  raw("9", "fix: helm chart", { files: ["deploy/chart.yaml"] }),
  raw("c", 'Revert "feat: confetti"\n\nThis reverts commit dddddddddddddddddddddddddddddddddddddddd.'),
  raw("d", "feat: confetti"),
];

const SYNC: SyncSummary = {
  strategy: "rebase",
  branch: "sync/upstream",
  base: { ref: "main", sha: "1234567890".repeat(4) },
  upstream: { ref: "upstream/main", sha: "abcdef0123".repeat(4) },
  backupBranch: "backup/main",
  forkCommits: 2,
  conflicts: {
    step: 'replaying 1234567 "feat: x"',
    files: ["src/a.ts", "src/`b`.ts"],
    commands: ["git add -A", "git rebase --continue"],
  },
  guardFindings: [
    { rule: "hosted", file: "ui/A.tsx", require: "isHosted\\(", description: "hide *self-hosting*" },
    { rule: "hosted", file: "ui/B.tsx", require: "isHosted" },
  ],
  guardRules: ["hosted", "other"],
};

describe("the internal changelog", () => {
  it("renders the sync report, breaking changes, every commit by type with its tags, and what was dropped", () => {
    expect(renderInternalMarkdown(changelogOf(COMMITS), SYNC).split("\n")).toEqual([
      "# Upstream changes 2026-11-27 (v1.2.0)",
      "",
      "Range: `aaaaaaa..bbbbbbb` — 12 commits, 8 listed, 4 dropped.",
      "",
      "## Sync report",
      "",
      "- Strategy: rebase",
      "- Branch: `sync/upstream` from `main` at `1234567`",
      "- Upstream: `upstream/main` at `abcdef0`",
      "- Backup of the fork's main: `backup/main`",
      "- Fork commits kept on top of upstream: 2",
      "- Conflicts: 2",
      "- Guard findings: 2",
      "",
      "### Conflicts",
      "",
      'Git stopped while replaying 1234567 "feat: x". Conflicted files:',
      "",
      "- `src/a.ts`",
      "- ``src/`b`.ts``",
      "",
      "Nothing was committed or pushed; the fork's main is untouched. To finish by hand:",
      "",
      "```sh",
      "git add -A",
      "git rebase --continue",
      "```",
      "",
      "### Guard scan",
      "",
      "- `ui/A.tsx`: rule `hosted` — missing `/isHosted\\(/` (hide \\*self-hosting\\*)",
      "- `ui/B.tsx`: rule `hosted` — missing `/isHosted/`",
      "",
      "## ⚠ Breaking changes",
      "",
      "- **api:** drop \\*v1\\* routes ([#12](https://github.com/acme/app/pull/12)) — `1111111` · Ada \\<Lovelace\\>",
      "  clients must use /v2 ([#13](https://github.com/acme/app/pull/13)).",
      "- **ui:** new layout — `0000000` · Ada \\<Lovelace\\>",
      "",
      "## Features",
      "",
      "- **api:** drop \\*v1\\* routes ([#12](https://github.com/acme/app/pull/12)) — `1111111` · Ada \\<Lovelace\\> · _⚠ breaking · users: New_",
      "- **ui:** new layout — `0000000` · Ada \\<Lovelace\\> · _⚠ breaking · users: New_",
      "",
      "## Bug fixes",
      "",
      '- **cli:** quote `a\\|b` args — `2222222` · Ada \\<Lovelace\\> · _hidden from users by scope "cli"_',
      "",
      "## Performance",
      "",
      "- faster \\_boot\\_ ([#3](https://github.com/acme/app/pull/3)) — `7777777` · Ada \\<Lovelace\\> · _users: Improved_",
      "",
      "## CI",
      "",
      "- cache npm — `5555555` · Ada \\<Lovelace\\> · _internal only_",
      "",
      "## Chores",
      "",
      "- **deps:** bump vitest to v4 — `4444444` · Ada \\<Lovelace\\> · _not for users: dependency bump_",
      "",
      "## lib",
      "",
      "- tidy — `6666666` · Ada \\<Lovelace\\> · _internal only: not a conventional commit_",
      "",
      "## Other (not conventional)",
      "",
      "- Polish \\[the\\] sidebar — `3333333` · Ada \\<Lovelace\\> · _internal only: not a conventional commit_",
      "",
      "## Dropped from both views",
      "",
      "- `8888888` Merge branch 'x' — merge commit",
      "- `9999999` fix: helm chart — touches only infrastructure paths",
      '- `ccccccc` Revert "feat: confetti" — revert pair with `ddddddd`',
      "- `ddddddd` feat: confetti — revert pair with `ccccccc`",
      "",
    ]);
  });

  it("says when there is nothing to list, no conflict, no guard rule or no finding, and links nothing off GitHub", () => {
    const quiet: SyncSummary = { ...SYNC, conflicts: null, guardFindings: [], guardRules: [] };
    expect(renderInternalMarkdown(changelogOf([], null), quiet)).toBe(
      [
        "# Upstream changes 2026-11-27 (v1.2.0)",
        "",
        "Range: `aaaaaaa..bbbbbbb` — 0 commits, 0 listed, 0 dropped.",
        "",
        "## Sync report",
        "",
        "- Strategy: rebase",
        "- Branch: `sync/upstream` from `main` at `1234567`",
        "- Upstream: `upstream/main` at `abcdef0`",
        "- Backup of the fork's main: `backup/main`",
        "- Fork commits kept on top of upstream: 2",
        "- Conflicts: none",
        "- Guard findings: 0",
        "",
        "### Guard scan",
        "",
        "No guard rules configured.",
        "",
        "No commits to list.",
        "",
      ].join("\n"),
    );
    const clean = renderInternalMarkdown(changelogOf([], null), { ...quiet, guardRules: ["a", "b"] });
    expect(clean).toContain("\nAll files upstream changed pass the guard rules (a, b).\n");
    const plain = renderInternalMarkdown(changelogOf([raw("7", "perf: faster boot (#3)")], null));
    expect(plain).toContain("\n- faster boot (#3) — `7777777`");
    expect(plain).not.toContain("Sync report");
  });
});

describe("the user-facing preview", () => {
  it("lists each section's items, escaping markup, or says there is nothing", () => {
    expect(renderUserFacingMarkdown(toUserFacing(changelogOf(COMMITS)))).toBe(
      "**New**\n\n- API: drop \\*v1\\* routes\n- UI: new layout\n\n**Improved**\n\n- Faster \\_boot\\_\n",
    );
    expect(renderUserFacingMarkdown(toUserFacing(changelogOf([])))).toBe(
      "_Nothing user-visible in this update._\n",
    );
  });
});
