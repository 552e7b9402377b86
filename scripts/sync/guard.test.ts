import { describe, expect, it } from "vitest";
import { hostedModeSchema } from "../changelog/exclusions.ts";
import { repoFromRemoteUrl, resolveGitHubTarget } from "./github.ts";
import { checkGuards } from "./guard.ts";
import { conflictMarkerLines } from "./markers.ts";

describe("checkGuards", () => {
  const { guards } = hostedModeSchema.parse({
    guards: [
      {
        name: "ui",
        paths: ["ui/src/components/**/*.tsx"],
        ignore: ["**/*.test.tsx"],
        require: "\\bhostedMode\\b",
        when: "added",
      },
      { name: "settings", paths: ["ui/src/pages/*Settings.tsx"], require: "^import .*hostedMode" },
    ],
  });
  const files: Record<string, string> = {
    "ui/src/components/New.tsx": "export const New = () => null;",
    "ui/src/components/Guarded.tsx": "if (hostedMode) return null;",
    "ui/src/components/New.test.tsx": "test",
    "ui/src/components/Old.tsx": "no guard, but only modified",
    "ui/src/pages/AgentSettings.tsx": "const x = 1;\nimport { hostedMode } from '../hosted';",
    "ui/src/pages/KeySettings.tsx": "const hostedMode = false;",
  };

  it("lists each changed file missing its guard", () => {
    const changed = [
      { path: "ui/src/components/New.tsx", status: "added" as const },
      { path: "ui/src/components/Guarded.tsx", status: "added" as const },
      { path: "ui/src/components/New.test.tsx", status: "added" as const },
      { path: "ui/src/components/Old.tsx", status: "modified" as const },
      { path: "ui/src/pages/AgentSettings.tsx", status: "modified" as const },
      { path: "ui/src/pages/KeySettings.tsx", status: "modified" as const },
      { path: "ui/src/components/Gone.tsx", status: "added" as const },
    ];
    expect(checkGuards(guards, changed, (p) => files[p] ?? null)).toEqual([
      { rule: "ui", file: "ui/src/components/New.tsx", require: "\\bhostedMode\\b" },
      { rule: "settings", file: "ui/src/pages/KeySettings.tsx", require: "^import .*hostedMode" },
    ]);
  });
});

describe("conflictMarkerLines", () => {
  it("finds git's markers", () => {
    const text = "a\n<<<<<<< HEAD\nours\n=======\ntheirs\n>>>>>>> upstream/main\nb\n";
    expect(conflictMarkerLines(text)).toEqual([2, 4, 6]);
    expect(conflictMarkerLines("<<<<<<<\nx\n>>>>>>>\n")).toEqual([1, 3]);
  });

  it("ignores a Markdown heading underline and look-alikes", () => {
    expect(conflictMarkerLines("Title\n=======\n\ntext\n")).toEqual([]);
    expect(conflictMarkerLines("x <<<<<<< y\n<<<<<<<< eight\n")).toEqual([]);
  });
});

describe("GitHub target", () => {
  it("reads owner/repo from GITHUB_REPOSITORY or a GitHub remote URL", () => {
    expect(repoFromRemoteUrl("https://github.com/acme/paperclip.git")).toEqual({
      owner: "acme",
      repo: "paperclip",
    });
    expect(repoFromRemoteUrl("git@github.com:acme/paperclip.git")).toEqual({
      owner: "acme",
      repo: "paperclip",
    });
    expect(repoFromRemoteUrl("/srv/git/fork.git")).toBeNull();
    expect(
      resolveGitHubTarget(
        { GITHUB_TOKEN: "t", GITHUB_API_URL: "https://ghe.example/api/v3/" },
        "git@github.com:a/b",
      ),
    ).toEqual({ owner: "a", repo: "b", token: "t", baseUrl: "https://ghe.example/api/v3" });
    expect(() => resolveGitHubTarget({ GITHUB_REPOSITORY: "acme/app" }, null)).toThrow(/GITHUB_TOKEN/);
    expect(() => resolveGitHubTarget({ GITHUB_TOKEN: "t", GITHUB_REPOSITORY: "acme" }, null)).toThrow(
      /owner\/repo/,
    );
  });
});
