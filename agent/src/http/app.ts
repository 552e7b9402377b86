/**
 * The agent's HTTP API (docs/contracts.md "Agent HTTP API") as a Hono app over an {@link AgentControl}.
 *
 * - What each token role may do is decided in access.ts (README "Security model"). On loopback,
 *   GET routes answer without a token; with `remote`, every route needs one. Every POST under
 *   /api needs `Authorization: Bearer <token>` and the token's name becomes the actor of the action.
 * - The GitHub webhook and the tenant links (link-routes.ts) carry their own HMAC instead.
 * - Errors are JSON: `{ error, issues?: [{ path, message }] }`.
 * - On loopback, requests whose Host is not a loopback name are refused (DNS-rebinding guard)
 *   unless `allowedHosts` says otherwise; the webhook, the links and /healthz are exempt.
 */
import { randomBytes } from "node:crypto";
import { type Context, Hono, type MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { methodNotAllowed } from "hono/method-not-allowed";
import { matchedRoutes } from "hono/route";
import { z } from "zod";
import { FleetwaveError } from "../errors.ts";
import { digest, dockerName, rolloutId } from "../model/primitives.ts";
import { type Decision, decide, type Need, tenantOwnsBot, tenantStatus } from "./access.ts";
import type { ActionResult, AgentControl, RolloutControlState } from "./control.ts";
import { dashboardHeaders, fragmentHeaders, LIVE_PATH, renderDashboard, renderLive } from "./dashboard.tsx";
import { type LinkOptions, linkRoutes } from "./link-routes.ts";
import { HttpCounters, METRICS_CONTENT_TYPE, renderMetrics } from "./metrics.ts";
import { type ApiToken, type Principal, TokenVerifier } from "./tokens.ts";
import {
  looksSigned,
  pushEventSchema,
  RecentDeliveries,
  verifyGitHubSignature,
  WEBHOOK_SECRET_ENV,
  webhookPayloadText,
} from "./webhook.ts";

/** `GET /api/status?scope=host|fleet`: this host only (default), or with every host's view. */
const statusScope = z.enum(["host", "fleet"]);

export interface AppOptions {
  /** Parsed FLEETWAVE_API_TOKENS (see parseApiTokens). Empty: every mutating route answers 503. */
  tokens: readonly ApiToken[];
  /** FLEETWAVE_WEBHOOK_SECRET. Unset or empty: POST /webhooks/github answers 503. */
  webhookSecret?: string | undefined;
  /**
   * Host names (without port) accepted in the Host header besides loopback ones, or "any" to
   * accept every host (use when serving behind a reverse proxy with allowRemote). Default: [].
   */
  allowedHosts?: readonly string[] | "any";
  /**
   * The agent listens beyond loopback (`--allow-remote`): every route needs a token (the webhook
   * and tenant links their signature) and the Host header is not checked. Default false.
   */
  remote?: boolean;
  /** One-click tenant links; without it their route answers 404. */
  links?: LinkOptions;
  /** Largest webhook payload accepted. Default {@link WEBHOOK_BODY_LIMIT_BYTES}. */
  webhookBodyLimitBytes?: number;
  /** Where unexpected errors are reported. Default: console.error. */
  log?: (line: string) => void;
}

type Env = { Variables: { actor: string; scope: string | undefined } };
export type FleetwaveApp = Hono<Env>;

export interface Issue {
  path: string;
  message: string;
}

export const MAX_REASON_LENGTH = 500;
export const API_BODY_LIMIT_BYTES = 16 * 1024;
/** GitHub caps webhook payloads at 25 MB. */
export const WEBHOOK_BODY_LIMIT_BYTES = 25 * 1024 * 1024;

/** Body of every mutating route. A reason ends up in a commit message, so it is one plain line. */
export const actionBodySchema = z.strictObject({
  reason: z
    .string()
    .trim()
    .min(1, { message: "reason cannot be empty (leave it out instead)" })
    .max(MAX_REASON_LENGTH, { message: `reason must be at most ${MAX_REASON_LENGTH} characters` })
    // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
    .regex(/^[^\u0000-\u001f\u007f]*$/, {
      message: "reason must be a single line without control characters",
    })
    .optional(),
});
export type ActionBody = z.output<typeof actionBodySchema>;

/** `POST /api/bots/:id/rollback`: without `to`, the last digest the bot ran healthily. */
export const rollbackBodySchema = actionBodySchema.extend({ to: digest.optional() });

const botIdParam = dockerName("bot id");
const rolloutIdParam = rolloutId;

function issuesOf(error: z.ZodError, prefix: string): Issue[] {
  return error.issues.map((issue) => ({
    path: [prefix, ...issue.path.map(String)].join("."),
    message: issue.message,
  }));
}

function badRequest(c: Context, error: string, issues: Issue[] = []) {
  return c.json({ error, issues }, 400);
}

function isLoopbackHost(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/^\[|\]$/g, "");
  return (
    h === "localhost" ||
    h.endsWith(".localhost") ||
    h === "::1" ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) ||
    /^::ffff:127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h)
  );
}

