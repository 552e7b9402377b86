/**
 * API tokens: `FLEETWAVE_API_TOKENS=name:token,name:token`. The name is the actor recorded in the
 * commits an API call makes, so it is restricted to a safe, single-line identifier. Tokens are
 * compared in constant time over their SHA-256 digests, and never echoed in error messages.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { z } from "zod";
import { FleetwaveError } from "../errors.ts";

export const API_TOKENS_ENV = "FLEETWAVE_API_TOKENS";
export const MIN_TOKEN_LENGTH = 16;

export interface ApiToken {
  /** Who holds the token; becomes the `actor` of every action taken with it. */
  name: string;
  token: string;
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
 * Parses `name:token,name:token` (whitespace around entries is ignored, empty entries are skipped,
 * a token may contain ':'). Unset or empty → no tokens, which disables every mutating route.
 * Throws {@link ApiTokensError} naming the entry (by position and name, never its token).
 */
export function parseApiTokens(value: string | undefined, envName = API_TOKENS_ENV): ApiToken[] {
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
    const parsed = tokenEntrySchema.safeParse({ name: entry.slice(0, colon), token: entry.slice(colon + 1) });
    if (!parsed.success) {
      const label = /^[A-Za-z0-9._@-]{1,64}$/.test(entry.slice(0, colon))
        ? `${position} ("${entry.slice(0, colon)}")`
        : position;
      for (const issue of parsed.error.issues) problems.push(`${label}: ${issue.message}`);
      return;
    }
    if (seen.has(parsed.data.token)) {
      problems.push(`${position} ("${parsed.data.name}"): the same token is listed twice`);
      return;
    }
    seen.add(parsed.data.token);
    tokens.push(parsed.data);
  });
  if (problems.length > 0) {
    throw new ApiTokensError(
      `${envName} is malformed (expected name:token,name:token):\n  ${problems.join("\n  ")}`,
    );
  }
  return tokens;
}

function sha256(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}

/** Finds who holds a presented token, in time independent of where (or whether) it matches. */
export class TokenVerifier {
  private readonly entries: { name: string; digest: Buffer }[];

  constructor(tokens: readonly ApiToken[]) {
    this.entries = tokens.map((t) => ({ name: t.name, digest: sha256(t.token) }));
  }

  get configured(): boolean {
    return this.entries.length > 0;
  }

  /** The token's name, or undefined when no configured token matches. */
  verify(presented: string): string | undefined {
    const digest = sha256(presented);
    let match: string | undefined;
    for (const entry of this.entries) {
      // Every entry is compared, so the time does not tell which one matched.
      if (timingSafeEqual(digest, entry.digest) && match === undefined) match = entry.name;
    }
    return match;
  }
}
