import { describe, expect, it } from "vitest";
import { parseCommit } from "./model.ts";
import { noiseShape, revertedHeaderOf, unwrapReverts } from "./shapes.ts";

const shape = (message: string) =>
  noiseShape(
    parseCommit({
      sha: "a".repeat(40),
      parents: ["b".repeat(40)],
      authorName: "Ada",
      authorEmail: "ada@example.com",
      date: "2026-11-01T00:00:00Z",
      message,
      files: [],
    }),
  );

describe("noiseShape", () => {
  // Subjects below are copied from the histories of hono, vite, changesets and express.
  it("recognises release and version commits", () => {
    for (const subject of [
      "4.12.34",
      "v5.0.0-beta.3",
      "release: v6.1.0",
      "release: create-vite@6.1.0",
      "Release: 5.2.0 (#6920)",
      "chore(release): publish 2.3.0",
      "Version Packages (#2242)",
      "Version Packages (next) (#2228)",
      "Exit prerelease mode (#2230)",
      "chore: bump version to 1.2.3 [skip ci]",
      "ci: release 1.4.0 [skip ci]",
    ])
      expect(shape(subject), subject).toBe("release");
  });

  it("recognises dependency bumps", () => {
    for (const subject of [
      "Build(deps-dev): Bump vitepress from 2.0.0-alpha.18 to 2.0.0-alpha.19 (#2226)",
      "Bump the development-dependencies group across 1 directory with 6 updates (#2225)",
      "Bump micromatch (#1487)",
      "fix(deps): update all non-major dependencies (#18853)",
      "chore(deps): update dependency eslint to v9 (#123)",
      "feat(create-vite): bump vite-plugin-solid to `2.11.0` (#18792)",
      "Update Changesets action to v2.0.0 (#2236)",
      "deps: cookie@0.5.0",
      "deps: body-parser@^2.2.1 (#6922)",
      "Lock file maintenance",
    ])
      expect(shape(subject), subject).toBe("dependency");
  });

  it("recognises merges, security-advisory merges, tests, docs and work in progress", () => {
    expect(shape("Merge commit from fork")).toBe("security-merge");
    expect(shape("Merge pull request #5154 from honojs/next")).toBe("merge");
    expect(shape("Merge branch 'main' into next")).toBe("merge");
    expect(shape("Merge remote-tracking branch 'origin/main' into next")).toBe("merge");
    expect(shape("refactor(timing): Test/add test for middleware timing (#4991)")).toBe("test");
    expect(shape("fix(jsx): make merged context-isolation tests pass tsc type check (#5037)")).toBe("test");
    expect(shape("Tests: cover the router")).toBe("test");
    expect(shape("fix(router): add tests for wildcard routes")).toBe("test");
    expect(shape("chore: increase test coverage")).toBe("test");
    expect(shape("Docs: explain the cache")).toBe("docs");
    expect(shape("feat: Docs/ explain the cache")).toBe("docs");
    expect(shape("WIP router rewrite")).toBe("work-in-progress");
    expect(shape("fixup! feat: add a skip option")).toBe("work-in-progress");
    expect(shape("squash! fix(cache): x")).toBe("work-in-progress");
  });

  it("leaves real changes alone", () => {
    for (const subject of [
      "fix(stream): upgrade `@hono/node-server` to v2 and fix abort handling (#4940)",
      "feat(cache): add `onCacheNotAvailable` option (#4876)",
      "Fix handling very large stacks of sync middleware",
      "Do not bump ignored independent packages when exiting pre mode (#2092)",
      "Remove `outdent` dependency (#1462)",
      "fix: merge client and ssr values for `pluginContainer.getModuleInfo` (#18895)",
      "Add pack command (#2062)",
      "Release the lock when the agent stops",
      "fix: bump timeout",
      "feat(payments): add test mode for cards",
      "feat(api): bump limits",
      "feat: publish the health report",
    ])
      expect(shape(subject), subject).toBeNull();
  });
});

describe("reverts", () => {
  it("reads the quoted header and peels revert chains", () => {
    expect(revertedHeaderOf('Revert "feat: x"')).toBe("feat: x");
    expect(revertedHeaderOf('Revert " fix(etag): y (#5199)"')).toBe("fix(etag): y (#5199)");
    expect(revertedHeaderOf("revert: feat: x")).toBe("feat: x");
    expect(revertedHeaderOf("feat: x")).toBeNull();
    expect(unwrapReverts('Revert "Revert "feat: x""')).toEqual({ depth: 2, inner: "feat: x" });
    expect(unwrapReverts('Revert "Revert "Revert "feat: x"""')).toEqual({ depth: 3, inner: "feat: x" });
  });
});

describe("noiseShape: where it looks", () => {
  it("finds work in progress in the subject after a type, and in any scope of several", () => {
    expect(shape("feat: WIP router")).toBe("work-in-progress");
    expect(shape("[WIP] x")).toBe("work-in-progress");
    expect(shape("amend! x")).toBe("work-in-progress");
    expect(shape("fix(ui, release): x")).toBe("release");
    expect(shape("fix(ui/deps): x")).toBe("dependency");
    expect(shape("fix(ui deps): x")).toBe("dependency");
    expect(shape("fix(Deps): x")).toBe("dependency");
  });

  it("reads release and dependency types", () => {
    expect(shape("publish: x")).toBe("release");
    expect(shape("version: x")).toBe("release");
    expect(shape("dep: x")).toBe("dependency");
  });

  it("takes a CI-skip marker as a release only with a release word", () => {
    expect(shape("chore: publishing docs [skip ci]")).toBe("release");
    expect(shape("chore: publishing docs")).toBeNull();
    expect(shape("fix: x [skip ci]")).toBeNull();
  });

  it("takes a bare bump as a dependency only without a type", () => {
    expect(shape("Bump x in /docs")).toBe("dependency");
    expect(shape("Bump x in /docs now")).toBeNull();
    expect(shape("chore: bump x")).toBeNull();
    expect(shape("fix: bump x to 2.0.0")).toBe("dependency");
  });

  it("reads versions through code ticks and trailing pull request numbers", () => {
    expect(shape("`4.1.0`")).toBe("release");
    expect(shape("4.1.0 (#12) (#13)")).toBe("release");
    expect(shape("v1.2.3 (#1, #2)")).toBe("release");
    expect(shape("Merge commit from fork (#12)")).toBe("security-merge");
  });
});

describe("noiseShape: trailing pull request numbers and code ticks", () => {
  it("reads a test-only subject however its pull request numbers are written at the end", () => {
    for (const subject of [
      "fix: add tests (#12)",
      "fix: add tests (#1, #2)",
      "fix: add tests (#1,#2)",
      "fix: add tests (#1) (#2)",
      "fix: add tests  (#12)",
      "fix: add tests(#12)",
    ])
      expect(shape(subject), subject).toBe("test");
    expect(shape("fix: add tests (#12)x")).toBeNull();
    expect(shape("fix: add tests (#12) for x")).toBeNull();
  });

  it("reads a version in code ticks with a space inside, and a bump only at the start", () => {
    expect(shape("`4.1.0 `")).toBe("release");
    expect(shape("Please bump x")).toBeNull();
  });

  it("reads reverts around spaces", () => {
    expect(revertedHeaderOf(' Revert "feat: x" ')).toBe("feat: x");
    expect(revertedHeaderOf('Revert ""')).toBeNull();
    expect(unwrapReverts(" feat: x ")).toEqual({ depth: 0, inner: "feat: x" });
  });
});
