import { describe, expect, it } from "vitest";
import { ApiTokensError, parseApiTokens, TokenVerifier } from "./tokens.ts";

describe("parseApiTokens", () => {
  it("parses name:token pairs, trimming spaces, skipping empty entries, allowing ':' in tokens", () => {
    expect(parseApiTokens(" alice:aaaaaaaaaaaaaaaa , ci-bot:b:b:b:bbbbbbbbbbbbb,")).toEqual([
      { name: "alice", token: "aaaaaaaaaaaaaaaa" },
      { name: "ci-bot", token: "b:b:b:bbbbbbbbbbbbb" },
    ]);
  });

  it("treats unset or blank as no tokens", () => {
    expect(parseApiTokens(undefined)).toEqual([]);
    expect(parseApiTokens("  ")).toEqual([]);
  });

  it("allows one name with two tokens (rotation) but not the same token twice", () => {
    expect(parseApiTokens("ops:old-token-1234567890,ops:new-token-1234567890")).toHaveLength(2);
    expect(() => parseApiTokens("a:same-token-1234567890,b:same-token-1234567890")).toThrow(/listed twice/);
  });

  it("names the malformed entries without ever printing a token", () => {
    let error: unknown;
    try {
      parseApiTokens(
        "alice:short-secret,no-colon-SECRETVALUE,bad name:cccccccccccccccccc,bob:has space inside!!",
      );
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ApiTokensError);
    const message = (error as Error).message;
    expect(message).toMatch(/^FLEETWAVE_API_TOKENS is malformed \(expected name:token,name:token\)/);
    expect(message).toMatch(/entry 1 \("alice"\): the token must be at least 16 characters/);
    expect(message).toMatch(/entry 2: expected name:token/);
    expect(message).toMatch(/entry 3: the name must be/);
    expect(message).toMatch(/entry 4 \("bob"\): the token must be printable ASCII without spaces/);
    expect(message).not.toMatch(/short-secret|SECRETVALUE|cccc|has space/);
  });

  it("rejects a name that could not be a single-line git actor", () => {
    expect(() => parseApiTokens("a\nFleetwave-Event:dddddddddddddddd")).toThrow(ApiTokensError);
  });
});

describe("TokenVerifier", () => {
  const verifier = new TokenVerifier(
    parseApiTokens("alice:alice-token-0123456789,bob:bob-token-0123456789,ops:alice-token-012345678X"),
  );

  it("returns the holder's name for a known token", () => {
    expect(verifier.verify("alice-token-0123456789")).toBe("alice");
    expect(verifier.verify("bob-token-0123456789")).toBe("bob");
    expect(verifier.verify("alice-token-012345678X")).toBe("ops");
  });

  it("returns undefined for unknown, prefix, extended and empty tokens", () => {
    for (const token of [
      "",
      "alice",
      "alice-token-012345678",
      "alice-token-01234567890",
      "ALICE-TOKEN-0123456789",
    ]) {
      expect(verifier.verify(token)).toBeUndefined();
    }
  });

  it("knows whether any token is configured", () => {
    expect(verifier.configured).toBe(true);
    expect(new TokenVerifier([]).configured).toBe(false);
  });
});
