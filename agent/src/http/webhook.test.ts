import { describe, expect, it } from "vitest";
import {
  looksSigned,
  RecentDeliveries,
  signGitHubPayload,
  verifyGitHubSignature,
  webhookPayloadText,
} from "./webhook.ts";

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

describe("signature headers with surrounding whitespace or a malformed value", () => {
  it("accepts a valid signature padded with whitespace, as proxies sometimes add it", () => {
    const body = new TextEncoder().encode("{}");
    const padded = ` ${signGitHubPayload("s", body)}\t`;
    expect(looksSigned(padded)).toBe(true);
    expect(verifyGitHubSignature("s", body, padded)).toBe(true);
  });

  it("rejects a malformed signature header without throwing", () => {
    const body = new TextEncoder().encode("{}");
    for (const header of ["", "sha256=abc", `sha1=${"a".repeat(40)}`, `sha256=${"z".repeat(64)}`]) {
      expect(verifyGitHubSignature("s", body, header), header).toBe(false);
    }
  });
});

describe("webhookPayloadText", () => {
  const json = '{"ref":"refs/heads/main"}';

  it("returns a JSON body as it is", () => {
    expect(webhookPayloadText(new TextEncoder().encode(json), "application/json")).toBe(json);
    expect(webhookPayloadText(new TextEncoder().encode(json), undefined)).toBe(json);
  });

  it("takes the payload field of a form-encoded delivery, whatever the case of its content type", () => {
    const form = new TextEncoder().encode(`payload=${encodeURIComponent(json)}&other=1`);
    expect(webhookPayloadText(form, "application/x-www-form-urlencoded")).toBe(json);
    expect(webhookPayloadText(form, "Application/X-WWW-Form-Urlencoded; charset=utf-8")).toBe(json);
  });

  it("does not treat a content type that merely mentions form encoding as a form", () => {
    const text = "payload=x";
    expect(
      webhookPayloadText(new TextEncoder().encode(text), "text/plain; application/x-www-form-urlencoded"),
    ).toBe(text);
  });

  it("returns undefined for a form-encoded delivery without a payload field", () => {
    expect(
      webhookPayloadText(new TextEncoder().encode("other=1"), "application/x-www-form-urlencoded"),
    ).toBeUndefined();
  });
});
