/** @jsxRuntime automatic @jsxImportSource hono/jsx */
/**
 * The pages a tenant sees from an emailed "Update now" link: the confirmation (bot, version
 * change, changelog, one button), the answer after it, and the refusal of a link that cannot act.
 * Server-rendered with no script at all; hono/jsx escapes every dynamic string. Tenants see their
 * bot and versions, never a host name, a full digest or an internal reason.
 */

import type { UserChangelog } from "../model/rollout.ts";
import { changelogSections } from "../notify/email-parts.ts";

const STYLE = `
body { font: 15px/1.5 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #1f2328; max-width: 640px; margin: 40px auto; padding: 0 16px; }
h1 { font-size: 22px; } h2 { font-size: 17px; margin-top: 24px; } h3 { font-size: 15px; margin: 16px 0 4px; }
.change { font-size: 17px; } .muted { color: #59636e; }
button { font: inherit; padding: 8px 20px; background: #1f6feb; color: #fff; border: 0; border-radius: 6px; cursor: pointer; }
.refused { border-left: 4px solid #cf222e; padding-left: 12px; } .done { border-left: 4px solid #1a7f37; padding-left: 12px; }
`;

interface Frame {
  nonce: string;
  title: string;
}

const Layout = ({ nonce, title, children }: Frame & { children: unknown }) => (
  <html lang="en">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <meta name="robots" content="noindex" />
      <title>{title}</title>
      <style nonce={nonce} dangerouslySetInnerHTML={{ __html: STYLE }} />
    </head>
    <body>
      {children}
      <p class="muted">Sent by Fleetwave on behalf of your administrator.</p>
    </body>
  </html>
);

function Changelog({ changelog }: { changelog: UserChangelog | undefined }) {
  if (!changelog) return <p class="muted">No changelog was published for this version.</p>;
  const sections = changelogSections(changelog);
  return (
    <section id="changelog">
      <h2>
        What's new in {changelog.version} <span class="muted">({changelog.date})</span>
      </h2>
      {sections.length === 0 ? <p>Maintenance changes only.</p> : ""}
      {sections.map((s) => (
        <>
          <h3>{s.title}</h3>
          <ul>
            {s.items.map((item) => (
              <li>{item}</li>
            ))}
          </ul>
        </>
      ))}
    </section>
  );
}

export interface ConfirmPageInput {
  nonce: string;
  bot: string;
  fromVersion: string;
  toVersion: string;
  changelog: UserChangelog | undefined;
  /** The link's own fields, sent back with the form. */
  fields: Record<string, string>;
  csrf: string;
  /** When the link stops working, as people read it. */
  expires: string;
}

export function renderConfirmPage(input: ConfirmPageInput): string {
  const title = `Update ${input.bot}`;
  return `<!doctype html>${(
    (
      <Layout nonce={input.nonce} title={title}>
        <h1>Update {input.bot}?</h1>
        <p class="change" id="change">
          <strong>{input.fromVersion}</strong> → <strong>{input.toVersion}</strong>
        </p>
        <p>
          The update takes a minute or two and restarts your bot. If the new version does not start correctly,
          your bot is put back on the current version automatically, with its data as it was.
        </p>
        <Changelog changelog={input.changelog} />
        <form method="post">
          {Object.entries(input.fields).map(([name, value]) => (
            <input type="hidden" name={name} value={value} />
          ))}
          <input type="hidden" name="csrf" value={input.csrf} />
          <p>
            <button type="submit" id="confirm">
              Update {input.bot} now
            </button>
          </p>
        </form>
        <p class="muted">This link works once, until {input.expires}.</p>
      </Layout>
    )
  ).toString()}`;
}

export interface OutcomePageInput {
  nonce: string;
  kind: "done" | "refused";
  title: string;
  message: string;
}

export function renderOutcomePage(input: OutcomePageInput): string {
  return `<!doctype html>${(
    (
      <Layout nonce={input.nonce} title={input.title}>
        <div class={input.kind} id="outcome">
          <h1>{input.title}</h1>
          <p>{input.message}</p>
        </div>
      </Layout>
    )
  ).toString()}`;
}

/** A strict CSP: only our nonce'd style, no script, forms post back to this origin only. */
export function linkPageHeaders(nonce: string): Record<string, string> {
  return {
    "Content-Security-Policy": [
      "default-src 'none'",
      `style-src 'nonce-${nonce}'`,
      "base-uri 'none'",
      "form-action 'self'",
      "frame-ancestors 'none'",
    ].join("; "),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    // The link's query is its credential: never send it on to another site. (Not no-referrer:
    // with it Chromium sends `Origin: null` on the form post, which the origin check refuses.)
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
  };
}
