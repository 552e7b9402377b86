/**
 * Pure rendering of notification emails: event in, subject + plain text + HTML out. No I/O.
 * Everything that comes from outside (changelog items, reasons, ids, versions, URLs) is escaped
 * in the HTML. Tenants see their bot, a version (the changelog's, else a 12-digit short digest)
 * and the changelog; never a host, a full digest or an internal reason. Admins see everything.
 */
import { formatProblem } from "../model/problems.ts";
import { shortDigest } from "../text/digest.ts";
import { escapeHtml } from "../text/html.ts";
import {
  type Audience,
  adminSubject,
  changelogHtml,
  changelogText,
  code,
  type Details,
  detailsHtml,
  detailsText,
  finish,
  oneLine,
  p,
  type RenderedEmail,
  safeHttpUrl,
  versionFor,
} from "./email-parts.ts";
import type {
  BotDownEvent,
  BotRecoveredEvent,
  BotRollbackFailedEvent,
  BotRolledBackEvent,
  BotUpdateAvailableEvent,
  BotUpdatedEvent,
  BotUpdateFailedEvent,
  FailedBot,
  FleetStateInvalidEvent,
  NotifyEvent,
  RolloutAbortedEvent,
  RolloutCompletedEvent,
  RolloutPausedEvent,
  RolloutStartedEvent,
} from "./events.ts";

export type { Audience, RenderedEmail } from "./email-parts.ts";

export interface RenderOptions {
  /** The agent's host id, shown to admins. */
  host: string;
  /**
   * Where a tenant clicks "Update now" (http or https). `{bot}` in it is replaced by the bot id.
   * Without it, the email tells the tenant to ask their administrator.
   */
  dashboardUrl?: string;
  /**
   * The signed one-click link of a `bot.update_available` email and when it expires (shown as is).
   * Takes the place of the dashboard link.
   */
  updateLink?: { url: string; expires: string };
}

/** Who gets an email for this event type. */
export function audienceOf(type: NotifyEvent["type"]): Audience | null {
  switch (type) {
    case "bot.update_available":
    case "bot.updated":
      return "tenant";
    case "bot.update_failed":
    case "bot.rolled_back":
    case "bot.rollback_failed":
    case "bot.down":
    case "bot.recovered":
    case "rollout.started":
    case "rollout.completed":
    case "rollout.paused":
    case "rollout.aborted":
    case "fleet_state.invalid":
      return "admins";
  }
}

/** The email for an event, or `null` for events that have none. */
export function renderEmail(event: NotifyEvent, options: RenderOptions): RenderedEmail | null {
  switch (event.type) {
    case "bot.update_available":
      return updateAvailable(event, options);
    case "bot.updated":
      return updated(event);
    case "bot.update_failed":
      return updateFailed(event, options);
    case "bot.rolled_back":
      return rolledBack(event, options);
    case "bot.rollback_failed":
      return rollbackFailed(event, options);
    case "bot.down":
      return botDown(event, options);
    case "bot.recovered":
      return botRecovered(event, options);
    case "rollout.paused":
    case "rollout.aborted":
      return rolloutStopped(event, options);
    case "fleet_state.invalid":
      return fleetStateInvalid(event, options);
    case "rollout.started":
      return rolloutStarted(event, options);
    case "rollout.completed":
      return rolloutCompleted(event, options);
  }
}

// ---------------------------------------------------------------------------------------------
// Tenant emails

const BUTTON_STYLE =
  "display:inline-block;padding:8px 16px;background:#1f6feb;color:#fff;border-radius:6px;text-decoration:none";
const SAFETY =
  "The update takes a minute or two. If the new version does not start correctly, your bot is put back on the current version automatically, with its data as it was.";

/** The offer email; only "how to update" differs between a signed link and the dashboard. */
function updateAvailable(event: BotUpdateAvailableEvent, options: RenderOptions): RenderedEmail {
  const version = versionFor(event.changelog, event.to);
  const how = options.updateLink
    ? howWithLink(event, options.updateLink)
    : howWithDashboard(event, safeHttpUrl(options.dashboardUrl, event.bot));
  const text = [
    "Hello,",
    "",
    `A new version of your bot ${event.bot} is ready: ${version}.`,
    "Your bot updates only when you say so, so it keeps running its current version until then.",
    "",
    ...(event.changelog ? changelogText(event.changelog) : []),
    ...how.text,
    "The update takes a minute or two. If the new version does not start correctly, your bot is",
    "put back on the current version automatically, with its data as it was.",
  ];
  const html = [
    p("Hello,"),
    `<p>A new version of your bot <strong>${escapeHtml(event.bot)}</strong> is ready: <strong>${escapeHtml(version)}</strong>.</p>`,
    p("Your bot updates only when you say so, so it keeps running its current version until then."),
    event.changelog ? changelogHtml(event.changelog) : "",
    '<h2 style="font-size:17px;margin:24px 0 8px">How to update</h2>',
    ...how.html,
    p(SAFETY),
  ];
  return finish("tenant", `Update available for ${event.bot}: ${version}`, text, html);
}

