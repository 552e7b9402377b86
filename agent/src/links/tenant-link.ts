/**
 * One-click "Update now" links for manual tenants (pure: no clock, no files). A link names one
 * offer — tenant, bot, rollout, digest — and an expiry, signed with HMAC-SHA256 under the key in
 * FLEETWAVE_LINK_KEY. The signature is the only credential a link carries, so every field is
 * covered by it and compared in constant time. Whether a valid link may still act (not used,
 * still offered) is decided elsewhere, against the agent's state.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { z } from "zod";
import { FleetwaveError } from "../errors.ts";
import { digest, dockerName, rolloutId, tenantId } from "../model/primitives.ts";

export const LINK_KEY_ENV = "FLEETWAVE_LINK_KEY";
export const LINK_TTL_ENV = "FLEETWAVE_LINK_TTL";
export const PUBLIC_URL_ENV = "FLEETWAVE_PUBLIC_URL";
export const MIN_LINK_KEY_LENGTH = 32;
export const DEFAULT_LINK_TTL_MS = 7 * 24 * 3_600_000;
/** The confirm page; the link's fields are its query. */
export const LINK_PATH = "/links/update";

/** FLEETWAVE_LINK_KEY is too short to sign links with. */
export class LinkKeyError extends FleetwaveError {
  override name = "LinkKeyError";
}

/** What the notifier needs to put a signed link in a tenant's email. */
export interface LinkSigning {
  key: string;
  /** The agent's URL as tenants reach it (`--public-url`). */
  publicUrl: string;
  /** How long a link works after its email is queued. */
  ttlMs: number;
}

export interface LinkClaims {
  tenant: string;
  bot: string;
  rollout: string;
  digest: string;
  /** Unix seconds after which the link is refused. */
  expires: number;
}

export const linkClaimsSchema = z.strictObject({
  tenant: tenantId,
  bot: dockerName("bot id"),
  rollout: rolloutId,
  digest,
  expires: z.coerce.number().int().positive(),
});

/** The link's signature as sent: 64 lowercase hex digits. */
const signatureSchema = z.string().regex(/^[0-9a-f]{64}$/);

/** Checks the key once at start so a weak key never signs a link. */
export function linkKey(value: string | undefined): string | undefined {
  if (value === undefined || value === "") return undefined;
  if (value.length < MIN_LINK_KEY_LENGTH) {
    throw new LinkKeyError(
      `${LINK_KEY_ENV} must be at least ${MIN_LINK_KEY_LENGTH} characters (e.g. \`openssl rand -hex 32\`)`,
    );
  }
  return value;
}

function mac(key: string, c: LinkClaims): Buffer {
  // One field per line: no field can contain a newline (their schemas forbid it), so no two
  // different claim sets share a signed text.
  const text = ["fleetwave-link-v1", c.tenant, c.bot, c.rollout, c.digest, String(c.expires)].join("\n");
  return createHmac("sha256", key).update(text, "utf8").digest();
}

export function signLink(key: string, claims: LinkClaims): string {
  return mac(key, claims).toString("hex");
}

/** The link's URL under `base` (the agent's public URL; a path in it is kept). */
export function linkUrl(base: string, key: string, claims: LinkClaims): string {
  const url = new URL(base);
  url.pathname = `${url.pathname.replace(/\/+$/, "")}${LINK_PATH}`;
  url.search = new URLSearchParams({
    tenant: claims.tenant,
    bot: claims.bot,
    rollout: claims.rollout,
    digest: claims.digest,
    expires: String(claims.expires),
    sig: signLink(key, claims),
  }).toString();
  url.hash = "";
  return url.href;
}

export type LinkCheck =
  | { ok: true; claims: LinkClaims; signature: string }
  | { ok: false; problem: "malformed" | "altered" | "expired"; claims?: LinkClaims };

/**
 * Verifies the fields of a link (from its query or the confirm form) at `nowMs`. A link whose
 * fields do not parse is "malformed"; one whose signature does not match them is "altered";
 * "expired" is only said of a link that is otherwise genuine.
 */
export function checkLink(
  key: string,
  fields: Readonly<Record<string, string | undefined>>,
  nowMs: number,
): LinkCheck {
  const parsed = linkClaimsSchema.safeParse({
    tenant: fields.tenant,
    bot: fields.bot,
    rollout: fields.rollout,
    digest: fields.digest,
    expires: fields.expires,
  });
  const sig = signatureSchema.safeParse(fields.sig);
  if (!parsed.success || !sig.success) return { ok: false, problem: "malformed" };
  const claims = parsed.data;
  if (!timingSafeEqual(mac(key, claims), Buffer.from(sig.data, "hex")))
    return { ok: false, problem: "altered" };
  if (nowMs >= claims.expires * 1000) return { ok: false, problem: "expired", claims };
  return { ok: true, claims, signature: sig.data };
}
