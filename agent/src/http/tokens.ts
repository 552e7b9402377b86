/**
 * API tokens: `FLEETWAVE_API_TOKENS=name:token,name/role:token`. The name is the actor recorded in
 * the commits an API call makes, so it is restricted to a safe, single-line identifier. The role
 * (README "Security model") is `operator` (the default), `read` or `tenant=<tenant id>`. Tokens
 * are compared in constant time over their SHA-256 digests, and never echoed in error messages.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { z } from "zod";
import { FleetwaveError } from "../errors.ts";
import { tenantId } from "../model/primitives.ts";

export const API_TOKENS_ENV = "FLEETWAVE_API_TOKENS";
export const MIN_TOKEN_LENGTH = 16;

/** What a token may do: everything, read everything, or read and update one tenant's bots. */
export type TokenRole = { kind: "operator" } | { kind: "read" } | { kind: "tenant"; tenant: string };

export interface ApiToken {
  /** Who holds the token; becomes the `actor` of every action taken with it. */
  name: string;
  token: string;
  /** Default operator (a `name:token` entry without a role). */
  role?: TokenRole;
}

/** Who presented a valid token. */
export interface Principal {
  name: string;
  role: TokenRole;
}

const OPERATOR: TokenRole = { kind: "operator" };

/** `operator`, `read` or `tenant=<tenant id>`; undefined when it is none of them. */
export function parseRole(text: string): TokenRole | undefined {
  if (text === "operator") return OPERATOR;
  if (text === "read") return { kind: "read" };
  const tenant = /^tenant=(.*)$/.exec(text)?.[1];
  // Stryker disable next-line ConditionalExpression: tenantId rejects undefined as well; the check narrows the type.
  if (tenant !== undefined && tenantId.safeParse(tenant).success) return { kind: "tenant", tenant };
  return undefined;
}

export function formatRole(role: TokenRole): string {
  return role.kind === "tenant" ? `tenant=${role.tenant}` : role.kind;
}

const tokenEntrySchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/, {
    message:
      "the name must be 1-64 letters, digits, '.', '_', '@' or '-' (it is recorded as the actor in git)",
  }),
  token: z
    .string()
    .min(MIN_TOKEN_LENGTH, { message: `the token must be at least ${MIN_TOKEN_LENGTH} characters` })
    .regex(/^[\x21-\x7e]+$/, { message: "the token must be printable ASCII without spaces" }),
});

/** Raised for a malformed FLEETWAVE_API_TOKENS; the message never contains a token. */
export class ApiTokensError extends FleetwaveError {
  override name = "ApiTokensError";
}

/**
 * Parses `name:token,name/role:token` (whitespace around entries is ignored, empty entries are
 * skipped, a token may contain ':'). Unset or empty → no tokens, which disables every mutating route.
 * Throws {@link ApiTokensError} naming the entry (by position and name, never its token).
 */
export function parseApiTokens(value: string | undefined, envName = API_TOKENS_ENV): ApiToken[] {
  // Stryker disable next-line ConditionalExpression,MethodExpression,StringLiteral: a blank value would also give no tokens below (every entry trims to empty and is skipped); this only says it first.
  if (value === undefined || value.trim() === "") return [];
  const tokens: ApiToken[] = [];
  const problems: string[] = [];
  const seen = new Set<string>();
  value.split(",").forEach((raw, index) => {
    const entry = raw.trim();
    if (entry === "") return;
    const position = `entry ${index + 1}`;
    const colon = entry.indexOf(":");
    if (colon < 0) {
      problems.push(`${position}: expected name:token`);
      return;
    }
    const head = entry.slice(0, colon);
    const slash = head.indexOf("/");
    // Stryker disable next-line EqualityOperator: with '/' first the name is "" or "/…", both refused by the same name rule.
    const name = slash < 0 ? head : head.slice(0, slash);
    const label = /^[A-Za-z0-9._@-]{1,64}$/.test(name) ? `${position} ("${name}")` : position;
    const role = slash < 0 ? OPERATOR : parseRole(head.slice(slash + 1));
    if (role === undefined) {
      problems.push(`${label}: the role must be operator, read or tenant=<tenant id>`);
      return;
    }
    const parsed = tokenEntrySchema.safeParse({ name, token: entry.slice(colon + 1) });
    if (!parsed.success) {
      for (const issue of parsed.error.issues) problems.push(`${label}: ${issue.message}`);
      return;
    }
    if (seen.has(parsed.data.token)) {
      problems.push(`${position} ("${parsed.data.name}"): the same token is listed twice`);
      return;
    }
    seen.add(parsed.data.token);
    tokens.push({ ...parsed.data, role });
  });
  if (problems.length > 0) {
    throw new ApiTokensError(
      `${envName} is malformed (expected name:token,name/role:token):\n  ${problems.join("\n  ")}`,
    );
  }
  return tokens;
}

function sha256(text: string): Buffer {
  // Stryker disable next-line StringLiteral: utf8 is also Node's default encoding for a string; it is named so the bytes hashed are explicit.
  return createHash("sha256").update(text, "utf8").digest();
}

/** Finds who holds a presented token, in time independent of where (or whether) it matches. */
export class TokenVerifier {
  private readonly entries: { principal: Principal; digest: Buffer }[];

  constructor(tokens: readonly ApiToken[]) {
    this.entries = tokens.map((t) => ({
      principal: { name: t.name, role: t.role ?? OPERATOR },
      digest: sha256(t.token),
    }));
  }

  get configured(): boolean {
    return this.entries.length > 0;
  }

  /** The token's holder and role, or undefined when no configured token matches. */
  verify(presented: string): Principal | undefined {
    const digest = sha256(presented);
    let match: Principal | undefined;
    for (const entry of this.entries) {
      // Every entry is compared, so the time does not tell which one matched.
      if (timingSafeEqual(digest, entry.digest) && match === undefined) match = entry.principal;
    }
    return match;
  }
}