function howWithDashboard(event: BotUpdateAvailableEvent, url: string | undefined) {
  if (!url)
    return {
      text: [
        "How to update:",
        `Ask your administrator to click "Update now" for ${event.bot} in the Fleetwave dashboard.`,
      ],
      html: [
        `<p>Ask your administrator to click “Update now” for <strong>${escapeHtml(event.bot)}</strong> in the Fleetwave dashboard.</p>`,
      ],
    };
  return {
    text: ["How to update:", `Open ${url} and click "Update now" for ${event.bot}.`],
    html: [
      `<p><a href="${escapeHtml(url)}" style="${BUTTON_STYLE}">Update now</a></p><p>Or open ${escapeHtml(url)} and click “Update now” for ${escapeHtml(event.bot)}.</p>`,
    ],
  };
}

function howWithLink(event: BotUpdateAvailableEvent, link: { url: string; expires: string }) {
  const validity = `The link works once, until ${link.expires}. It opens a page that shows the change and asks you to confirm.`;
  return {
    text: [`To update ${event.bot}, open:`, link.url, validity, ""],
    html: [`<p><a href="${escapeHtml(link.url)}" style="${BUTTON_STYLE}">Update now</a></p>`, p(validity)],
  };
}

function updated(event: BotUpdatedEvent): RenderedEmail {
  const version = versionFor(event.changelog, event.to);
  const text = [
    "Hello,",
    "",
    `Your bot ${event.bot} was updated to ${version} and is running normally.`,
    "",
    ...(event.changelog ? changelogText(event.changelog) : []),
  ];
  const html = [
    p("Hello,"),
    `<p>Your bot <strong>${escapeHtml(event.bot)}</strong> was updated to <strong>${escapeHtml(version)}</strong> and is running normally.</p>`,
    event.changelog ? changelogHtml(event.changelog) : "",
  ];
  return finish("tenant", `${event.bot} was updated to ${version}`, text, html);
}

// ---------------------------------------------------------------------------------------------
// Admin emails

function botDetails(
  event: BotUpdateFailedEvent | BotRolledBackEvent | BotRollbackFailedEvent,
  host: string,
  fromLabel: string,
  toLabel: string,
): Details {
  return [
    ["Bot", event.bot],
    ["Tenant", event.tenant],
    ["Host", host],
    ["Rollout", event.rollout],
    [fromLabel, event.from],
    [toLabel, event.to],
    ["Reason", event.reason],
  ];
}

function updateFailed(event: BotUpdateFailedEvent, options: RenderOptions): RenderedEmail {
  const details = botDetails(event, options.host, "Running", "Wanted");
  if (event.attempts !== undefined) details.push(["Attempts", String(event.attempts)]);
  const intro = `${event.bot} could not be updated to ${shortDigest(event.to)}. The bot was not changed and keeps running its current version.`;
  return finish(
    "admins",
    adminSubject(options.host, `${event.bot}: update failed, bot unchanged`),
    [intro, "", ...detailsText(details)],
    [p(intro), detailsHtml(details)],
  );
}

function rolledBack(event: BotRolledBackEvent, options: RenderOptions): RenderedEmail {
  const details = botDetails(event, options.host, "Back on", "Failed");
  const intro = `${event.bot} was rolled back: the update to ${shortDigest(event.to)} failed its health gate.`;
  const after =
    "The previous container runs again and its volumes were restored from the snapshot taken before the update. This digest is not retried for the image until a newer plan arrives.";
  return finish(
    "admins",
    adminSubject(options.host, `${event.bot} rolled back: ${oneLine(event.reason)}`),
    [intro, "", ...detailsText(details), "", after],
    [p(intro), detailsHtml(details), p(after)],
  );
}

