import { describe, expect, it } from "vitest";
import { githubPage } from "./git-commits.ts";
import { linkPullRequests } from "./render.ts";
import { areaName, duplicateKey, lowerFirstWord, toSentence, withArea } from "./wording.ts";

describe("areas", () => {
  const names = { "reg-exp-router": "Router", jsx: "JSX", core: "" };

  it("names a scope from scopeNames, title-cases unknown ones, knows common acronyms", () => {
    expect(areaName("reg-exp-router", names)).toBe("Router");
    expect(areaName("REG-EXP-ROUTER", names)).toBe("Router");
    expect(areaName("cache", names)).toBe("Cache");
    expect(areaName("secure-headers", names)).toBe("Secure Headers");
    expect(areaName("aws-lambda", names)).toBe("AWS Lambda");
    expect(areaName("jsx/dom", names)).toBe("JSX DOM");
    expect(areaName("jwt,jwk", names)).toBe("JWT, Jwk");
    expect(areaName("core", names)).toBeNull();
    expect(areaName("*", names)).toBeNull();
    expect(areaName(null, names)).toBeNull();
  });

  it("puts the area first and keeps the sentence as written", () => {
    expect(withArea("Cache", toSentence("add a skip option", false))).toBe("Cache: add a skip option");
    expect(withArea("Cache", "Add a skip option")).toBe("Cache: add a skip option");
    expect(withArea("Client", toSentence("replaceUrlParam should not match", false))).toBe(
      "Client: replaceUrlParam should not match",
    );
    expect(withArea("Keys", "API keys are masked")).toBe("Keys: API keys are masked");
    expect(withArea(null, "Add a skip option")).toBe("Add a skip option");
  });

  it("keeps code at the end of a sentence", () => {
    expect(toSentence("do not compress a single 0 group to `::` (#4971)")).toBe(
      "Do not compress a single 0 group to ::",
    );
  });

  it("spots near-duplicates: same area, same words", () => {
    expect(duplicateKey("Cache: add a skip option")).toBe(duplicateKey("cache: Add a skip-option."));
    expect(duplicateKey("Cache: add a skip option")).not.toBe(duplicateKey("Router: add a skip option"));
  });
});

describe("pull request links", () => {
  it("recognises GitHub remotes only", () => {
    expect(githubPage("https://github.com/honojs/hono.git")).toBe("https://github.com/honojs/hono");
    expect(githubPage("git@github.com:honojs/hono.git\n")).toBe("https://github.com/honojs/hono");
    expect(githubPage("ssh://git@github.com/vitejs/vite")).toBe("https://github.com/vitejs/vite");
    expect(githubPage("https://gitlab.com/a/b.git")).toBeNull();
    expect(githubPage("/srv/git/upstream.git")).toBeNull();
  });

  it("links (#1234) references and leaves the rest alone", () => {
    const gh = "https://github.com/honojs/hono";
    expect(linkPullRequests("add skip option (#4862)", gh)).toBe(
      "add skip option ([#4862](https://github.com/honojs/hono/pull/4862))",
    );
    expect(linkPullRequests("fix (#1, #2)", gh)).toBe(`fix ([#1](${gh}/pull/1), [#2](${gh}/pull/2))`);
    expect(linkPullRequests("color a#123 and C#7", gh)).toBe("color a#123 and C#7");
    expect(linkPullRequests("add skip option (#4862)", null)).toBe("add skip option (#4862)");
  });
});

describe("sentences from commit subjects", () => {
  it("drops gitmoji, CI markers, trailing issue references and punctuation, and code ticks", () => {
    expect(toSentence("  add   a\n skip option  ")).toBe("Add a skip option");
    expect(toSentence(":sparkles: :bug:add x")).toBe("Add x");
    expect(toSentence("fix it [skip ci] [CI SKIP] [no ci] now")).toBe("Fix it now");
    expect(toSentence("fix x (#12) (#34)")).toBe("Fix x");
    expect(toSentence("fix x (closes #12, #13)")).toBe("Fix x");
    expect(toSentence("fix x (Fixes #9) #10")).toBe("Fix x");
    expect(toSentence("fix x (see #1)")).toBe("Fix x");
    expect(toSentence("fix x.;, ")).toBe("Fix x");
    expect(toSentence("use `foo` and `bar`")).toBe("Use foo and bar");
  });

  it("leaves an empty subject empty and capitalises only when asked, by code point", () => {
    expect(toSentence("")).toBe("");
    expect(toSentence("...")).toBe("");
    expect(toSentence("éclair")).toBe("Éclair");
    expect(toSentence("\u{10428} deseret")).toBe("\u{10400} deseret");
    expect(toSentence("fix x (#1)", false)).toBe("fix x");
  });
});

describe("area names and items", () => {
  it("names each of several scopes once, dropping empty parts and scopes named empty", () => {
    expect(areaName("a, b ,, a", {})).toBe("A, B");
    expect(areaName("ui,UI", {})).toBe("UI");
    expect(areaName("x,core", { core: "" })).toBe("X");
    expect(areaName("core,x", { "core,x": "Both" })).toBe("Both");
    expect(areaName("  Core ", { core: "C" })).toBe("C");
    expect(areaName("my_area/sub-part", {})).toBe("My Area Sub Part");
    expect(areaName("*,", {})).toBeNull();
    expect(areaName("", {})).toBeNull();
  });

  it("lowers a capitalised first word, but not an acronym, a lone capital or a mixed-case word", () => {
    expect(lowerFirstWord("Add x")).toBe("add x");
    expect(lowerFirstWord("Éclair now")).toBe("éclair now");
    expect(lowerFirstWord("Add, then")).toBe("add, then");
    expect(lowerFirstWord("Add:x")).toBe("add:x");
    expect(lowerFirstWord("API keys")).toBe("API keys");
    expect(lowerFirstWord("A thing")).toBe("A thing");
    expect(lowerFirstWord("AddX")).toBe("AddX");
    expect(lowerFirstWord("Addx-y")).toBe("Addx-y");
  });

  it("shows an empty sentence without its area", () => {
    expect(withArea("Cache", "")).toBe("");
  });

  it("keys an item by its distinct words in any order, letters of any script", () => {
    expect(duplicateKey("b a b, A!")).toBe("a b");
    expect(duplicateKey("Ünïcode 42 x")).toBe("42 x ünïcode");
  });
});

describe("wording: spaces and separators", () => {
  it("drops gitmoji only at the start, after leading spaces, and spaces left by code ticks", () => {
    expect(toSentence("  :bug: fix x")).toBe("Fix x");
    expect(toSentence("fix :bug: thing")).toBe("Fix :bug: thing");
    expect(toSentence("` x` done")).toBe("X done");
  });

  it("names areas around stray separators and spaces", () => {
    expect(areaName("-cache", {})).toBe("Cache");
    expect(areaName(" a,b ", { "a,b": "Both" })).toBe("Both");
    expect(areaName("a, b", { b: "Bee" })).toBe("A, Bee");
  });

  it("lowers a one-word sentence after an area", () => {
    expect(withArea("Cache", "Fix")).toBe("Cache: fix");
  });
});
