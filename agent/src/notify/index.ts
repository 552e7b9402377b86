/**
 * Notifications for the agent: `createNotifier(...)` once at start, `notify(event)` whenever
 * something happens (cheap, idempotent per dedupe key, never waits for a send), `updateConfig`
 * after every fleet-state reload, `flush` before `--once` exits, `stop` on shutdown.
 */
import { join } from "node:path";
import type { LinkSigning } from "../links/tenant-link.ts";
import type { Fleet } from "../model/fleet.ts";
import type { Tenant } from "../model/tenant.ts";
import { createEmailSender, type EmailSender, parseSmtpUrl, postWebhook } from "./channels.ts";
import { dedupeKey, type NotifyEvent } from "./events.ts";
import { Outbox } from "./outbox.ts";
import { type BackoffPolicy, type Deliver, PermanentDeliveryError } from "./outbox-record.ts";
import { planChannels } from "./plan.ts";

export type { FleetEvent } from "../model/fleet.ts";
export { signatureHeader, signWebhookBody } from "./channels.ts";
export * from "./events.ts";
export { type BackoffPolicy, backoffDelay, defaultBackoff } from "./outbox-record.ts";
export type { WebhookPayload } from "./payload.ts";
export { type RenderedEmail, renderEmail } from "./render.ts";

export interface NotifierOptions {
  /** The agent's data dir; the outbox lives in `<dataDir>/outbox/`. */
  dataDir: string;
  /** This agent's host id. */
  host: string;
  fleet: Fleet;
  tenants: readonly Tenant[];
  /** Reads SMTP_URL, FLEETWAVE_WEBHOOK_SIGNING_SECRET, FLEETWAVE_DASHBOARD_URL. */
  env: Readonly<Record<string, string | undefined>>;
  /** Link for "Update now" in tenant emails (`{bot}` is replaced); default FLEETWAVE_DASHBOARD_URL. */
  dashboardUrl?: string;
  /** Signed one-click "Update now" links in tenant emails (FLEETWAVE_LINK_KEY, --public-url). */
  links?: LinkSigning;
  log: (line: string) => void;
  /** Retry schedule; default 1 s doubling to at most 5 min, 10 attempts. */
  backoff?: Partial<BackoffPolicy>;
  /** Injectable clock and sleep for tests. */
  now?: () => number;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Per-request timeout of webhooks (default 10 s) and SMTP socket timeouts (default 30 s). */
  webhookTimeoutMs?: number;
  smtpTimeoutMs?: number;
  /** Finished notifications older than this are forgotten at start (default 180). */
  retentionDays?: number;
}

export interface Notifier {
  /**
   * Queues the event once: true if newly queued, false if its dedupe key was queued before
   * (also by an earlier run over the same data dir). Resolves once it is on disk; sending
   * happens in the background. Rejects only when the data dir cannot be written.
   */
  notify(event: NotifyEvent): Promise<boolean>;
  /** Waits until nothing is pending or `timeoutMs` passed; true when nothing is pending. */
  flush(timeoutMs: number): Promise<boolean>;
  /** Stops sending; pending deliveries stay on disk and resume at the next start. */
  stop(): Promise<void>;
  /** New fleet.yaml / tenants after a reload; applies to events queued from now on. */
  updateConfig(fleet: Fleet, tenants: readonly Tenant[]): void;
  /** Deliveries still pending (for status and metrics). */
  pendingCount(): number;
}

export async function createNotifier(options: NotifierOptions): Promise<Notifier> {
  const { log, host, env } = options;
  const warned = new Set<string>();
  const warnOnce = (line: string) => {
    if (warned.has(line)) return;
    warned.add(line);
    log(line);
  };

  const smtpUrl = env.SMTP_URL?.trim() || undefined;
  if (smtpUrl) parseSmtpUrl(smtpUrl);
  else warnOnce("notify: SMTP_URL is not set; email notifications are disabled (webhooks still work)");
  const secret = env.FLEETWAVE_WEBHOOK_SIGNING_SECRET || undefined;
  const dashboardUrl = options.dashboardUrl ?? (env.FLEETWAVE_DASHBOARD_URL?.trim() || undefined);

  let fleet = options.fleet;
  let tenants = options.tenants;
  const checkConfig = () => {
    if (smtpUrl && !fleet.notifications.email) {
      warnOnce("notify: SMTP_URL is set but fleet.yaml has no notifications.email; no emails are sent");
    }
    if (!secret && fleet.notifications.webhooks.length > 0) {
      warnOnce("notify: FLEETWAVE_WEBHOOK_SIGNING_SECRET is not set; webhooks are sent unsigned");
    }
  };
  checkConfig();

  let email: EmailSender | undefined;
  const deliver: Deliver = async (delivery, signal) => {
    const channel = delivery.channel;
    if (channel.kind === "webhook") {
      await postWebhook({
        url: channel.url,
        event: channel.event,
        deliveryId: delivery.id,
        body: channel.body,
        ...(secret ? { secret } : {}),
        signal,
        ...(options.webhookTimeoutMs ? { timeoutMs: options.webhookTimeoutMs } : {}),
      });
      return;
    }
    if (!smtpUrl) throw new PermanentDeliveryError("SMTP_URL is not set in this run");
    email ??= createEmailSender(smtpUrl, options.smtpTimeoutMs ? { timeoutMs: options.smtpTimeoutMs } : {});
    await email.send(channel.message, { deliveryId: delivery.id, event: channel.event });
  };

  const outbox = await Outbox.open({
    dir: join(options.dataDir, "outbox"),
    deliver,
    log,
    ...(options.backoff ? { backoff: options.backoff } : {}),
    ...(options.now ? { now: options.now } : {}),
    ...(options.sleep ? { sleep: options.sleep } : {}),
    ...(options.retentionDays !== undefined ? { retentionDays: options.retentionDays } : {}),
  });
  const now = options.now ?? Date.now;

  return {
    async notify(event) {
      const key = dedupeKey(event);
      if (outbox.has(key)) return false;
      const at = event.at ?? new Date(now()).toISOString();
      const plan = planChannels(event, at, {
        host,
        fleet,
        tenants,
        emailEnabled: smtpUrl !== undefined,
        ...(dashboardUrl ? { dashboardUrl } : {}),
        ...(options.links ? { links: options.links } : {}),
      });
      for (const note of plan.notes) log(`notify: ${key}: ${note}`);
      const added = await outbox.add({ key, event: { ...event, at }, channels: plan.channels });
      if (added && plan.channels.length === 0) log(`notify: ${key}: no channel configured; recorded only`);
      return added;
    },
    flush: (timeoutMs) => outbox.flush(timeoutMs),
    async stop() {
      await outbox.stop();
      email?.close();
    },
    updateConfig(nextFleet, nextTenants) {
      fleet = nextFleet;
      tenants = nextTenants;
      checkConfig();
    },
    pendingCount: () => outbox.pendingCount(),
  };
}