function rollbackFailed(event: BotRollbackFailedEvent, options: RenderOptions): RenderedEmail {
  const details = botDetails(event, options.host, "Was on", "Failed");
  const snapshots = event.snapshots ?? [];
  if (snapshots.length > 0) details.push(["Snapshots", snapshots.join(", ")]);
  const intro = `ACTION NEEDED: the update of ${event.bot} to ${shortDigest(event.to)} failed and rolling it back failed too. The bot may be down.`;
  const kept = `The volume snapshots taken before the update were kept on ${options.host}. Nothing is deleted until you act.`;
  const inspect = `docker ps -a --filter label=fleetwave.bot=${event.bot}`;
  const restore = [
    `fleetwave snapshots list --bot ${event.bot}`,
    ...(snapshots.length > 0
      ? snapshots.map((id) => `fleetwave snapshots restore ${id}`)
      : ["fleetwave snapshots restore <snapshot id>"]),
  ];
  const start = `Start the previous container (${event.bot}, or ${event.bot}.fleetwave-old if it is still renamed aside) and check that it is healthy.`;
  const confirm = "Run `fleetwave status` to confirm; the next reconcile records the bot's state.";
  const todo = [
    `What to do on ${options.host}:`,
    "1. See which containers are left for the bot:",
    `     ${inspect}`,
    "2. List the snapshots kept for it and restore them, with the bot's containers stopped:",
    ...restore.map((s) => `     ${s}`),
    `3. ${start}`,
    `4. ${confirm}`,
  ];
  const html = [
    `<p><strong style="color:#cf222e">ACTION NEEDED</strong>: the update of <strong>${escapeHtml(event.bot)}</strong> to ${code(shortDigest(event.to))} failed and rolling it back failed too. The bot may be down.</p>`,
    detailsHtml(details),
    p(kept),
    `<h2 style="font-size:17px;margin:24px 0 8px">What to do on ${escapeHtml(options.host)}</h2>`,
    "<ol>",
    `<li>See which containers are left for the bot:<br>${code(inspect)}</li>`,
    `<li>List the snapshots kept for it and restore them, with the bot's containers stopped:<br>${restore.map(code).join("<br>")}</li>`,
    `<li>${escapeHtml(start)}</li>`,
    `<li>Run ${code("fleetwave status")} to confirm; the next reconcile records the bot's state.</li>`,
    "</ol>",
  ];
  return finish(
    "admins",
    adminSubject(options.host, `ROLLBACK FAILED for ${event.bot}: ${oneLine(event.reason)}`),
    [intro, "", ...detailsText(details), "", kept, "", ...todo],
    html,
  );
}

function incidentDetails(event: BotDownEvent | BotRecoveredEvent, host: string): Details {
  return [
    ["Bot", event.bot],
    ["Tenant", event.tenant],
    ["Host", host],
    ["Digest", event.digest],
    ["Down since", event.since],
    ["Reason", event.reason],
  ];
}

function botDown(event: BotDownEvent, options: RenderOptions): RenderedEmail {
  const details = incidentDetails(event, options.host);
  const intro = `ACTION NEEDED: ${event.bot} is not running and the agent could not bring it back.`;
  const inspect = `docker ps -a --filter label=fleetwave.bot=${event.bot}`;
  const logs = `docker logs --tail 100 ${event.bot}`;
  const after =
    "The agent tries again on every reconcile and sends one more email when the bot is back. You get no further email for this incident.";
  const todo = [`What to do on ${options.host}:`, `  ${inspect}`, `  ${logs}`];
  return finish(
    "admins",
    adminSubject(options.host, `${event.bot} is DOWN: ${oneLine(event.reason)}`),
    [intro, "", ...detailsText(details), "", ...todo, "", after],
    [
      `<p><strong style="color:#cf222e">ACTION NEEDED</strong>: <strong>${escapeHtml(event.bot)}</strong> is not running and the agent could not bring it back.</p>`,
      detailsHtml(details),
      `<p>What to do on ${escapeHtml(options.host)}:<br>${code(inspect)}<br>${code(logs)}</p>`,
      p(after),
    ],
  );
}

function botRecovered(event: BotRecoveredEvent, options: RenderOptions): RenderedEmail {
  const details = incidentDetails(event, options.host);
  const intro = `${event.bot} was found not running and is running and healthy again.`;
  return finish(
    "admins",
    adminSubject(options.host, `${event.bot} recovered: ${oneLine(event.reason)}`),
    [intro, "", ...detailsText(details)],
    [p(intro), detailsHtml(details)],
  );
}

function failedBotLine(f: FailedBot): string {
  const where = [f.tenant && `tenant ${f.tenant}`, f.host && `host ${f.host}`, f.result]
    .filter(Boolean)
    .join(", ");
  return `${f.bot}${where ? ` (${where})` : ""}: ${oneLine(f.reason)}`;
}

function rolloutStarted(event: RolloutStartedEvent, options: RenderOptions): RenderedEmail {
  const details: Details = [
    ["Rollout", event.rollout],
    ["Image", event.image],
    ["Digest", event.digest],
    ["Strategy", event.strategy],
    ["Targets", event.targets === undefined ? undefined : `${event.targets} bot(s)`],
    ["Reported by", options.host],
  ];
  const intro = `Rollout ${event.rollout} started: its first wave is updating bots now.`;
  const next = `Follow it on the dashboard or with \`fleetwave history --rollout ${event.rollout}\`; pause it with POST /api/rollouts/${event.rollout}/pause or control.state: paused in its plan file.`;
  return finish(
    "admins",
    adminSubject(options.host, `rollout ${event.rollout} started`),
    [intro, "", ...detailsText(details), "", next],
    [p(intro), detailsHtml(details), p(next)],
  );
}

