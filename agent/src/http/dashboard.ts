/**
 * `GET /`: one self-contained HTML page (inline CSS and JS under a nonce-based CSP, no external
 * assets, no build step). The server renders the current status so the page is useful without
 * JavaScript; the script (dashboard.client.js) re-renders the same markup from `/api/status`
 * every few seconds and wires the buttons to the API with a token kept in sessionStorage.
 * Every dynamic string goes through {@link escapeHtml}.
 */
import { readFileSync } from "node:fs";
import type { AgentStatusView, BotView, RolloutProgress, RolloutView } from "./control.ts";

const CLIENT_SCRIPT = readFileSync(new URL("./dashboard.client.js", import.meta.url), "utf8");

export const REFRESH_SECONDS = 5;

export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

/** Template tag: interpolated values are escaped unless wrapped with {@link raw}. */
class Raw {
  constructor(readonly html: string) {}
}
const raw = (html: string) => new Raw(html);
type Part = string | number | Raw | Raw[] | null | undefined | false;

function html(strings: TemplateStringsArray, ...values: Part[]): Raw {
  let out = strings[0] ?? "";
  values.forEach((value, i) => {
    if (value instanceof Raw) out += value.html;
    else if (Array.isArray(value)) out += value.map((v) => v.html).join("");
    else if (value !== null && value !== undefined && value !== false) out += escapeHtml(String(value));
    out += strings[i + 1] ?? "";
  });
  return raw(out);
}

// Kept identical to the helpers of the same name in dashboard.client.js.
export function shortDigest(digest: string | null | undefined): string {
  if (!digest) return "—";
  return digest.startsWith("sha256:") ? digest.slice(7, 19) : digest.slice(0, 12);
}

