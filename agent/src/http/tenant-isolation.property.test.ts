/**
 * A tenant's credentials — a `tenant=<id>` token or a signed link — never act on, or show, a bot
 * of another tenant: random fleets, random tenants, and random requests over every route
 * (including links altered towards, or signed for, other tenants' bots) against the real app.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { linkUrl } from "../links/tenant-link.ts";
import type { UsedLink, UsedLinkStore } from "../links/used-links.ts";
import { createApp } from "./app.ts";
import type { AgentStatusView, BotView } from "./control.ts";
import { fakeControl, ROLLOUT_ID } from "./fake-control.ts";
import { parseApiTokens } from "./tokens.ts";

const KEY = "property-link-key-0123456789abcdef";
const TOKEN = "tenant-token-0123456789";
const OPERATOR = "operator-token-0123456789";
const NOW = Date.parse("2026-11-28T00:00:00Z");
const digestOf = (c: string) => `sha256:${c.repeat(64)}`;
const OFFERED = digestOf("b");

class MemoryStore implements UsedLinkStore {
  readonly sigs = new Set<string>();
  has(sig: string) {
    return this.sigs.has(sig);
  }
  async add(entry: UsedLink) {
    this.sigs.add(entry.sig);
  }
}

// Bot ids `bot-<alnum>-x` cannot occur inside one another, so "the body names bot B" is a plain search.
const botIdArb = fc.stringMatching(/^[a-z0-9]{1,6}$/).map((s) => `bot-${s}-x`);
const tenantArb = fc.stringMatching(/^[a-z][a-z0-9]{0,5}$/).map((s) => `t${s}`);

const fleetArb = fc.uniqueArray(tenantArb, { minLength: 2, maxLength: 4 }).chain((tenants) =>
  fc.record({
    tenants: fc.constant(tenants),
    bots: fc.uniqueArray(
      fc.record({ id: botIdArb, tenant: fc.constantFrom(...tenants), offered: fc.boolean() }),
      { minLength: 2, maxLength: 8, selector: (b) => b.id },
    ),
    actor: fc.constantFrom(...tenants),
  }),
);

interface Fleet {
  tenants: string[];
  bots: { id: string; tenant: string; offered: boolean }[];
  /** The tenant whose token and links the requests use. */
  actor: string;
}

function statusOf(fleet: Fleet): AgentStatusView {
  const bots: BotView[] = fleet.bots.map((b) => ({
    id: b.id,
    tenant: b.tenant,
    digest: digestOf("a"),
    state: "running",
    updateMode: "manual",
    ...(b.offered ? { updateAvailable: { rollout: ROLLOUT_ID, digest: OFFERED } } : {}),
  }));
  return { host: "host-a", observedCommit: null, paused: false, bots, rollouts: [] };
}

/** One request a tenant could make: a route with its token, or a link (maybe altered). */
const requestArb = (fleet: Fleet) => {
  const anyBot = fc.oneof(fc.constantFrom(...fleet.bots.map((b) => b.id)), botIdArb);
  const anyTenant = fc.oneof(fc.constantFrom(...fleet.tenants), tenantArb);
  const own = fleet.bots.filter((b) => b.tenant === fleet.actor).map((b) => b.id);
  const ownBot = own.length > 0 ? fc.constantFrom(...own) : anyBot;
  const tokenRoute = fc.record({
    kind: fc.constant("token" as const),
    method: fc.constantFrom("GET", "POST"),
    path: fc.oneof(
      anyBot.map((b) => `/api/bots/${b}/update`),
      anyBot.map((b) => `/api/bots/${encodeURIComponent(b)}/update/`),
      anyBot.map((b) => `/api/bots/${b}/rollback`),
      fc.constantFrom(
        "/",
        "/dashboard/live",
        "/healthz",
        "/metrics",
        "/api/status",
        "/api/status?scope=fleet",
        "/api/whoami",
        "/api/rollouts",
        `/api/rollouts/${ROLLOUT_ID}`,
        `/api/rollouts/${ROLLOUT_ID}/pause`,
        `/api/rollouts/${ROLLOUT_ID}/resume`,
        `/api/rollouts/${ROLLOUT_ID}/abort`,
        "/api/pause",
        "/api/resume",
        "/api/reconcile",
        "/webhooks/github",
      ),
    ),
  });
  const linkRequest = fc.record({
    kind: fc.constant("link" as const),
    // The link as signed: the actor's own bot, or (a forgery) any bot under any tenant name...
    signed: fc.oneof(
      { weight: 3, arbitrary: ownBot.map((bot) => ({ tenant: fleet.actor, bot })) },
      { weight: 1, arbitrary: fc.record({ tenant: anyTenant, bot: anyBot }) },
    ),
    // ...signed with the agent's key only for the actor's own tenant (what an email could carry).
    ownKey: fc.boolean(),
    // ...then fields of the query or the posted form swapped for others.
    alter: fc.option(fc.record({ tenant: anyTenant, bot: anyBot }), { nil: undefined, freq: 2 }),
    confirm: fc.boolean(),
  });
  return fc.oneof(tokenRoute, linkRequest);
};

