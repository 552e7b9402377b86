import { describe, expect, it } from "vitest";
import { remoteUrl } from "./remote-url.ts";

describe("remoteUrl", () => {
  it("serves a local path as file:// so the clone is partial and one consistent pack", () => {
    expect(remoteUrl("/srv/git/fleet.git")).toBe("file:///srv/git/fleet.git");
    expect(remoteUrl("fleet.git", "/home/ops")).toBe("file:///home/ops/fleet.git");
    expect(remoteUrl("../git/fleet.git", "/home/ops")).toBe("file:///home/git/fleet.git");
  });

  it("leaves URLs and scp-like ssh addresses alone", () => {
    for (const url of [
      "https://git.example.com/org/fleet.git",
      "ssh://git@git.example.com:2222/org/fleet.git",
      "file:///srv/git/fleet.git",
      "git@github.com:org/fleet.git",
      "host:fleet.git",
    ])
      expect(remoteUrl(url)).toBe(url);
  });
});
