/**
 * What the outbox stores: one record per event with one delivery per channel, its schema for
 * reading the files back, the backoff policy, and the names and log texts derived from them.
 */
import { createHash } from "node:crypto";
import { z } from "zod";
import { FleetwaveError } from "../errors.ts";
import type { NotifyEvent, NotifyEventType } from "./events.ts";
import type { Audience } from "./render.ts";

export interface EmailMessage {
  from: string;
  to: string[];
  subject: string;
  text: string;
  html: string;
}

/** Where one delivery goes. Rendered when the event is queued, so a retry sends the same thing. */
export type Channel =
  | { kind: "email"; audience: Audience; event: NotifyEventType; message: EmailMessage }
  | { kind: "webhook"; url: string; event: NotifyEventType; body: string };

export type DeliveryStatus = "pending" | "delivered" | "failed";

export interface Delivery {
  /** Stable across retries and restarts: the webhook delivery id and the email Message-ID. */
  id: string;
  channel: Channel;
  status: DeliveryStatus;
  attempts: number;
  /** ISO time of the next attempt (pending only). */
  nextAttemptAt: string;
  lastError?: string;
  deliveredAt?: string;
}

export interface OutboxRecord {
  version: 1;
  key: string;
  type: NotifyEventType;
  createdAt: string;
  event: NotifyEvent;
  deliveries: Delivery[];
}

/** Sends one delivery; throws to have it retried. `signal` aborts when the outbox stops. */
export type Deliver = (delivery: Readonly<Delivery>, signal: AbortSignal) => Promise<void>;

/** Thrown by a `Deliver` for a delivery that can never succeed: it is not retried. */
export class PermanentDeliveryError extends FleetwaveError {
  override name = "PermanentDeliveryError";
}

export interface BackoffPolicy {
  /** Wait after the first failed attempt. */
  initialMs: number;
  factor: number;
  /** Longest wait between two attempts. */
  maxMs: number;
  /** Attempts in all, the first included; then the delivery is marked failed. */
  maxAttempts: number;
}

/** 1 s, 2 s, 4 s … 256 s: ten attempts over about 8.5 minutes. */
export const defaultBackoff: BackoffPolicy = { initialMs: 1000, factor: 2, maxMs: 300_000, maxAttempts: 10 };

/** How long to wait after `failedAttempts` (>= 1) failed attempts. */
export function backoffDelay(failedAttempts: number, policy: BackoffPolicy): number {
  const exponent = Math.max(0, failedAttempts - 1);
  return Math.min(policy.maxMs, Math.round(policy.initialMs * policy.factor ** exponent));
}

const channelSchema = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("email"),
    audience: z.enum(["tenant", "admins"]),
    event: z.custom<NotifyEventType>((v) => typeof v === "string"),
    message: z.object({
      from: z.string(),
      to: z.array(z.string()),
      subject: z.string(),
      text: z.string(),
      html: z.string(),
    }),
  }),
  z.object({
    kind: z.literal("webhook"),
    url: z.string(),
    event: z.custom<NotifyEventType>((v) => typeof v === "string"),
    body: z.string(),
  }),
]);

export const recordSchema = z.object({
  version: z.literal(1),
  key: z.string(),
  type: z.custom<NotifyEventType>((v) => typeof v === "string"),
  createdAt: z.string(),
  event: z.custom<NotifyEvent>((v) => typeof v === "object" && v !== null && "type" in v),
  deliveries: z.array(
    z.object({
      id: z.string(),
      channel: channelSchema,
      status: z.enum(["pending", "delivered", "failed"]),
      attempts: z.number().int().min(0),
      nextAttemptAt: z.string(),
      lastError: z.string().optional(),
      deliveredAt: z.string().optional(),
    }),
  ),
});

/** File name for a dedupe key. */
export function recordFileName(key: string): string {
  return `${createHash("sha256").update(key).digest("hex").slice(0, 40)}.json`;
}

/** What a channel is, for logs; webhook URLs are cut to their origin (paths often hold tokens). */
export function describeChannel(channel: Channel): string {
  if (channel.kind === "email") return `email to ${channel.audience} (${channel.message.to.join(", ")})`;
  return `webhook ${redactUrl(channel.url)}`;
}

export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return parsed.pathname === "/" && !parsed.search ? parsed.origin : `${parsed.origin}/…`;
  } catch {
    return "(invalid URL)";
  }
}

export function message(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause instanceof Error ? `: ${error.cause.message}` : "";
    return `${error.message}${cause}`;
  }
  return String(error);
}
