import { describe, expect, it } from "vitest";
import { buildChangelog, countChangelog, toUserFacing, userItem } from "./build.ts";
import { hostedModeSchema } from "./exclusions.ts";
import { parseCommit, type RawCommit } from "./model.ts";

function raw(digit: string, message: string, extra: Partial<RawCommit> = {}): RawCommit {
  return {
    sha: digit.repeat(40),
    parents: ["f".repeat(40)],
    authorName: "Ada",
    authorEmail: "ada@example.com",
    date: "2026-11-01T00:00:00Z",
    message,
    files: ["src/x.ts"],
    ...extra,
  };
}

const item = (message: string, scopeNames: Record<string, string> = {}) =>
  userItem(parseCommit(raw("1", message)), scopeNames);

describe("the item users read", () => {
  it("names what a revert undoes, without its type prefix", () => {
    expect(item('Revert "feat(cache): add a skip option"')).toBe('Reverted "Add a skip option"');
    expect(item('Revert "Polish the sidebar"')).toBe('Reverted "Polish the sidebar"');
    expect(item("revert: feat: dark mode")).toBe('Reverted "Dark mode"');
  });

  it("names a change whose body quotes a revert by its own subject", () => {
    expect(item('feat: x\n\nRevert "y"\nThis reverts commit abc1234.')).toBe("X");
  });

  it("reads a subject that follows no convention whole, prefix included", () => {
    expect(item("lib: tidy the parser")).toBe("Lib: tidy the parser");
    expect(item("Polish the sidebar.")).toBe("Polish the sidebar");
  });

  it("keeps the subject's own case after an area, and capitalises it without one", () => {
    expect(item("fix(client): replaceUrlParam should not match")).toBe(
      "Client: replaceUrlParam should not match",
    );
    expect(item("fix(core): keep the query", { core: "" })).toBe("Keep the query");
    expect(item("fix: keep the query")).toBe("Keep the query");
  });
});

describe("building the changelog", () => {
  // Built inside each test, so that a change to the code under test is seen by the test.
  const build = () =>
    buildChangelog({
      commits: [
        raw("1", "feat!: new layout"),
        raw("2", "fix: ..."),
        raw("3", "chore(deps): bump x to v2"),
        raw("4", "feat(cli): add --json"),
        raw("5", "ci: cache npm"),
        raw("6", "Merge branch 'x'", { parents: ["f".repeat(40), "e".repeat(40)], files: [] }),
      ],
      config: hostedModeSchema.parse({ exclude: { scopes: ["cli"] } }),
      date: "2026-11-27",
      version: "v1",
      range: { from: "a".repeat(40), to: "b".repeat(40) },
    });

  it("shows users no item for a subject with no words", () => {
    const changelog = build();
    const dots = changelog.entries.find((e) => e.commit.sha === "2".repeat(40));
    expect(dots).toMatchObject({ section: "Fixed", item: null });
    expect(toUserFacing(changelog).sections).toEqual([{ title: "New", items: ["New layout"] }]);
  });

  it("counts what went where", () => {
    expect(countChangelog(build())).toEqual({
      total: 6,
      listed: 5,
      dropped: 1,
      breaking: 1,
      userVisible: 1,
      hiddenByHostedMode: 1,
      noise: 1,
      internalOnly: 2,
    });
  });
});
