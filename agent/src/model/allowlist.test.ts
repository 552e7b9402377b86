import { describe, expect, it } from "vitest";
import { allowlistEntry, imageAllowed, repositoryOf } from "./allowlist.ts";

const DIGEST = `sha256:${"a".repeat(64)}`;

describe("imageAllowed", () => {
  const cases: [string, string, boolean][] = [
    // a namespace ending in "/": repositories under it only
    ["ghcr.io/acme/", "ghcr.io/acme/app:1", true],
    ["ghcr.io/acme/", "ghcr.io/acme/team/app:1", true],
    ["ghcr.io/acme/", "ghcr.io/acme:1", false],
    ["ghcr.io/acme/", "ghcr.io/acme-evil/app:1", false],
    ["ghcr.io/acme/", "evil.io/ghcr.io/acme/app:1", false],
    ["ghcr.io/acme/", "ghcr.io/acmeapp:1", false],
    // a path without "/": itself and what is under it, on component boundaries
    ["ghcr.io/acme", "ghcr.io/acme:1", true],
    ["ghcr.io/acme", "ghcr.io/acme/app:1", true],
    ["ghcr.io/acme", "ghcr.io/acme-evil/app:1", false],
    ["ghcr.io/acme", "ghcr.io/acmeapp:1", false],
    ["ghcr.io/acme", "evil.io/ghcr.io/acme/app:1", false],
    ["ghcr.io/acme/", "ghcr.io/acme/:1", false],
    ["ghcr.io/acme/app", "ghcr.io/acme/app:1", true],
    ["ghcr.io/acme/app", "ghcr.io/acme/app-evil:1", false],
    ["ghcr.io/acme/app", "ghcr.io/acme/app2:1", false],
    // a registry, with and without a port
    ["ghcr.io", "ghcr.io/anyone/app:1", true],
    ["ghcr.io", "ghcr.io.evil.example/app:1", false],
    ["127.0.0.1:5055/", "127.0.0.1:5055/demo/app:1", true],
    ["127.0.0.1:5055", "127.0.0.1:50551/demo/app:1", false],
    // tags and digests never matter
    ["ghcr.io/acme/app", `ghcr.io/acme/app@${DIGEST}`, true],
    ["ghcr.io/acme/app", `ghcr.io/acme/app:1@${DIGEST}`, true],
    ["ghcr.io/acme/app", `ghcr.io/acme/app-evil@${DIGEST}`, false],
  ];

  it.each(cases)("%s admits %s: %s", (entry, image, expected) => {
    expect(imageAllowed([entry], image)).toBe(expected);
  });

  it("admits an image any entry admits, and none with an empty list", () => {
    expect(imageAllowed(["docker.io/other/", "ghcr.io/acme/"], "ghcr.io/acme/app:1")).toBe(true);
    expect(imageAllowed(["docker.io/other/", "ghcr.io/acme/"], "ghcr.io/evil/app:1")).toBe(false);
    expect(imageAllowed([], "ghcr.io/acme/app:1")).toBe(false);
  });
});

describe("repositoryOf", () => {
  it("drops the tag and the digest, not a registry port", () => {
    expect(repositoryOf("127.0.0.1:5055/demo/app:1")).toBe("127.0.0.1:5055/demo/app");
    expect(repositoryOf(`127.0.0.1:5055/demo/app@${DIGEST}`)).toBe("127.0.0.1:5055/demo/app");
    expect(repositoryOf(`ghcr.io/acme/app:1@${DIGEST}`)).toBe("ghcr.io/acme/app");
    expect(repositoryOf("ghcr.io/acme/app")).toBe("ghcr.io/acme/app");
  });

  it("keeps a bare name without tag, registry or path whole", () => {
    expect(repositoryOf("busybox")).toBe("busybox");
    expect(repositoryOf("busybox:1.36")).toBe("busybox");
  });
});

describe("allowlistEntry", () => {
  it("takes registries and repository paths, with or without a trailing slash", () => {
    for (const entry of [
      "ghcr.io",
      "ghcr.io/",
      "ghcr.io/acme",
      "ghcr.io/acme/",
      "127.0.0.1:5055/",
      "localhost:5000/a/b",
    ])
      expect(allowlistEntry.safeParse(entry).success, entry).toBe(true);
  });

  it("refuses tags, digests, upper case, doubled slashes and empty entries", () => {
    for (const entry of [
      "ghcr.io/acme/app:1",
      `ghcr.io/acme/app@${DIGEST}`,
      "GHCR.io/acme",
      "ghcr.io//acme",
      "",
      "/acme",
    ])
      expect(allowlistEntry.safeParse(entry).success, entry).toBe(false);
  });
});
