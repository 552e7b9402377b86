/**
 * `GET /links/update?…&sig=…`: the page a manual tenant's "Update now" link opens, and
 * `POST /links/update`: its confirm button. The link's HMAC is its only credential (no token);
 * the POST must also come from this origin with the CSRF token the page set. The link acts
 * through the same {@link AgentControl.updateBotNow} as the dashboard, as `tenant:<tenant>`, and
 * only on the exact offer it names, once. Every refusal is a page that says why and changes nothing.
 */
import { randomBytes, timingSafeEqual } from "node:crypto";
import { type Context, Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { getCookie, setCookie } from "hono/cookie";
import { checkLink, LINK_PATH, type LinkCheck, type LinkClaims } from "../links/tenant-link.ts";
import type { UsedLinkStore } from "../links/used-links.ts";
import { shortDigest } from "../text/digest.ts";
import type { AgentControl, BotView } from "./control.ts";
import { linkPageHeaders, renderConfirmPage, renderOutcomePage } from "./link-page.tsx";

export interface LinkOptions {
  /** FLEETWAVE_LINK_KEY. */
  key: string;
  /** Links already used (durable: `<data-dir>/used-links.json`). */
  used: UsedLinkStore;
  /** The agent's public URL (`--public-url`): its origin is the one the confirm form posts from. */
  publicUrl?: string;
  /** Injectable clock for tests. */
  now?: () => number;
}

const CSRF_COOKIE = "fleetwave_link_csrf";
const FORM_LIMIT_BYTES = 4096;
const LINK_FIELDS = ["tenant", "bot", "rollout", "digest", "expires", "sig"] as const;

type Refusal = { status: 400 | 403 | 404 | 409 | 410 | 423 | 503; title: string; message: string };

function formatExpiry(expires: number): string {
  return `${new Date(expires * 1000).toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

const ASK_ADMIN = "If you still want to update, ask your administrator for a new link.";

function refusalFor(check: Exclude<LinkCheck, { ok: true }>): Refusal {
  switch (check.problem) {
    case "malformed":
      return {
        status: 400,
        title: "This link is incomplete",
        message: `Part of the link is missing or damaged. Copy the whole link from the email into your browser. ${ASK_ADMIN}`,
      };
    case "altered":
      return {
        status: 403,
        title: "This link is not valid",
        message: `The link was changed after it was sent, or it was not sent by this Fleetwave agent. Nothing was updated. ${ASK_ADMIN}`,
      };
    case "expired":
      return {
        status: 410,
        title: "This link has expired",
        message: `The link stopped working on ${formatExpiry(check.claims!.expires)}. Nothing was updated. ${ASK_ADMIN}`,
      };
  }
}

const USED: Refusal = {
  status: 410,
  title: "This link was already used",
  message: "Each link works once, and this one was used already. Nothing was changed now.",
};

const SUPERSEDED: Refusal = {
  status: 409,
  title: "This update is no longer offered",
  message:
    "Your bot was updated already, a newer version was planned since this email was sent, or the update was withdrawn. Nothing was changed. A newer offer comes with its own email.",
};

/** The link routes, mounted at the root of the agent's app. */
export function linkRoutes(control: AgentControl, options: LinkOptions | undefined): Hono {
  const app = new Hono();
  /** Links being confirmed right now: a second click waits for no one and is refused. */
  const inFlight = new Set<string>();
  const now = options?.now ?? Date.now;

  function page(c: Context, refusal: Refusal) {
    const nonce = randomBytes(16).toString("base64");
    return c.html(
      renderOutcomePage({ nonce, kind: "refused", title: refusal.title, message: refusal.message }),
      refusal.status,
      linkPageHeaders(nonce),
    );
  }

  /** The link's bot while it still has exactly this offer, else why it cannot act. */
  function offered(
    opts: LinkOptions,
    fields: Record<string, string | undefined>,
  ): { claims: LinkClaims; signature: string; bot: BotView } | Refusal {
    const check = checkLink(opts.key, fields, now());
    if (!check.ok) {
      // A used link is reported as used even once expired, which is the more useful answer.
      if (check.problem === "expired" && fields.sig && opts.used.has(fields.sig)) return USED;
      return refusalFor(check);
    }
    if (opts.used.has(check.signature) || inFlight.has(check.signature)) return USED;
    const { claims } = check;
    const bot = control
      .status()
      .bots.find(
        (b) =>
          b.id === claims.bot &&
          b.tenant === claims.tenant &&
          b.updateAvailable?.rollout === claims.rollout &&
          b.updateAvailable.digest === claims.digest,
      );
    if (!bot) return SUPERSEDED;
    return { claims, signature: check.signature, bot };
  }

  function versionOf(digest: string | null, rollouts: readonly string[]): string {
    for (const id of rollouts) {
      const plan = control.rollout(id)?.plan;
      if (plan && plan.digest === digest && plan.changelog) return plan.changelog.version;
    }
    return digest ? shortDigest(digest) : "unknown";
  }

  app.get(LINK_PATH, (c) => {
    if (!options) return page(c, { status: 404, title: "Links are off", message: NOT_ENABLED });
    const fields = Object.fromEntries(LINK_FIELDS.map((f) => [f, c.req.query(f)]));
    const found = offered(options, fields);
    if ("status" in found) return page(c, found);
    const { claims, bot } = found;
    const plan = control.rollout(claims.rollout)?.plan;
    const csrf = randomBytes(32).toString("base64url");
    setCookie(c, CSRF_COOKIE, csrf, {
      path: "/links",
      httpOnly: true,
      sameSite: "Strict",
      secure: isHttps(options, c.req.url),
      maxAge: 3600,
    });
    const nonce = randomBytes(16).toString("base64");
    const html = renderConfirmPage({
      nonce,
      bot: bot.id,
      fromVersion: versionOf(
        bot.digest,
        control.status().rollouts.map((r) => r.id),
      ),
      toVersion: plan?.changelog?.version ?? shortDigest(claims.digest),
      changelog: plan?.changelog,
      fields: Object.fromEntries(LINK_FIELDS.map((f) => [f, fields[f]!])),
      csrf,
      expires: formatExpiry(claims.expires),
    });
    return c.html(html, 200, linkPageHeaders(nonce));
  });

  app.post(
    LINK_PATH,
    bodyLimit({
      maxSize: FORM_LIMIT_BYTES,
      onError: (c) => c.json({ error: `form larger than ${FORM_LIMIT_BYTES} bytes` }, 413),
    }),
    async (c) => {
      if (!options) return page(c, { status: 404, title: "Links are off", message: NOT_ENABLED });
      if (!sameOrigin(options, c)) return page(c, FOREIGN);
      const form = await c.req.parseBody().catch(() => ({}) as Record<string, unknown>);
      const field = (name: string) => (typeof form[name] === "string" ? (form[name] as string) : undefined);
      const cookie = getCookie(c, CSRF_COOKIE);
      const csrf = field("csrf");
      if (!cookie || !csrf || !equal(cookie, csrf)) return page(c, FOREIGN);
      const fields = Object.fromEntries(LINK_FIELDS.map((f) => [f, field(f)]));
      const found = offered(options, fields);
      if ("status" in found) return page(c, found);
      const { claims, signature } = found;
      inFlight.add(signature);
      try {
        const result = await control.updateBotNow(claims.bot, `tenant:${claims.tenant}`, {
          rollout: claims.rollout,
          digest: claims.digest,
        });
        if (!result.ok) return page(c, refusalOfAction(result.status, claims));
        await options.used.add({
          sig: signature,
          bot: claims.bot,
          rollout: claims.rollout,
          expires: claims.expires,
          at: new Date(now()).toISOString(),
        });
      } finally {
        inFlight.delete(signature);
      }
      const nonce = randomBytes(16).toString("base64");
      const plan = control.rollout(claims.rollout)?.plan;
      const version = plan?.changelog?.version ?? shortDigest(claims.digest);
      return c.html(
        renderOutcomePage({
          nonce,
          kind: "done",
          title: `Updating ${claims.bot}`,
          message: `Your bot ${claims.bot} is being updated to ${version}. This takes a minute or two; you get an email when it is done. If the new version does not start correctly, your bot goes back to its current version with its data as it was.`,
        }),
        202,
        linkPageHeaders(nonce),
      );
    },
  );
  return app;
}

const NOT_ENABLED = "This Fleetwave agent does not accept update links. Ask your administrator.";

const FOREIGN: Refusal = {
  status: 403,
  title: "Please confirm again",
  message:
    "The confirmation did not come from the page this link opened (or that page is too old). Open the link from the email again and press the button there. Nothing was updated.",
};

function refusalOfAction(status: 400 | 404 | 409 | 423 | 503, claims: LinkClaims): Refusal {
  switch (status) {
    case 423:
      return {
        status: 423,
        title: "Updates are paused right now",
        message: `Your administrator paused all updates for the moment. Nothing was changed; this link keeps working until ${formatExpiry(claims.expires)}.`,
      };
    case 503:
      return {
        status: 503,
        title: "Please try again shortly",
        message: `The update service is busy starting or stopping. Nothing was changed; try again in a minute (the link works until ${formatExpiry(claims.expires)}).`,
      };
    default:
      return SUPERSEDED;
  }
}

function isHttps(options: LinkOptions, requestUrl: string): boolean {
  return new URL(options.publicUrl ?? requestUrl).protocol === "https:";
}

/** The form was posted by a page of this agent: the Origin is ours (or the public URL's). */
function sameOrigin(options: LinkOptions, c: Context): boolean {
  const origin = c.req.header("origin");
  if (!origin) return false;
  const site = c.req.header("sec-fetch-site");
  if (site !== undefined && site !== "same-origin") return false;
  const ours = new Set([new URL(c.req.url).origin]);
  if (options.publicUrl) ours.add(new URL(options.publicUrl).origin);
  return ours.has(origin);
}

function equal(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
