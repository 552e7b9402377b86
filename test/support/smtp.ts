/**
 * A real SMTP server (the `smtp-server` package) on 127.0.0.1 for tests. It accepts any sender
 * and recipient without auth or TLS, parses each message with `mailparser` and keeps it in
 * `messages`. `failNext(n)` answers the next n messages with a temporary 451 so retry paths can
 * be tested. Point the code under test at it with SMTP_URL=`server.url`. Reverse DNS of clients is
 * off, so nothing leaves 127.0.0.1.
 */
import type { AddressInfo } from "node:net";
import { simpleParser } from "mailparser";
import { SMTPServer } from "smtp-server";

export interface ReceivedMail {
  /** Envelope sender and recipients (what the server was told in MAIL FROM / RCPT TO). */
  envelopeFrom: string;
  envelopeTo: string[];
  /** Header From / To addresses. */
  from: string[];
  to: string[];
  subject: string;
  text: string;
  /** The HTML part as sent, or "" when there is none. */
  html: string;
  messageId: string;
  /** Lower-case header names; values as mailparser decodes them (strings for custom headers). */
  headers: Map<string, unknown>;
  raw: string;
}

export interface TestSmtpServer {
  /** e.g. smtp://127.0.0.1:41234 */
  url: string;
  port: number;
  messages: ReceivedMail[];
  /** Answer the next `count` messages with "451 try again later". */
  failNext(count: number): void;
  /** Messages rejected by `failNext` so far. */
  rejected: number;
  /** Resolves once at least `count` messages arrived; rejects after `timeoutMs`. */
  waitFor(count: number, timeoutMs?: number): Promise<ReceivedMail[]>;
  close(): Promise<void>;
}

function addresses(value: unknown): string[] {
  const list = Array.isArray(value) ? value : value ? [value] : [];
  const out: string[] = [];
  for (const group of list) {
    if (typeof group !== "object" || group === null || !("value" in group) || !Array.isArray(group.value))
      continue;
    for (const entry of group.value) {
      if (
        typeof entry === "object" &&
        entry !== null &&
        "address" in entry &&
        typeof entry.address === "string"
      ) {
        out.push(entry.address);
      }
    }
  }
  return out;
}

export async function startSmtpServer(): Promise<TestSmtpServer> {
  const messages: ReceivedMail[] = [];
  const waiters = new Set<() => void>();
  let failures = 0;

  const state = {
    rejected: 0,
  };

  const server = new SMTPServer({
    secure: false,
    authOptional: true,
    disabledCommands: ["AUTH", "STARTTLS"],
    logger: false,
    // Otherwise every connection asks the system resolver (off this host) for a PTR record.
    disableReverseLookup: true,
    banner: "fleetwave test SMTP",
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("error", (error) => callback(error));
      stream.on("end", () => {
        if (failures > 0) {
          failures -= 1;
          state.rejected += 1;
          const error = Object.assign(new Error("try again later"), { responseCode: 451 });
          callback(error);
          return;
        }
        const raw = Buffer.concat(chunks);
        simpleParser(raw)
          .then((parsed) => {
            messages.push({
              envelopeFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
              envelopeTo: session.envelope.rcptTo.map((r) => r.address),
              from: addresses(parsed.from),
              to: addresses(parsed.to),
              subject: parsed.subject ?? "",
              text: parsed.text ?? "",
              html: typeof parsed.html === "string" ? parsed.html : "",
              messageId: parsed.messageId ?? "",
              headers: new Map(parsed.headers),
              raw: raw.toString("utf8"),
            });
            for (const wake of waiters) wake();
            callback();
          })
          .catch((error: unknown) => callback(error instanceof Error ? error : new Error(String(error))));
      });
    },
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  server.on("error", () => undefined);
  const port = (server.server.address() as AddressInfo).port;

  return {
    url: `smtp://127.0.0.1:${port}`,
    port,
    messages,
    failNext(count) {
      failures = count;
    },
    get rejected() {
      return state.rejected;
    },
    waitFor(count, timeoutMs = 5000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (messages.length < count) return;
          cleanup();
          resolve(messages.slice());
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`expected ${count} email(s) within ${timeoutMs} ms, got ${messages.length}`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