/** The registered route (not middleware) that answered, for metric labels. */
function routeLabel(c: Context): string {
  const routes = matchedRoutes(c).filter((r) => r.method !== "ALL");
  return routes.at(-1)?.path ?? "unmatched";
}

export function createApp(control: AgentControl, options: AppOptions): FleetwaveApp {
  const verifier = new TokenVerifier(options.tokens);
  const webhookSecret = options.webhookSecret ? options.webhookSecret : undefined;
  const remote = options.remote ?? false;
  const allowedHosts = remote ? "any" : (options.allowedHosts ?? []);
  const log = options.log ?? ((line: string) => console.error(line));
  const counters = new HttpCounters();
  const deliveries = new RecentDeliveries();
  const webhookLimit = options.webhookBodyLimitBytes ?? WEBHOOK_BODY_LIMIT_BYTES;
  const app = new Hono<Env>();

  app.use(async (c, next) => {
    await next();
    counters.countRequest(c.req.method, routeLabel(c), c.res.status);
  });

  app.use(async (c, next) => {
    const path = c.req.path;
    if (
      allowedHosts === "any" ||
      path === "/healthz" ||
      path === "/webhooks/github" ||
      path.startsWith("/links/")
    )
      return next();
    const hostname = new URL(c.req.url).hostname;
    if (isLoopbackHost(hostname) || allowedHosts.includes(hostname.toLowerCase())) return next();
    return c.json(
      {
        error: `Host "${hostname}" is not allowed: this agent only answers to loopback names (list other names in allowedHosts)`,
      },
      403,
    );
  });

  app.use(
    methodNotAllowed({
      app,
      onMethodNotAllowed: (c, methods) =>
        c.json(
          { error: `method ${c.req.method} not allowed on ${c.req.path}; use ${methods.join(", ")}` },
          405,
          {
            Allow: methods.join(", "),
          },
        ),
    }),
  );

  /** The bearer token's holder, nobody (no header), or the answer for a bad header or token. */
  function principalOf(c: Context<Env>): Principal | undefined | Response {
    const header = c.req.header("authorization");
    // Without tokens nobody can hold one: the request is nobody's, and refuse() says how to add them.
    if (header === undefined || !verifier.configured) return undefined;
    const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
    if (!match) {
      return c.json({ error: "malformed Authorization header: expected Bearer <token>" }, 401, {
        "WWW-Authenticate": 'Bearer realm="fleetwave", error="invalid_request"',
      });
    }
    const principal = verifier.verify(match[1]!);
    if (principal === undefined) return c.json({ error: "invalid token" }, 403);
    return principal;
  }

  function refuse(c: Context<Env>, decision: Extract<Decision, { allow: false }>) {
    if (decision.status === 401 && !verifier.configured) {
      return c.json(
        { error: "the API is read-only: no tokens are configured (set FLEETWAVE_API_TOKENS=name:token,...)" },
        503,
      );
    }
    const headers: Record<string, string> =
      decision.status === 401 ? { "WWW-Authenticate": 'Bearer realm="fleetwave"' } : {};
    return c.json({ error: decision.message }, decision.status, headers);
  }

  /** Lets the request through when its token (or, on loopback, its lack of one) may `need`. */
  const authorize =
    (need: Need): MiddlewareHandler<Env> =>
    async (c, next) => {
      const principal = principalOf(c);
      if (principal instanceof Response) return principal;
      const decision = decide(principal, need, remote);
      if (!decision.allow) return refuse(c, decision);
      if (principal) c.set("actor", principal.name);
      c.set("scope", decision.scope);
      return next();
    };

  const apiBodyLimit = bodyLimit({
    maxSize: API_BODY_LIMIT_BYTES,
    onError: (c) => c.json({ error: `request body larger than ${API_BODY_LIMIT_BYTES} bytes` }, 413),
  });

  /** Parses the (optional) JSON body of a mutating route; a Response means "answer this". */
  async function actionBody<S extends typeof actionBodySchema | typeof rollbackBodySchema>(
    c: Context<Env>,
    schema: S = actionBodySchema as S,
  ): Promise<z.output<S> | Response> {
    const text = await c.req.text();
    let value: unknown = {};
    if (text.trim() !== "") {
      try {
        value = JSON.parse(text);
      } catch {
        return badRequest(c, 'request body must be JSON, e.g. {} or {"reason": "..."}');
      }
    }
    const parsed = schema.safeParse(value);
    if (!parsed.success) return badRequest(c, "invalid request body", issuesOf(parsed.error, "body"));
    return parsed.data as z.output<S>;
  }

  function param<S extends z.ZodType>(c: Context<Env>, schema: S): z.output<S> | Response {
    const parsed = schema.safeParse(c.req.param("id"));
    if (!parsed.success) return badRequest(c, "invalid id in the URL", issuesOf(parsed.error, "params.id"));
    return parsed.data;
  }

  function answer(c: Context<Env>, result: ActionResult) {
    if (!result.ok) return c.json({ error: result.message }, result.status);
    const body: { message: string; commit?: string; pending?: boolean } = { message: result.message };
    if (result.commit !== undefined) body.commit = result.commit;
    if (result.pending) body.pending = true;
    return c.json(body, result.pending ? 202 : 200);
  }

  app.get("/healthz", authorize("health"), (c) => c.json({ status: "ok", host: control.host }));

  app.get("/", authorize("read"), (c) => {
    const nonce = randomBytes(16).toString("base64");
    const page = renderDashboard({
      status: control.status(),
      fleet: control.fleet?.(),
      branch: control.watchedBranch,
      nonce,
    });
    return c.html(page, 200, dashboardHeaders(nonce));
  });

  app.get(LIVE_PATH, authorize("read"), (c) =>
    c.html(renderLive(control.status(), control.fleet?.()), 200, fragmentHeaders()),
  );

  app.get("/metrics", authorize("read"), async (c) => {
    const text = await renderMetrics({
      status: control.status(),
      metrics: control.metrics(),
      http: counters,
    });
    return c.body(text, 200, { "Content-Type": METRICS_CONTENT_TYPE, "Cache-Control": "no-store" });
  });

  app.get("/api/status", authorize("status"), (c) => {
    const scope = statusScope.safeParse(c.req.query("scope") ?? "host");
    if (!scope.success) return c.json({ error: "scope must be host or fleet" }, 400);
    const tenant = c.get("scope");
    if (tenant !== undefined) {
      // A tenant token sees its own bots, never the fleet.
      if (scope.data === "fleet") return c.json({ error: `this token may only read tenant ${tenant}` }, 403);
      return c.json(tenantStatus(control.status(), tenant));
    }
    if (scope.data === "host") return c.json(control.status());
    return c.json({ ...control.status(), fleet: control.fleet?.() ?? { hosts: [], rollouts: [] } });
  });

  app.get("/api/rollouts", authorize("read"), (c) => c.json({ rollouts: control.status().rollouts }));

  app.get("/api/rollouts/:id", authorize("read"), (c) => {
    const id = param(c, rolloutIdParam);
    if (id instanceof Response) return id;
    const rollout = control.rollout(id);
    if (!rollout) return c.json({ error: `no rollout ${id} in the current fleet-state` }, 404);
    return c.json(rollout);
  });

  /** Who the presented token belongs to; lets the dashboard check a pasted token. */
  app.get("/api/whoami", authorize("whoami"), (c) => c.json({ actor: c.get("actor") }));

  app.post("/api/bots/:id/update", authorize("update-bot"), apiBodyLimit, async (c) => {
    const id = param(c, botIdParam);
    if (id instanceof Response) return id;
    const scope = c.get("scope");
    if (scope !== undefined && !tenantOwnsBot(control.status(), scope, id)) {
      return c.json({ error: `this token may only update the bots of tenant ${scope}` }, 403);
    }
    const body = await actionBody(c);
    if (body instanceof Response) return body;
    return answer(c, await control.updateBotNow(id, c.get("actor")));
  });

  app.post("/api/bots/:id/rollback", authorize("operate"), apiBodyLimit, async (c) => {
    const id = param(c, botIdParam);
    if (id instanceof Response) return id;
    const body = await actionBody(c, rollbackBodySchema);
    if (body instanceof Response) return body;
    return answer(
      c,
      await control.rollbackBot(id, c.get("actor"), {
        ...(body.to ? { to: body.to } : {}),
        ...(body.reason ? { reason: body.reason } : {}),
      }),
    );
  });

  const controlRoutes: [string, RolloutControlState][] = [
    ["pause", "paused"],
    ["resume", "active"],
    ["abort", "aborted"],
  ];
  for (const [verb, state] of controlRoutes) {
    app.post(`/api/rollouts/:id/${verb}`, authorize("operate"), apiBodyLimit, async (c) => {
      const id = param(c, rolloutIdParam);
      if (id instanceof Response) return id;
      const body = await actionBody(c);
      if (body instanceof Response) return body;
      return answer(c, await control.setRolloutControl(id, state, c.get("actor"), body.reason));
    });
  }

  for (const [verb, paused] of [
    ["pause", true],
    ["resume", false],
  ] as const) {
    app.post(`/api/${verb}`, authorize("operate"), apiBodyLimit, async (c) => {
      const body = await actionBody(c);
      if (body instanceof Response) return body;
      return answer(c, await control.setFleetPaused(paused, c.get("actor"), body.reason));
    });
  }

  app.post("/api/reconcile", authorize("operate"), apiBodyLimit, async (c) => {
    const body = await actionBody(c);
    if (body instanceof Response) return body;
    const reason = `api request by ${c.get("actor")}${body.reason ? `: ${body.reason}` : ""}`;
    control.requestReconcile(reason);
    return c.json({ message: "reconcile requested", pending: true }, 202);
  });

  app.post(
    "/webhooks/github",
    // Refuse what cannot be a signed delivery before a byte of its body is read.
    async (c, next) => {
      if (!webhookSecret) {
        counters.countWebhook("rejected");
        return c.json(
          { error: `webhooks are disabled on this agent: set ${WEBHOOK_SECRET_ENV} to the webhook's secret` },
          503,
        );
      }
      if (!looksSigned(c.req.header("x-hub-signature-256"))) {
        counters.countWebhook("rejected");
        return c.json({ error: "missing or malformed X-Hub-Signature-256" }, 401);
      }
      return next();
    },
    // Refuses a declared Content-Length over the limit at once, and stops reading a stream at it.
    bodyLimit({
      maxSize: webhookLimit,
      onError: (c) => {
        counters.countWebhook("invalid");
        return c.json({ error: `webhook payload larger than ${webhookLimit} bytes` }, 413);
      },
    }),
    async (c) => {
      const raw = new Uint8Array(await c.req.arrayBuffer());
      if (!verifyGitHubSignature(webhookSecret!, raw, c.req.header("x-hub-signature-256"))) {
        counters.countWebhook("rejected");
        return c.json({ error: "invalid X-Hub-Signature-256 (is the webhook's secret the agent's?)" }, 401);
      }
      // Remembered only once signed, so nobody can block a delivery id in advance.
      const delivery = c.req.header("x-github-delivery");
      if (delivery !== undefined && !deliveries.remember(delivery.slice(0, 100))) {
        counters.countWebhook("replay");
        return c.json(
          { replay: true, ignored: `delivery ${delivery.slice(0, 100)} was already received` },
          200,
        );
      }
      const event = c.req.header("x-github-event");
      if (!event) {
        counters.countWebhook("invalid");
        return badRequest(c, "missing X-GitHub-Event header");
      }
      if (event === "ping") {
        counters.countWebhook("ping");
        return c.json({ pong: true, host: control.host });
      }
      if (event !== "push") {
        counters.countWebhook("ignored");
        return c.json({ ignored: `event "${event}" (only push events trigger a reconcile)` }, 202);
      }
      const text = webhookPayloadText(raw, c.req.header("content-type"));
      let json: unknown;
      try {
        json = text === undefined ? undefined : JSON.parse(text);
      } catch {
        json = undefined;
      }
      if (json === undefined) {
        counters.countWebhook("invalid");
        return badRequest(c, "push payload must be JSON");
      }
      const push = pushEventSchema.safeParse(json);
      if (!push.success) {
        counters.countWebhook("invalid");
        return badRequest(c, "invalid push payload", issuesOf(push.error, "payload"));
      }
      const watched = `refs/heads/${control.watchedBranch}`;
      if (push.data.ref !== watched) {
        counters.countWebhook("ignored");
        return c.json({ ignored: `push to ${push.data.ref} (watching ${watched})` }, 202);
      }
      if (push.data.deleted) {
        counters.countWebhook("ignored");
        return c.json({ ignored: `${watched} was deleted` }, 202);
      }
      const reason = `github push ${push.data.after}`;
      control.requestReconcile(reason);
      counters.countWebhook("reconcile");
      return c.json({ accepted: true, reconcile: reason }, 202);
    },
  );

  app.route("/", linkRoutes(control, options.links));

  app.notFound((c) => c.json({ error: `no route for ${c.req.method} ${c.req.path}` }, 404));

  app.onError((error, c) => {
    if (error instanceof FleetwaveError) {
      log(`fleetwave http: ${c.req.method} ${c.req.path}: ${error.message}`);
      return c.json({ error: error.message }, 500);
    }
    log(`fleetwave http: ${c.req.method} ${c.req.path}: ${error.stack ?? String(error)}`);
    return c.json({ error: "internal error (see the agent log)" }, 500);
  });

  return app;
}
