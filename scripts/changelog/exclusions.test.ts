import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  describeExclusion,
  EMPTY_HOSTED_MODE,
  exclusionMatcher,
  HostedModeConfigError,
  keywordMatcher,
  loadHostedModeConfig,
  parseHostedModeConfig,
} from "./exclusions.ts";
import { parseCommit } from "./model.ts";

describe("keywordMatcher", () => {
  it("matches whole words case-insensitively", () => {
    const cli = keywordMatcher("cli");
    expect(cli("New CLI flag")).toBe(true);
    expect(cli("the cli's output")).toBe(true);
    expect(cli("(cli) fix")).toBe(true);
    expect(cli("client reconnects")).toBe(false);
    expect(cli("clicking the button")).toBe(false);
    expect(cli("publicly")).toBe(false);
  });

  it("matches phrases across spaces, dashes and underscores, with plurals", () => {
    const key = keywordMatcher("API key");
    expect(key("rotate API keys")).toBe(true);
    expect(key("read api_key from env")).toBe(true);
    expect(key("the api-key field")).toBe(true);
    expect(key("the api keyboard")).toBe(false);
    expect(keywordMatcher("self-hosting")("Self hosting guide")).toBe(true);
    expect(keywordMatcher("adapter")("two new adapters")).toBe(true);
    expect(keywordMatcher("c++")("C++ bindings")).toBe(true);
  });
});

describe("exclusionMatcher", () => {
  const hide = exclusionMatcher({ scopes: ["CLI"], paths: ["deploy/**"], keywords: ["heartbeat"] });
  const commit = (message: string, files = ["src/x.ts"]) =>
    parseCommit({
      sha: "a".repeat(40),
      parents: [],
      authorName: "a",
      authorEmail: "a@b",
      date: "",
      message,
      files,
    });

  it("hides by scope (case-insensitive), path (all files) and keyword", () => {
    expect(hide(commit("feat(cli): add --json"))).toEqual({ kind: "scope", value: "cli" });
    expect(hide(commit("feat: helm chart", ["deploy/chart.yaml"]))).toEqual({
      kind: "path",
      value: "deploy/**",
    });
    expect(hide(commit("feat: helm chart", ["deploy/chart.yaml", "src/a.ts"]))).toBeNull();
    expect(hide(commit("fix: Heartbeat interval"))).toEqual({ kind: "keyword", value: "heartbeat" });
    expect(hide(commit("fix: client heart beats"))).toBeNull();
  });
});

