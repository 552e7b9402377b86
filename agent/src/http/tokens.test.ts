import { describe, expect, it } from "vitest";
import { ApiTokensError, formatRole, parseApiTokens, parseRole, TokenVerifier } from "./tokens.ts";

describe("parseApiTokens", () => {
  it("parses name:token pairs, trimming spaces, skipping empty entries, allowing ':' in tokens", () => {
    expect(parseApiTokens(" alice:aaaaaaaaaaaaaaaa , ci-bot:b:b:b:bbbbbbbbbbbbb,")).toEqual([
      { name: "alice", token: "aaaaaaaaaaaaaaaa", role: { kind: "operator" } },
      { name: "ci-bot", token: "b:b:b:bbbbbbbbbbbbb", role: { kind: "operator" } },
    ]);
  });

  it("reads the role after a '/' in the name: operator, read or tenant=<id>", () => {
    expect(
      parseApiTokens(
        "ops/operator:aaaaaaaaaaaaaaaa,prom/read:bbbbbbbbbbbbbbbb,portal/tenant=acme:c/d:cccccccccccc",
      ).map((t) => [t.name, t.role, t.token]),
    ).toEqual([
      ["ops", { kind: "operator" }, "aaaaaaaaaaaaaaaa"],
      ["prom", { kind: "read" }, "bbbbbbbbbbbbbbbb"],
      ["portal", { kind: "tenant", tenant: "acme" }, "c/d:cccccccccccc"],
    ]);
  });

  it("refuses an unknown role or a tenant id that cannot be one, without printing the token", () => {
    for (const role of ["admin", "tenant=", "tenant=Acme", "tenant=a b", "read=x", "operator/read"]) {
      expect(() => parseApiTokens(`x/${role}:SECRET-secret-0123456789`)).toThrow(
        /entry 1 \("x"\): the role must be operator, read or tenant=<tenant id>/,
      );
      expect(() => parseApiTokens(`x/${role}:SECRET-secret-0123456789`)).not.toThrow(/SECRET/);
    }
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
    expect(message).toMatch(/^FLEETWAVE_API_TOKENS is malformed \(expected name:token,name\/role:token\)/);
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

  it("returns the holder's name and role for a known token", () => {
    expect(verifier.verify("alice-token-0123456789")).toEqual({ name: "alice", role: { kind: "operator" } });
    expect(verifier.verify("bob-token-0123456789")?.name).toBe("bob");
    expect(verifier.verify("alice-token-012345678X")?.name).toBe("ops");
    const scoped = new TokenVerifier(parseApiTokens("portal/tenant=acme:portal-token-0123456789"));
    expect(scoped.verify("portal-token-0123456789")).toEqual({
      name: "portal",
      role: { kind: "tenant", tenant: "acme" },
    });
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

describe("token entry edge cases", () => {
  it("puts each problem on its own indented line under the variable's name, and names the error", () => {
    let error: unknown;
    try {
      parseApiTokens("no-colon,also-none", "PORTAL_TOKENS");
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ApiTokensError);
    expect((error as Error).name).toBe("ApiTokensError");
    expect((error as Error).message).toBe(
      "PORTAL_TOKENS is malformed (expected name:token,name/role:token):\n" +
        "  entry 1: expected name:token\n" +
        "  entry 2: expected name:token",
    );
  });

  it("reports an unknown role even when the name before '/' is missing", () => {
    expect(() => parseApiTokens("/bogus:some-token-0123456789")).toThrow(
      /entry 1: the role must be operator, read or tenant=<tenant id>/,
    );
  });

  it("reports an entry that starts with ':' as a missing name, not a missing colon", () => {
    expect(() => parseApiTokens(":nameless-token-0123456789")).toThrow(/entry 1: the name must be/);
  });

  it("gives a token held by two entries to the first one", () => {
    const verifier = new TokenVerifier([
      { name: "first", token: "shared-token-0123456789" },
      { name: "second", token: "shared-token-0123456789", role: { kind: "read" } },
    ]);
    expect(verifier.verify("shared-token-0123456789")).toEqual({ name: "first", role: { kind: "operator" } });
  });

  it("parses and formats each role the same way", () => {
    for (const text of ["operator", "read", "tenant=acme"]) {
      const role = parseRole(text);
      expect(role, text).toBeDefined();
      expect(formatRole(role!)).toBe(text);
    }
    expect(parseRole("tenant=acme")).toEqual({ kind: "tenant", tenant: "acme" });
    expect(parseRole("xtenant=acme")).toBeUndefined();
    expect(parseRole("tenant=acme\nread")).toBeUndefined();
  });
});