export function formatTime(iso: string | undefined): string {
  if (!iso) return "—";
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return iso;
  return `${new Date(ms).toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

function tone(word: string): string {
  if (["running", "updated", "active", "completed", "auto"].includes(word)) return "ok";
  if (
    ["updating", "paused", "pending", "update-available", "skipped", "in-progress", "manual"].includes(word)
  )
    return "warn";
  return "bad";
}

const badge = (word: string) => html`<span class="badge ${tone(word)}">${word}</span>`;

function progressSummary(progress: RolloutProgress | undefined): string {
  if (!progress) return "not started here";
  const counts = new Map<string, number>();
  for (const bot of Object.values(progress.bots)) counts.set(bot.result, (counts.get(bot.result) ?? 0) + 1);
  const parts = [...counts.entries()].map(([result, n]) => `${n} ${result}`);
  return [`waves done ${progress.wavesDone}`, ...parts].join(" · ");
}

function lastCell(bot: BotView): Raw {
  const last = bot.last;
  if (!last) return html`<span class="muted">no update yet</span>`;
  return html`${badge(last.result)} <span class="muted">${formatTime(last.at)}</span>
    <div class="small"><code>${shortDigest(last.from)}</code> → <code>${shortDigest(last.to)}</code>${
      last.actor ? html` by ${last.actor}` : ""
    }</div>${last.reason ? html`<div class="small reason">${last.reason}</div>` : ""}`;
}

function errorBanner(status: AgentStatusView): Raw {
  const error = status.lastError;
  if (!error) return raw("");
  return html`<div class="error" role="alert"><strong>Last error (${error.source})</strong> · ${formatTime(error.at)}<div>${error.message}</div></div>`;
}

function fleetBar(status: AgentStatusView): Raw {
  return html`<div class="bar">
  <span>Fleet ${badge(status.paused ? "paused" : "active")}</span>
  <span class="muted">commit <code>${status.observedCommit ? status.observedCommit.slice(0, 12) : "none"}</code></span>
  <span class="muted">last reconcile ${formatTime(status.lastReconcileAt)}</span>
  <span class="spacer"></span>
  ${
    status.paused
      ? html`<button type="button" data-action="fleet-resume">Resume fleet</button>`
      : html`<button type="button" data-action="fleet-pause">Pause fleet</button>`
  }
  <button type="button" data-action="reconcile">Reconcile now</button>
</div>`;
}

function waitingTable(status: AgentStatusView): Raw {
  const waiting = status.bots.filter((b) => b.updateAvailable);
  if (waiting.length === 0) return raw("");
  const rows = waiting.map(
    (b) => html`<tr data-bot="${b.id}">
  <td><strong>${b.id}</strong></td><td>${b.tenant}</td>
  <td><code title="${b.digest ?? ""}">${shortDigest(b.digest)}</code> → <code title="${b.updateAvailable?.digest ?? ""}">${shortDigest(b.updateAvailable?.digest)}</code></td>
  <td><code>${b.updateAvailable?.rollout}</code></td>
  <td><button type="button" class="primary" data-action="update-bot" data-id="${b.id}">Update now</button></td>
</tr>`,
  );
  return html`<section><h2>Waiting for “Update now” <span class="count">${waiting.length}</span></h2>
<table id="waiting"><thead><tr><th>Bot</th><th>Tenant</th><th>Digest</th><th>Rollout</th><th></th></tr></thead>
<tbody>${rows}</tbody></table></section>`;
}

function botsTable(status: AgentStatusView): Raw {
  const rows = status.bots.map(
    (b) => html`<tr data-bot="${b.id}">
  <td><strong>${b.id}</strong></td><td>${b.tenant} ${badge(b.updateMode)}</td>
  <td><code title="${b.digest ?? ""}">${shortDigest(b.digest)}</code></td>
  <td>${badge(b.state)}</td><td>${lastCell(b)}</td>
</tr>`,
  );
  const body =
    rows.length > 0 ? rows : [html`<tr><td colspan="5" class="muted">No bots on this host.</td></tr>`];
  return html`<section><h2>Bots <span class="count">${status.bots.length}</span></h2>
<table id="bots"><thead><tr><th>Bot</th><th>Tenant</th><th>Digest</th><th>State</th><th>Last update</th></tr></thead>
<tbody>${body}</tbody></table></section>`;
}

function rolloutButtons(r: RolloutView): Raw {
  const s = r.control.state;
  if (s === "aborted") return html`<span class="muted">final</span>`;
  return html`${
    s === "active"
      ? html`<button type="button" data-action="rollout-pause" data-id="${r.id}">Pause</button>`
      : html`<button type="button" data-action="rollout-resume" data-id="${r.id}">Resume</button>`
  } <button type="button" class="danger" data-action="rollout-abort" data-id="${r.id}">Abort</button>`;
}

function rolloutsTable(status: AgentStatusView): Raw {
  const rows = status.rollouts.map(
    (r) => html`<tr data-rollout="${r.id}">
  <td><code>${r.id}</code><div class="small muted">${r.strategy} · ${r.targets.onThisHost}/${r.targets.total} bots here</div></td>
  <td>${r.image}<div class="small"><code title="${r.digest}">${shortDigest(r.digest)}</code></div></td>
  <td>${badge(r.control.state)}${
    r.control.by || r.control.reason
      ? html`<div class="small muted">${[r.control.by, r.control.reason].filter(Boolean).join(": ")}</div>`
      : ""
  }</td>
  <td>${r.progress ? badge(r.progress.state) : ""}<div class="small muted">${progressSummary(r.progress)}</div></td>
  <td>${rolloutButtons(r)}</td>
</tr>`,
  );
  const body =
    rows.length > 0
      ? rows
      : [html`<tr><td colspan="5" class="muted">No rollout plans in fleet-state.</td></tr>`];
  return html`<section><h2>Rollouts <span class="count">${status.rollouts.length}</span></h2>
<table id="rollouts"><thead><tr><th>Rollout</th><th>Image</th><th>Control</th><th>This host</th><th></th></tr></thead>
<tbody>${body}</tbody></table></section>`;
}

/** The part of the page the client script re-renders on every refresh. */
export function renderLive(status: AgentStatusView): string {
  return html`${errorBanner(status)}${fleetBar(status)}${waitingTable(status)}${botsTable(status)}${rolloutsTable(status)}`
    .html;
}

const STYLE = `
:root{color-scheme:light dark;--fg:#1d2330;--muted:#667085;--bg:#f6f7f9;--card:#fff;--line:#e3e6eb;
--ok:#0f7b3f;--okbg:#e3f5ea;--warn:#8a5a00;--warnbg:#fff2d6;--bad:#b42318;--badbg:#fde7e5;--accent:#2452c7}
@media (prefers-color-scheme:dark){:root{--fg:#e6e8ec;--muted:#98a2b3;--bg:#14171c;--card:#1c2027;--line:#2c323c;
--ok:#6fd49a;--okbg:#173524;--warn:#f5c46b;--warnbg:#3a2e12;--bad:#ff8a80;--badbg:#3d1a18;--accent:#7aa2ff}}
*{box-sizing:border-box}body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--fg);background:var(--bg)}
header{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center;padding:.75rem 1.25rem;background:var(--card);border-bottom:1px solid var(--line)}
h1{font-size:1.15rem;margin:0}h1 .host{color:var(--accent)}h2{font-size:1rem;margin:1.25rem 0 .5rem}
main{max-width:1200px;margin:0 auto;padding:0 1.25rem 2rem}
.count{color:var(--muted);font-weight:400}.muted{color:var(--muted)}.small{font-size:12px}.reason{max-width:36rem}
.spacer{flex:1}.bar{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center;margin-top:1rem}
#auth{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center;margin-left:auto}
input{font:inherit;padding:.3rem .5rem;border:1px solid var(--line);border-radius:6px;background:var(--bg);color:var(--fg)}
button{font:inherit;padding:.3rem .7rem;border:1px solid var(--line);border-radius:6px;background:var(--card);color:var(--fg);cursor:pointer}
button:hover{border-color:var(--accent)}button:disabled{opacity:.5;cursor:progress}
button.primary{background:var(--accent);border-color:var(--accent);color:#fff}button.danger{color:var(--bad)}
table{width:100%;border-collapse:collapse;background:var(--card);border:1px solid var(--line);border-radius:8px}
th,td{text-align:left;vertical-align:top;padding:.45rem .6rem;border-bottom:1px solid var(--line)}
th{font-size:12px;color:var(--muted);font-weight:600}tr:last-child td{border-bottom:0}
code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace}
.badge{display:inline-block;padding:0 .45rem;border-radius:999px;font-size:12px;font-weight:600}
.ok{color:var(--ok);background:var(--okbg)}.warn{color:var(--warn);background:var(--warnbg)}.bad{color:var(--bad);background:var(--badbg)}
.error{margin-top:1rem;padding:.6rem .8rem;border-radius:8px;color:var(--bad);background:var(--badbg);white-space:pre-wrap}
#message{min-height:1.3em;margin:.75rem 0 0}#message.ok,#message.bad{padding:.35rem .6rem;border-radius:6px}#refreshed{font-size:12px}
`;

export interface DashboardInput {
  status: AgentStatusView;
  branch: string;
  /** Per-response CSP nonce for the inline style and script. */
  nonce: string;
}

export function renderDashboard({ status, branch, nonce }: DashboardInput): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>Fleetwave · ${status.host}</title>
<style nonce="${nonce}">${raw(STYLE)}</style>
</head>
<body data-refresh-seconds="${REFRESH_SECONDS}">
<header>
  <h1>Fleetwave <span class="host">${status.host}</span></h1>
  <span class="muted">branch <code>${branch}</code></span>
  <span id="refreshed" class="muted">rendered ${formatTime(new Date().toISOString())}</span>
  <form id="auth" autocomplete="off">
    <span id="who" class="muted">No token: actions are disabled.</span>
    <input id="token" type="password" placeholder="API token" aria-label="API token" size="18">
    <button type="submit" id="use-token">Use token</button>
    <button type="button" id="forget-token">Forget</button>
    <input id="reason" type="text" placeholder="Reason (optional)" aria-label="Reason for the action" maxlength="500" size="22">
  </form>
</header>
<main>
<p id="message" role="status" aria-live="polite"></p>
<div id="live">${raw(renderLive(status))}</div>
</main>
<script nonce="${nonce}">${raw(CLIENT_SCRIPT)}</script>
</body>
</html>
`.html;
}

/** Headers for the page: strict CSP (only our nonce'd inline style/script, fetches to self). */
export function dashboardHeaders(nonce: string): Record<string, string> {
  return {
    "Content-Security-Policy": [
      "default-src 'none'",
      `script-src 'nonce-${nonce}'`,
      `style-src 'nonce-${nonce}'`,
      "connect-src 'self'",
      "img-src 'self' data:",
      "base-uri 'none'",
      "form-action 'none'",
      "frame-ancestors 'none'",
    ].join("; "),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
  };
}