describe("tenant isolation (property)", () => {
  it("a tenant token or link never acts on, nor shows, another tenant's bot", async () => {
    // Runs where the actor's own token or link did update its bot: the property is not vacuous.
    const acted = { token: 0, link: 0 };
    await fc.assert(
      fc.asyncProperty(
        fleetArb.chain((fleet) =>
          fc.record({
            fleet: fc.constant(fleet as Fleet),
            remote: fc.boolean(),
            requests: fc.array(requestArb(fleet as Fleet), { minLength: 1, maxLength: 12 }),
          }),
        ),
        async ({ fleet, remote, requests }) => {
          const control = fakeControl(statusOf(fleet));
          const app = createApp(control, {
            tokens: parseApiTokens(`ops:${OPERATOR},portal/tenant=${fleet.actor}:${TOKEN}`),
            remote,
            links: { key: KEY, used: new MemoryStore(), now: () => NOW },
            log: () => {},
          });
          const tenantOf = new Map(fleet.bots.map((b) => [b.id, b.tenant]));
          const foreign = fleet.bots.filter((b) => b.tenant !== fleet.actor).map((b) => b.id);
          const expires = NOW / 1000 + 3600;

          for (const request of requests) {
            let url: string;
            let response: Response;
            if (request.kind === "token") {
              url = `http://localhost${request.path}`;
              response = await app.request(url, {
                method: request.method,
                headers: { Authorization: `Bearer ${TOKEN}` },
              });
            } else {
              // Only the actor's own tenant gets links signed with the agent's key; others are forged.
              const key = request.ownKey && request.signed.tenant === fleet.actor ? KEY : `${KEY}-forged`;
              const signed = linkUrl("http://localhost", key, {
                tenant: request.signed.tenant,
                bot: request.signed.bot,
                rollout: ROLLOUT_ID,
                digest: OFFERED,
                expires,
              });
              const query = new URL(signed).searchParams;
              if (request.alter) {
                query.set("tenant", request.alter.tenant);
                query.set("bot", request.alter.bot);
              }
              url = `http://localhost/links/update?${query}`;
              response = await app.request(url);
              if (request.confirm) {
                const cookie = response.headers.get("set-cookie")?.split(";")[0] ?? "";
                const csrf = /name="csrf" value="([^"]+)"/.exec(await response.text())?.[1] ?? "x";
                query.set("csrf", csrf);
                response = await app.request(url, {
                  method: "POST",
                  headers: {
                    "content-type": "application/x-www-form-urlencoded",
                    origin: "http://localhost",
                    cookie,
                  },
                  body: query.toString(),
                });
              }
            }
            // Not shown: a foreign bot appears in no answer, unless the request itself named it.
            const body = await response.text();
            for (const id of foreign) {
              if (!decodeURIComponent(url).includes(id)) expect(body, `${url} shows ${id}`).not.toContain(id);
            }
          }
          // Not acted on: every action the control saw was "Update now" on one of the actor's bots.
          for (const call of control.calls) {
            expect(call.method).toBe("updateBotNow");
            if (call.method !== "updateBotNow") continue;
            expect(tenantOf.get(call.botId)).toBe(fleet.actor);
            if (call.actor === `tenant:${fleet.actor}`) acted.link++;
            else acted.token++;
          }
        },
      ),
      { numRuns: 100 },
    );
    expect(acted.token, "runs where a tenant token updated its own bot").toBeGreaterThan(0);
    expect(acted.link, "runs where a tenant link updated its bot").toBeGreaterThan(0);
  }, 60_000);
});