function rolloutCompleted(event: RolloutCompletedEvent, options: RenderOptions): RenderedEmail {
  const s = event.summary;
  const details: Details = [
    ["Rollout", event.rollout],
    ["Image", event.image],
    ["Digest", event.digest],
    ["Updated", s ? String(s.updated) : undefined],
    ["Failed", s ? String(s.failed) : undefined],
    ["Skipped", s ? String(s.skipped) : undefined],
    ['Waiting for "Update now"', s?.waiting ? String(s.waiting) : undefined],
    ["Reported by", options.host],
  ];
  const counts = s ? `: ${s.updated} updated, ${s.failed} failed, ${s.skipped} skipped` : "";
  const intro = `Rollout ${event.rollout} completed: every target has a result.`;
  const next = `Per-bot results: \`fleetwave history --rollout ${event.rollout}\`.`;
  return finish(
    "admins",
    adminSubject(options.host, `rollout ${event.rollout} completed${counts}`),
    [intro, "", ...detailsText(details), "", next],
    [p(intro), detailsHtml(details), p(next)],
  );
}

function rolloutStopped(
  event: RolloutPausedEvent | RolloutAbortedEvent,
  options: RenderOptions,
): RenderedEmail {
  const aborted = event.type === "rollout.aborted";
  const verb = aborted ? "aborted" : "paused";
  const details: Details = [
    ["Rollout", event.rollout],
    ["Image", event.image],
    ["Digest", event.digest],
    ["Reported by", options.host],
    ["Threshold", event.failureThreshold === undefined ? undefined : `${event.failureThreshold} failed bots`],
    ["Reason", event.reason],
  ];
  const intro = `Rollout ${event.rollout} was ${verb}: no further bots will be started${aborted ? "" : " until it is resumed"}.`;
  const next = aborted
    ? "Aborting is final: the digest is quarantined for this image and bots already updated stay where they are. Fix the problem and publish a newer image to start a new rollout."
    : `To continue, set control.state: active in fleet-state/rollouts/${event.rollout}.yaml (or POST /api/rollouts/${event.rollout}/resume on an agent); to stop for good, abort it the same way.`;
  const failedText =
    event.failed.length > 0 ? event.failed.map((f) => `  - ${failedBotLine(f)}`) : ["  (none listed)"];
  const failedHtml =
    event.failed.length > 0
      ? `<ul>${event.failed.map((f) => `<li>${escapeHtml(failedBotLine(f))}</li>`).join("")}</ul>`
      : p("(none listed)");
  return finish(
    "admins",
    adminSubject(options.host, `rollout ${event.rollout} ${verb}: ${event.failed.length} failed bot(s)`),
    [
      intro,
      "",
      ...detailsText(details),
      "",
      `Failed bots (${event.failed.length}):`,
      ...failedText,
      "",
      next,
    ],
    [
      p(intro),
      detailsHtml(details),
      `<h2 style="font-size:17px;margin:24px 0 8px">Failed bots (${event.failed.length})</h2>`,
      failedHtml,
      p(next),
    ],
  );
}

function fleetStateInvalid(event: FleetStateInvalidEvent, options: RenderOptions): RenderedEmail {
  const lines = event.problems.map(formatProblem);
  const details: Details = [
    ["Commit", event.commit],
    ["Still using", event.lastValidCommit ?? "the last valid fleet-state it had"],
    ["Host", options.host],
  ];
  const intro = `Fleet-state commit ${event.commit.slice(0, 12)} is invalid; the agent on ${options.host} ignores it and keeps acting on the last valid fleet-state.`;
  const next =
    "Fix the files in a new commit (run `fleetwave validate` locally to check); the agent picks it up on its next tick.";
  return finish(
    "admins",
    adminSubject(
      options.host,
      `invalid fleet-state at ${event.commit.slice(0, 12)}: ${lines.length} problem(s)`,
    ),
    [
      intro,
      "",
      ...detailsText(details),
      "",
      `Problems (${lines.length}):`,
      ...lines.map((l) => `  ${l}`),
      "",
      next,
    ],
    [
      p(intro),
      detailsHtml(details),
      `<h2 style="font-size:17px;margin:24px 0 8px">Problems (${lines.length})</h2>`,
      `<pre style="white-space:pre-wrap;background:#f6f8fa;padding:8px">${escapeHtml(lines.join("\n"))}</pre>`,
      p(next),
    ],
  );
}
