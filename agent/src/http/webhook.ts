/**
 * GitHub webhooks: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>` with the shared
 * secret, checked in constant time before anything in the body is looked at.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { z } from "zod";

export const WEBHOOK_SECRET_ENV = "FLEETWAVE_WEBHOOK_SECRET";

const SIGNATURE = /^sha256=([0-9a-fA-F]{64})$/;

/** Whether `header` has the shape of a signature; checked before the body is read at all. */
export function looksSigned(header: string | undefined): boolean {
  return header !== undefined && SIGNATURE.test(header.trim());
}

/** Whether `header` is the HMAC-SHA256 of exactly `body` under `secret`. */
export function verifyGitHubSignature(secret: string, body: Uint8Array, header: string | undefined): boolean {
  if (header === undefined) return false;
  const match = SIGNATURE.exec(header.trim());
  if (!match) return false;
  const presented = Buffer.from(match[1]!, "hex");
  const expected = createHmac("sha256", secret).update(body).digest();
  return timingSafeEqual(presented, expected);
}

/** `sha256=<hex>` for a body: what GitHub sends; used by tests and local tooling. */
export function signGitHubPayload(secret: string, body: string | Uint8Array): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}

/** The only fields of a push event the agent uses. Other fields are allowed and ignored. */
export const pushEventSchema = z.object({
  ref: z.string().min(1),
  after: z.string().regex(/^[0-9a-f]{40}([0-9a-f]{24})?$/, { message: "must be a commit sha" }),
  deleted: z.boolean().optional(),
});
export type PushEvent = z.output<typeof pushEventSchema>;

/**
 * The JSON payload of a delivery. GitHub sends either `application/json` or
 * `application/x-www-form-urlencoded` with the JSON in the `payload` field.
 */
export function webhookPayloadText(body: Uint8Array, contentType: string | undefined): string | undefined {
  const text = Buffer.from(body).toString("utf8");
  if (contentType?.toLowerCase().startsWith("application/x-www-form-urlencoded")) {
    return new URLSearchParams(text).get("payload") ?? undefined;
  }
  return text;
}

/** How many delivery ids the agent remembers; GitHub redelivers within hours, not thousands of pushes. */
export const REMEMBERED_DELIVERIES = 1000;

/**
 * The most recent `X-GitHub-Delivery` ids, oldest forgotten first, so a replayed (or manually
 * redelivered) delivery does not trigger a second reconcile. Memory stays bounded by `capacity`.
 */
export class RecentDeliveries {
  readonly #seen = new Set<string>();

  constructor(readonly capacity = REMEMBERED_DELIVERIES) {}

  /** Records `id`; false when it was already among the remembered ones. */
  remember(id: string): boolean {
    if (this.#seen.has(id)) return false;
    this.#seen.add(id);
    if (this.#seen.size > this.capacity) {
      const oldest = this.#seen.values().next().value;
      // Stryker disable next-line ConditionalExpression: the set holds more than `capacity` (>= 0) ids here, so it is never empty; the check only narrows the type.
      if (oldest !== undefined) this.#seen.delete(oldest);
    }
    return true;
  }

  get size(): number {
    return this.#seen.size;
  }
}
