import { describe, expect, it } from "vitest";
import { looksSigned, RecentDeliveries, signGitHubPayload, verifyGitHubSignature } from "./webhook.ts";

describe("RecentDeliveries", () => {
  it("remembers each id once and forgets the oldest beyond its capacity", () => {
    const recent = new RecentDeliveries(3);
    expect(["a", "b", "c"].map((id) => recent.remember(id))).toEqual([true, true, true]);
    expect(recent.remember("b")).toBe(false);
    expect(recent.remember("d")).toBe(true);
    expect(recent.size).toBe(3);
    // "a" was the oldest: forgotten, so it counts as new again; "c" and "d" are still known.
    expect(recent.remember("a")).toBe(true);
    expect(recent.remember("c")).toBe(false);
    expect(recent.remember("d")).toBe(false);
  });

  it("stays bounded under a flood of distinct ids", () => {
    const recent = new RecentDeliveries();
    for (let i = 0; i < 10_000; i++) recent.remember(`delivery-${i}`);
    expect(recent.size).toBe(recent.capacity);
    expect(recent.remember("delivery-9999")).toBe(false);
    expect(recent.remember("delivery-0")).toBe(true);
  });
});

describe("signatures", () => {
  it("tells a well-formed signature header from anything else before the body is read", () => {
    expect(looksSigned(signGitHubPayload("s", "{}"))).toBe(true);
    for (const header of [undefined, "", "sha256=", "sha1=abc", `sha256=${"z".repeat(64)}`]) {
      expect(looksSigned(header), String(header)).toBe(false);
    }
  });

  it("verifies the HMAC of exactly the raw bytes", () => {
    const body = new TextEncoder().encode('{"ref":"refs/heads/main"}');
    expect(verifyGitHubSignature("s", body, signGitHubPayload("s", body))).toBe(true);
    expect(verifyGitHubSignature("s", body, signGitHubPayload("t", body))).toBe(false);
    expect(verifyGitHubSignature("s", body, undefined)).toBe(false);
  });
});
