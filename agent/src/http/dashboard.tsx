/** @jsxRuntime automatic @jsxImportSource hono/jsx */
// The pragma (not only tsconfig) makes tsx compile this file right from any working directory.
/**
 * `GET /`: one self-contained HTML page (inline CSS and JS under a nonce-based CSP, no external
 * assets, no build step), and `GET /dashboard/live`: the part of it that changes, as an HTML
 * fragment. Both come from the components below, the only renderer of the dashboard: the page's
 * small script (dashboard.client.js) swaps the fragment in every few seconds and after each
 * action. hono/jsx escapes every dynamic string in text and attributes.
 */
import type { Child } from "hono/jsx";
import type { FleetView } from "../plan/fleet-view.ts";
import { digestCell } from "../text/digest.ts";
import type { AgentStatusView, BotView, RolloutProgress, RolloutView } from "./control.ts";
import { CLIENT_SCRIPT } from "./dashboard-client.ts";
import { FleetSection } from "./dashboard-fleet.tsx";

export const REFRESH_SECONDS = 5;
/** Where the page fetches its live part from. */
export const LIVE_PATH = "/dashboard/live";

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

const Badge = ({ word }: { word: string }) => <span class={`badge ${tone(word)}`}>{word}</span>;

/** A short digest; the full one on hover. */
const Digest = ({ digest, full = true }: { digest: string | null | undefined; full?: boolean }) => (
  <code title={full ? (digest ?? "") : undefined}>{digestCell(digest)}</code>
);

interface ActionButtonProps {
  action: string;
  id?: string;
  class?: string;
  children: Child;
}

const ActionButton = ({ action, id, class: cls, children }: ActionButtonProps) => (
  <button type="button" class={cls} data-action={action} data-id={id}>
    {children}
  </button>
);

function progressSummary(progress: RolloutProgress | undefined): string {
  if (!progress) return "not started here";
  const counts = new Map<string, number>();
  for (const bot of Object.values(progress.bots)) counts.set(bot.result, (counts.get(bot.result) ?? 0) + 1);
  const parts = [...counts.entries()].map(([result, n]) => `${n} ${result}`);
  return [`waves done ${progress.wavesDone}`, ...parts].join(" · ");
}

function LastUpdate({ bot }: { bot: BotView }) {
  const last = bot.last;
  if (!last) return <span class="muted">no update yet</span>;
  return (
    <>
      <Badge word={last.result} /> <span class="muted">{formatTime(last.at)}</span>
      <div class="small">
        <Digest digest={last.from} full={false} /> → <Digest digest={last.to} full={false} />
        {last.actor ? ` by ${last.actor}` : ""}
      </div>
      {last.reason ? <div class="small reason">{last.reason}</div> : ""}
    </>
  );
}

function ErrorBanner({ status }: { status: AgentStatusView }) {
  const error = status.lastError;
  if (!error) return null;
  return (
    <div class="error" role="alert">
      <strong>Last error ({error.source})</strong> · {formatTime(error.at)}
      <div>{error.message}</div>
    </div>
  );
}

const FleetBar = ({ status }: { status: AgentStatusView }) => (
  <div class="bar">
    <span>
      Fleet <Badge word={status.paused ? "paused" : "active"} />
    </span>
    <span class="muted">
      commit <code>{status.observedCommit ? status.observedCommit.slice(0, 12) : "none"}</code>
    </span>
    <span class="muted">last reconcile {formatTime(status.lastReconcileAt)}</span>
    <span class="spacer"></span>
    {status.paused ? (
      <ActionButton action="fleet-resume">Resume fleet</ActionButton>
    ) : (
      <ActionButton action="fleet-pause">Pause fleet</ActionButton>
    )}{" "}
    <ActionButton action="reconcile">Reconcile now</ActionButton>
  </div>
);

interface TableProps {
  id: string;
  title: string;
  count: number;
  headers: string[];
  /** Shown in a single row when there are no rows. */
  empty: string;
  rows: Child[];
}

const Table = ({ id, title, count, headers, empty, rows }: TableProps) => (
  <section>
    <h2>
      {title} <span class="count">{count}</span>
    </h2>
    <table id={id}>
      <thead>
        <tr>
          {headers.map((h) => (
            <th>{h}</th>
          ))}
        </tr>
      </thead>
      <tbody>
        {rows.length > 0 ? (
          rows
        ) : (
          <tr>
            <td colspan={headers.length} class="muted">
              {empty}
            </td>
          </tr>
        )}
      </tbody>
    </table>
  </section>
);

function WaitingTable({ status }: { status: AgentStatusView }) {
  const waiting = status.bots.filter((b) => b.updateAvailable);
  if (waiting.length === 0) return null;
  return (
    <Table
      id="waiting"
      title="Waiting for “Update now”"
      count={waiting.length}
      headers={["Bot", "Tenant", "Digest", "Rollout", ""]}
      empty=""
      rows={waiting.map((b) => (
        <tr data-bot={b.id}>
          <td>
            <strong>{b.id}</strong>
          </td>
          <td>{b.tenant}</td>
          <td>
            <Digest digest={b.digest} /> → <Digest digest={b.updateAvailable?.digest} />
          </td>
          <td>
            <code>{b.updateAvailable?.rollout}</code>
          </td>
          <td>
            <ActionButton action="update-bot" id={b.id} class="primary">
              Update now
            </ActionButton>
          </td>
        </tr>
      ))}
    />
  );
}