describe("parseHostedModeConfig", () => {
  it("accepts the shipped example", async () => {
    const text = await readFile(new URL("../hosted-mode.yaml", import.meta.url), "utf8");
    const config = parseHostedModeConfig(text, "scripts/hosted-mode.yaml");
    expect(config.exclude.keywords).toEqual(
      expect.arrayContaining(["CLI", "thinking effort", "self-hosting"]),
    );
    expect(config.guards[0]?.name).toBe("ui-components-hosted-mode");
  });

  it("fills defaults for an empty file", () => {
    expect(parseHostedModeConfig("", "h.yaml")).toEqual({
      infrastructure: [],
      exclude: { scopes: [], paths: [], keywords: [] },
      guards: [],
      unconventional: "internal",
      scopeNames: {},
    });
  });

  it("reports every problem with its line", () => {
    const text = [
      "exclude:", // 1
      "  scopes: [a]", // 2
      "  keywordz: [x]", // 3
      "guards:", // 4
      "  - name: Bad Name", // 5
      "    paths: []", // 6
      '    require: "("', // 7
      "infrastructure: 3", // 8
    ].join("\n");
    let error: unknown;
    try {
      parseHostedModeConfig(text, "h.yaml");
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(HostedModeConfigError);
    expect((error as HostedModeConfigError).problems).toEqual([
      "h.yaml:3: exclude.keywordz: unknown key",
      "h.yaml:5: guards[0].name: use lower-case letters, digits, '.', '_' or '-'",
      "h.yaml:6: guards[0].paths: needs at least one glob",
      "h.yaml:7: guards[0].require: is not a valid regular expression",
      "h.yaml:8: infrastructure: Invalid input: expected array, received number",
    ]);
  });

  it("reports a wrong unconventional place and scope names with their line; scopes in any case", () => {
    const text = [
      "unconventional: sometimes", // 1
      "scopeNames:", // 2
      "  jsx: JSX", // 3
      "  Reg-Exp-Router: Router", // 4
      "  core: 3", // 5
    ].join("\n");
    expect(() => parseHostedModeConfig(text, "h.yaml")).toThrow(HostedModeConfigError);
    try {
      parseHostedModeConfig(text, "h.yaml");
    } catch (e) {
      expect((e as HostedModeConfigError).problems).toEqual([
        'h.yaml:1: unconventional: use "improved" or "internal"',
        "h.yaml:5: scopeNames.core: Invalid input: expected string, received number",
      ]);
    }
    expect(parseHostedModeConfig("scopeNames: { JSX: JSX, core: '' }", "h.yaml").scopeNames).toEqual({
      jsx: "JSX",
      core: "",
    });
  });

  it("reports YAML syntax errors with their line, once, without the parser's own position and excerpt", () => {
    expect(() => parseHostedModeConfig("exclude:\n  scopes: [a\n", "h.yaml")).toThrow(
      /^invalid hosted-mode file:\nh\.yaml:3: /,
    );
    try {
      parseHostedModeConfig("exclude:\n  scopes: [a\n", "h.yaml");
    } catch (e) {
      expect((e as HostedModeConfigError).problems).toEqual([
        "h.yaml:3: Flow sequence in block collection must be sufficiently indented and end with a ]",
      ]);
    }
    expect.assertions(2);
  });
});

describe("exclusionMatcher: edge cases", () => {
  const commit = (message: string, files = ["src/x.ts"]) =>
    parseCommit({
      sha: "b".repeat(40),
      parents: [],
      authorName: "a",
      authorEmail: "a@b",
      date: "",
      message,
      files,
    });

  it("hides a multi-scope commit when any one of its scopes is hidden, with ',' or '/' and spaces", () => {
    const hide = exclusionMatcher({ scopes: ["cli"], paths: [], keywords: [] });
    expect(hide(commit("feat(ui,cli): add --json"))).toEqual({ kind: "scope", value: "cli" });
    expect(hide(commit("feat(ui, CLI): add --json"))).toEqual({ kind: "scope", value: "cli" });
    expect(hide(commit("feat(ui/cli): add --json"))).toEqual({ kind: "scope", value: "cli" });
    expect(hide(commit("feat(ui,clients): add --json"))).toBeNull();
  });

  it("names the glob that matched the files, and hides nothing for a commit without files", () => {
    const hide = exclusionMatcher({ scopes: [], paths: ["docs/**", "deploy/**"], keywords: [] });
    expect(hide(commit("feat: chart", ["deploy/chart.yaml", "docs/chart.md"]))).toEqual({
      kind: "path",
      value: "deploy/**",
    });
    expect(hide(commit("feat: empty merge", []))).toBeNull();
    expect(exclusionMatcher({ scopes: [], paths: [], keywords: [] })(commit("feat: x", []))).toBeNull();
  });

  it("finds a keyword in the scope as well as the subject, as a whole word on both sides", () => {
    const hide = exclusionMatcher({ scopes: [], paths: [], keywords: ["cli", "heartbeat"] });
    expect(hide(commit("fix(cli-output): wrap lines"))).toEqual({ kind: "keyword", value: "cli" });
    expect(hide(commit("fix: tune heartbeat"))).toEqual({ kind: "keyword", value: "heartbeat" });
    expect(hide(commit("fix: opencli wrapper"))).toBeNull();
    expect(hide(commit("fix(ui): opencli wrapper"))).toBeNull();
    expect(keywordMatcher("cli")("xcli")).toBe(false);
    expect(keywordMatcher("cli")("clix")).toBe(false);
    expect(keywordMatcher("  cli  ")("the cli")).toBe(true);
  });

  it("describes an exclusion by kind and value", () => {
    expect(describeExclusion({ kind: "keyword", value: "heartbeat" })).toBe('keyword "heartbeat"');
  });
});

describe("parseHostedModeConfig: where problems are reported", () => {
  const problemsOf = (text: string): string[] => {
    try {
      parseHostedModeConfig(text, "h.yaml");
    } catch (e) {
      expect(e).toBeInstanceOf(HostedModeConfigError);
      expect((e as Error).name).toBe("HostedModeConfigError");
      expect((e as Error).message).toBe(
        `invalid hosted-mode file:\n${(e as HostedModeConfigError).problems.join("\n")}`,
      );
      return (e as HostedModeConfigError).problems;
    }
    return [];
  };

  it("points into later list items and nested keys, at the item or key itself", () => {
    const text = [
      "infrastructure: [ok]", // 1
      "guards:", // 2
      "  - name: fine", // 3
      "    paths: [src/**]", // 4
      "    require: x", // 5
      "  - name: second", // 6
      "    paths:", // 7
      "      - src/**", // 8
      '      - "  "', // 9
      "    require: y", // 10
      "    colour: red", // 11
      "exclude:", // 12
      '  keywords: [a, ""]', // 13
      "extra: 1", // 14
    ].join("\n");
    expect(problemsOf(text)).toEqual([
      "h.yaml:9: guards[1].paths[1]: must not be empty",
      "h.yaml:11: guards[1].colour: unknown key",
      "h.yaml:13: exclude.keywords[1]: must not be empty",
      "h.yaml:14: extra: unknown key",
    ]);
  });

  it("reports an unknown key at the key even when its value starts on the next line", () => {
    expect(problemsOf("exclude:\n  keywordz:\n    - x\n")).toEqual([
      "h.yaml:2: exclude.keywordz: unknown key",
    ]);
  });

  it("reports a missing field at the item that lacks it", () => {
    expect(problemsOf("guards:\n  - name: g\n    paths: [a]\n")).toEqual([
      expect.stringMatching(/^h\.yaml:2: guards\[0\]\.require: /),
    ]);
  });

  it("names the root when the whole document has the wrong shape", () => {
    expect(problemsOf("\n- a\n- b\n")).toEqual([expect.stringMatching(/^h\.yaml:2: \(root\): /)]);
  });

  it("lists every YAML error on its own line, duplicate keys included", () => {
    const problems = problemsOf("exclude: {}\nguards: []\nexclude: {}\n");
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^h\.yaml:3: /);
    expect(problemsOf("a: [1\nb: {2\n").length).toBeGreaterThan(1);
  });
});

describe("keywordMatcher: odd keywords", () => {
  it("ignores separators around a keyword and treats regular-expression characters literally", () => {
    expect(keywordMatcher("-cli_")("the cli flags")).toBe(true);
    expect(keywordMatcher("c++")("c bindings")).toBe(false);
    expect(keywordMatcher("v1.2")("v1x2 release")).toBe(false);
    expect(keywordMatcher("v1.2")("v1.2 release")).toBe(true);
  });
});

describe("loadHostedModeConfig", () => {
  it("takes a missing file as empty unless it is required, and refuses a file it cannot read", async () => {
    const dir = await mkdtemp(join(tmpdir(), "fleetwave-hosted-"));
    try {
      const missing = join(dir, "hosted-mode.yaml");
      expect(await loadHostedModeConfig(missing, false)).toEqual(EMPTY_HOSTED_MODE);
      await expect(loadHostedModeConfig(missing, true)).rejects.toThrow(
        /^cannot read hosted-mode file .*hosted-mode\.yaml: ENOENT/,
      );
      await expect(loadHostedModeConfig(dir, false)).rejects.toThrow(
        /^cannot read hosted-mode file .*: EISDIR/,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
