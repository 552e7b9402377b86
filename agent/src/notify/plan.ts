/**
 * Pure: which channels an event goes to under the current configuration, each rendered ready to
 * send. Recipients and webhook URLs are fixed here, when the event is queued; a later change of
 * fleet.yaml or the tenant files does not redirect a notification already in the outbox.
 */
import { type LinkSigning, linkUrl } from "../links/tenant-link.ts";
import type { Fleet } from "../model/fleet.ts";
import type { Tenant } from "../model/tenant.ts";
import { isBotEvent, type NotifyEvent } from "./events.ts";
import type { Channel } from "./outbox-record.ts";
import { webhookPayload } from "./payload.ts";
import { renderEmail } from "./render.ts";

export interface NotifyConfig {
  host: string;
  fleet: Fleet;
  tenants: readonly Tenant[];
  /** False when SMTP_URL is unset: no email channel is planned. */
  emailEnabled: boolean;
  dashboardUrl?: string;
  /** Signed one-click links in `bot.update_available` emails; they expire `ttlMs` after `at`. */
  links?: LinkSigning;
}

export interface ChannelPlan {
  channels: Channel[];
  /** Why an expected channel was left out, for the log (e.g. a tenant without contacts). */
  notes: string[];
}

function signedLink(
  links: LinkSigning,
  event: { tenant: string; bot: string; to: string },
  rollout: string,
  at: string,
): { url: string; expires: string } {
  const expires = Math.floor((Date.parse(at) + links.ttlMs) / 1000);
  const url = linkUrl(links.publicUrl, links.key, {
    tenant: event.tenant,
    bot: event.bot,
    rollout,
    digest: event.to,
    expires,
  });
  return { url, expires: `${new Date(expires * 1000).toISOString().slice(0, 16).replace("T", " ")} UTC` };
}

export function planChannels(event: NotifyEvent, at: string, config: NotifyConfig): ChannelPlan {
  const channels: Channel[] = [];
  const notes: string[] = [];

  const email = renderEmail(event, {
    host: config.host,
    ...(config.dashboardUrl ? { dashboardUrl: config.dashboardUrl } : {}),
    ...(config.links && event.type === "bot.update_available" && event.rollout
      ? { updateLink: signedLink(config.links, event, event.rollout, at) }
      : {}),
  });
  const emailConfig = config.fleet.notifications.email;
  if (email && config.emailEnabled && emailConfig) {
    let to: string[] = [];
    if (email.audience === "admins") {
      to = emailConfig.admins;
      if (to.length === 0) notes.push("fleet.yaml notifications.email.admins is empty");
    } else if (isBotEvent(event)) {
      const tenant = config.tenants.find((t) => t.tenant === event.tenant);
      if (!tenant) notes.push(`tenant ${event.tenant} is not in fleet-state`);
      else if (tenant.contacts.length === 0) notes.push(`tenant ${event.tenant} has no contacts`);
      else to = tenant.contacts;
    }
    to = [...new Set(to)];
    if (to.length > 0) {
      channels.push({
        kind: "email",
        audience: email.audience,
        event: event.type,
        message: { from: emailConfig.from, to, subject: email.subject, text: email.text, html: email.html },
      });
    }
  }

  const hooks = config.fleet.notifications.webhooks.filter((hook) => hook.events.includes(event.type));
  if (hooks.length > 0) {
    const body = JSON.stringify(webhookPayload(event, config.host, at));
    for (const url of new Set(hooks.map((hook) => hook.url))) {
      channels.push({ kind: "webhook", url, event: event.type, body });
    }
  }
  return { channels, notes };
}