const BotsTable = ({ status }: { status: AgentStatusView }) => (
  <Table
    id="bots"
    title="Bots"
    count={status.bots.length}
    headers={["Bot", "Tenant", "Digest", "State", "Last update", ""]}
    empty="No bots on this host."
    rows={status.bots.map((b) => (
      <tr data-bot={b.id}>
        <td>
          <strong>{b.id}</strong>
        </td>
        <td>
          {b.tenant} <Badge word={b.updateMode} />
        </td>
        <td>
          <Digest digest={b.digest} />
        </td>
        <td>
          <Badge word={b.state} />
        </td>
        <td>
          <LastUpdate bot={b} />
        </td>
        <td>
          <ActionButton action="bot-rollback" id={b.id} class="danger">
            Roll back
          </ActionButton>
        </td>
      </tr>
    ))}
  />
);

function RolloutButtons({ rollout }: { rollout: RolloutView }) {
  const state = rollout.control.state;
  if (state === "aborted") return <span class="muted">final</span>;
  return (
    <>
      {state === "active" ? (
        <ActionButton action="rollout-pause" id={rollout.id}>
          Pause
        </ActionButton>
      ) : (
        <ActionButton action="rollout-resume" id={rollout.id}>
          Resume
        </ActionButton>
      )}{" "}
      <ActionButton action="rollout-abort" id={rollout.id} class="danger">
        Abort
      </ActionButton>
    </>
  );
}

function RolloutRow({ rollout: r }: { rollout: RolloutView }) {
  const changedBy = [r.control.by, r.control.reason].filter(Boolean).join(": ");
  return (
    <tr data-rollout={r.id}>
      <td>
        <code>{r.id}</code>
        <div class="small muted">
          {r.strategy} · {r.targets.onThisHost}/{r.targets.total} bots here
        </div>
      </td>
      <td>
        {r.image}
        <div class="small">
          <Digest digest={r.digest} />
        </div>
      </td>
      <td>
        <Badge word={r.control.state} />
        {changedBy ? <div class="small muted">{changedBy}</div> : ""}
      </td>
      <td>
        {r.progress ? <Badge word={r.progress.state} /> : ""}
        <div class="small muted">{progressSummary(r.progress)}</div>
      </td>
      <td>
        <RolloutButtons rollout={r} />
      </td>
    </tr>
  );
}

const RolloutsTable = ({ status }: { status: AgentStatusView }) => (
  <Table
    id="rollouts"
    title="Rollouts"
    count={status.rollouts.length}
    headers={["Rollout", "Image", "Control", "This host", ""]}
    empty="No rollout plans in fleet-state."
    rows={status.rollouts.map((r) => <RolloutRow rollout={r} />)}
  />
);

/** Everything under #live: what changes with the agent's status, and the fleet-wide view. */
export const Live = ({ status, fleet }: { status: AgentStatusView; fleet?: FleetView | undefined }) => (
  <>
    <ErrorBanner status={status} />
    <FleetBar status={status} />
    <WaitingTable status={status} />
    <BotsTable status={status} />
    <RolloutsTable status={status} />
    {fleet ? <FleetSection fleet={fleet} self={status.host} /> : ""}
  </>
);

/** The body of `GET /dashboard/live`. */
export function renderLive(status: AgentStatusView, fleet?: FleetView): string {
  return (<Live status={status} fleet={fleet} />).toString();
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
  /** Every host's bots and rollouts (from the status refs), when the agent offers it. */
  fleet?: FleetView | undefined;
  branch: string;
  /** Per-response CSP nonce for the inline style and script. */
  nonce: string;
}

const Page = ({ status, fleet, branch, nonce }: DashboardInput) => (
  <html lang="en">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <link rel="icon" href="data:," />
      <title>Fleetwave · {status.host}</title>
      <style nonce={nonce} dangerouslySetInnerHTML={{ __html: STYLE }} />
    </head>
    <body data-refresh-seconds={REFRESH_SECONDS} data-live-url={LIVE_PATH}>
      <header>
        <h1>
          Fleetwave <span class="host">{status.host}</span>
        </h1>
        <span class="muted">
          branch <code>{branch}</code>
        </span>
        <span id="refreshed" class="muted">
          rendered {formatTime(new Date().toISOString())}
        </span>
        <form id="auth" autocomplete="off">
          <span id="who" class="muted">
            No token: actions are disabled.
          </span>
          <input id="token" type="password" placeholder="API token" aria-label="API token" size={18} />
          <button type="submit" id="use-token">
            Use token
          </button>
          <button type="button" id="forget-token">
            Forget
          </button>
          <input
            id="reason"
            type="text"
            placeholder="Reason (optional)"
            aria-label="Reason for the action"
            maxlength={500}
            size={22}
          />
        </form>
      </header>
      <main>
        <p id="message" role="status" aria-live="polite"></p>
        <div id="live">
          <Live status={status} fleet={fleet} />
        </div>
      </main>
      <script nonce={nonce} dangerouslySetInnerHTML={{ __html: CLIENT_SCRIPT }} />
    </body>
  </html>
);

export function renderDashboard(input: DashboardInput): string {
  return `<!doctype html>\n${(<Page {...input} />).toString()}\n`;
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

/** Headers for the live fragment: never cached, never run as a page of its own. */
export function fragmentHeaders(): Record<string, string> {
  return {
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
  };
}
