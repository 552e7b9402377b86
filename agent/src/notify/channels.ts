/**
 * The two I/O adapters of notifications: SMTP through nodemailer, and signed webhook POSTs.
 * Both throw on failure so the outbox retries.
 */
import { createHmac } from "node:crypto";
import nodemailer from "nodemailer";
import type SMTPTransport from "nodemailer/lib/smtp-transport/index.js";
import { FleetwaveError } from "../errors.ts";
import type { EmailMessage } from "./outbox-record.ts";
import { redactUrl } from "./outbox-record.ts";

// ---------------------------------------------------------------------------------------------
// Email

export interface EmailSender {
  send(message: EmailMessage, meta: { deliveryId: string; event: string }): Promise<void>;
  close(): void;
}

/** Checks `SMTP_URL` (smtp:// or smtps://, optional user:password@) and returns it normalised. */
export function parseSmtpUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new FleetwaveError(
      `SMTP_URL is not a URL; use e.g. smtp://127.0.0.1:25 or smtps://user:pass@mail.example`,
    );
  }
  if (url.protocol !== "smtp:" && url.protocol !== "smtps:") {
    throw new FleetwaveError(`SMTP_URL must start with smtp:// or smtps://, got ${url.protocol}//`);
  }
  if (!url.hostname) throw new FleetwaveError("SMTP_URL has no host; use e.g. smtp://127.0.0.1:25");
  return url.href;
}

export function createEmailSender(smtpUrl: string, options: { timeoutMs?: number } = {}): EmailSender {
  const timeout = options.timeoutMs ?? 30_000;
  const transport = nodemailer.createTransport({
    url: parseSmtpUrl(smtpUrl),
    connectionTimeout: timeout,
    greetingTimeout: timeout,
    socketTimeout: timeout,
  } satisfies SMTPTransport.Options);
  return {
    async send(message, meta) {
      const domain = message.from.split("@").at(-1) || "fleetwave.invalid";
      const info = await transport.sendMail({
        from: message.from,
        to: message.to,
        subject: message.subject,
        text: message.text,
        html: message.html,
        // Stable across retries, so a mail server or reader can spot a duplicate.
        messageId: `<${meta.deliveryId}@${domain}>`,
        headers: {
          "Auto-Submitted": "auto-generated",
          "X-Fleetwave-Event": meta.event,
          "X-Fleetwave-Delivery": meta.deliveryId,
        },
      });
      if (info.accepted.length === 0) {
        throw new FleetwaveError(`the SMTP server accepted none of ${message.to.join(", ")}`);
      }
    },
    close() {
      transport.close();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Webhooks

export const signatureHeader = "X-Fleetwave-Signature-256";

/** `sha256=<hex HMAC-SHA256 of the raw body>`, as GitHub's X-Hub-Signature-256. */
export function signWebhookBody(body: string, secret: string): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}

export interface WebhookRequest {
  url: string;
  event: string;
  deliveryId: string;
  body: string;
  /** FLEETWAVE_WEBHOOK_SIGNING_SECRET; without it the request is sent unsigned. */
  secret?: string;
  signal: AbortSignal;
  timeoutMs?: number;
}

/** POSTs the body; resolves on 2xx, throws on anything else (redirects are not followed). */
export async function postWebhook(request: WebhookRequest): Promise<void> {
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "user-agent": "fleetwave-notify/1",
    "x-fleetwave-event": request.event,
    "x-fleetwave-delivery": request.deliveryId,
  };
  if (request.secret) headers[signatureHeader.toLowerCase()] = signWebhookBody(request.body, request.secret);
  const signal = AbortSignal.any([request.signal, AbortSignal.timeout(request.timeoutMs ?? 10_000)]);
  let response: Response;
  try {
    response = await fetch(request.url, {
      method: "POST",
      headers,
      body: request.body,
      redirect: "manual",
      signal,
    });
  } catch (error) {
    throw new FleetwaveError(`POST ${redactUrl(request.url)} failed`, { cause: error });
  }
  const text = await response.text().catch(() => "");
  if (response.status < 200 || response.status > 299) {
    const snippet = text.replace(/\s+/g, " ").trim().slice(0, 200);
    throw new FleetwaveError(
      `POST ${redactUrl(request.url)} answered HTTP ${response.status}${snippet ? `: ${snippet}` : ""}`,
    );
  }
}
