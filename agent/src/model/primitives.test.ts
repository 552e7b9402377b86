import { describe, expect, it } from "vitest";
import { splitImageRef } from "./primitives.ts";

describe("splitImageRef", () => {
  it("splits at the tag's colon, not at a registry port's", () => {
    expect(splitImageRef("ghcr.io/acme/app:managed")).toEqual({
      repository: "ghcr.io/acme/app",
      tag: "managed",
    });
    expect(splitImageRef("127.0.0.1:5000/bots/echo:v1.2")).toEqual({
      repository: "127.0.0.1:5000/bots/echo",
      tag: "v1.2",
    });
  });

  it("refuses a reference without a tag, naming it", () => {
    expect(() => splitImageRef("ghcr.io/acme/app")).toThrow("not an image reference: ghcr.io/acme/app");
    expect(() => splitImageRef("localhost:5000/app")).toThrow("not an image reference: localhost:5000/app");
  });
});
