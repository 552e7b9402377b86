import { beforeEach, describe, expect, it } from "vitest";
import { linkUrl } from "../links/tenant-link.ts";
import type { UsedLink, UsedLinkStore } from "../links/used-links.ts";
import { createApp, type FleetwaveApp } from "./app.ts";
import { DIGEST_V1, DIGEST_V2, type FakeControl, fakeControl, ROLLOUT_ID } from "./fake-control.ts";

const KEY = "link-key-for-tests-0123456789abcdef";
const NOW = Date.parse("2026-11-28T00:00:00Z");
const EXPIRES = NOW / 1000 + 3600;
const OFFER = { tenant: "gamma", bot: "gamma-1", rollout: ROLLOUT_ID, digest: DIGEST_V2, expires: EXPIRES };

class MemoryStore implements UsedLinkStore {
  readonly entries: UsedLink[] = [];
  has(sig: string) {
    return this.entries.some((e) => e.sig === sig);
  }
  async add(entry: UsedLink) {
    this.entries.push(entry);
  }
}

let control: FakeControl;
let used: MemoryStore;
let app: FleetwaveApp;

beforeEach(() => {
  control = fakeControl();
  used = new MemoryStore();
  app = createApp(control, { tokens: [], links: { key: KEY, used, now: () => NOW }, log: () => {} });
});

const link = (claims = OFFER) => linkUrl("http://localhost", KEY, claims);

/** Opens the link like a browser, then posts its form back with the cookie it set. */
async function open(url: string) {
  const res = await app.request(url);
  const html = await res.text();
  const cookie = res.headers.get("set-cookie")?.split(";")[0];
  const form = new URLSearchParams(
    [...html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)].map((m): [string, string] => [
      m[1]!,
      m[2]!,
    ]),
  );
  return { res, html, cookie, form };
}

function confirm(url: string, form: URLSearchParams, headers: Record<string, string>) {
  return app.request(url, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body: form.toString(),
  });
}

describe("tenant link pages", () => {
  it("shows the bot, the version change and the changelog, and one confirm updates as tenant:<tenant>", async () => {
    const { res, html, cookie, form } = await open(link());
    expect(res.status).toBe(200);
    expect(res.headers.get("content-security-policy")).toMatch(/form-action 'self'/);
    expect(res.headers.get("referrer-policy")).toBe("same-origin");
    expect(cookie).toMatch(/^fleetwave_link_csrf=/);
    expect(res.headers.get("set-cookie")).toMatch(/HttpOnly.*SameSite=Strict|SameSite=Strict.*HttpOnly/);
    expect(html).toContain("Update gamma-1?");
    // The running digest has no plan with a changelog: its short form; the target: its version.
    expect(html).toMatch(new RegExp(`<strong>${DIGEST_V1.slice(0, 19)}</strong> → <strong>1.4.0</strong>`));
    expect(html).toContain("Replies can quote &lt;earlier&gt; messages");
    expect(html).not.toContain("host-a");
    expect(control.calls).toEqual([]);

    const done = await confirm(link(), form, { cookie: cookie!, origin: "http://localhost" });
    expect(done.status).toBe(202);
    expect(await done.text()).toContain("Your bot gamma-1 is being updated to 1.4.0");
    expect(control.calls).toEqual([
      {
        method: "updateBotNow",
        botId: "gamma-1",
        actor: "tenant:gamma",
        offer: { rollout: ROLLOUT_ID, digest: DIGEST_V2 },
      },
    ]);
    expect(used.entries.map((e) => e.bot)).toEqual(["gamma-1"]);

    // Used: the page and a second confirm both say so and change nothing.
    const again = await app.request(link());
    expect(again.status).toBe(410);
    expect(await again.text()).toContain("This link was already used");
    expect((await confirm(link(), form, { cookie: cookie!, origin: "http://localhost" })).status).toBe(410);
    expect(control.calls).toHaveLength(1);
  });

  it("refuses a confirm from another origin or without the page's CSRF token", async () => {
    const { cookie, form } = await open(link());
    const attempts: Record<string, string>[] = [
      { cookie: cookie! },
      { cookie: cookie!, origin: "https://evil.example" },
      { cookie: cookie!, origin: "http://localhost", "sec-fetch-site": "cross-site" },
      { origin: "http://localhost" },
      { cookie: "fleetwave_link_csrf=forged-value", origin: "http://localhost" },
    ];
    for (const headers of attempts) {
      const res = await confirm(link(), form, headers);
      expect(res.status, JSON.stringify(headers)).toBe(403);
      expect(await res.text()).toContain("Please confirm again");
    }
    expect(control.calls).toEqual([]);
    expect(used.entries).toEqual([]);
  });

  it("gives expired, altered, malformed and superseded links a clear page and changes nothing", async () => {
    const expired = await app.request(link({ ...OFFER, expires: NOW / 1000 - 1 }));
    expect(expired.status).toBe(410);
    expect(await expired.text()).toMatch(/This link has expired[\s\S]*2026-11-27 23:59 UTC/);

    const altered = await app.request(link().replace("bot=gamma-1", "bot=beta-1"));
    expect(altered.status).toBe(403);
    expect(await altered.text()).toContain("This link is not valid");

    const malformed = await app.request(link().replace(/&sig=[0-9a-f]+/, ""));
    expect(malformed.status).toBe(400);
    expect(await malformed.text()).toContain("This link is incomplete");

    // A newer plan: the bot's offer changed after the email was sent.
    const newer = await app.request(link({ ...OFFER, rollout: "2026-11-26T0612Z-b2b2b2b2" }));
    expect(newer.status).toBe(409);
    expect(await newer.text()).toContain("This update is no longer offered");

    // A link for a bot of another tenant, even one that was signed, does not reach it.
    const foreign = await app.request(link({ ...OFFER, tenant: "beta" }));
    expect(foreign.status).toBe(409);
    expect(control.calls).toEqual([]);
  });

  it("keeps the link usable when the agent refuses for now (fleet paused), and reports superseded on a race", async () => {
    const { cookie, form } = await open(link());
    control.nextResult = { ok: false, status: 423, message: "the fleet is paused" };
    const paused = await confirm(link(), form, { cookie: cookie!, origin: "http://localhost" });
    expect(paused.status).toBe(423);
    expect(await paused.text()).toContain("Updates are paused right now");
    expect(used.entries).toEqual([]);

    // The offer is withdrawn between the page and the click: the agent's own check refuses it.
    control.state.bots.find((b) => b.id === "gamma-1")!.updateAvailable = {
      rollout: ROLLOUT_ID,
      digest: `sha256:${"c3".repeat(32)}`,
    };
    const gone = await confirm(link(), form, { cookie: cookie!, origin: "http://localhost" });
    expect(gone.status).toBe(409);
    expect(used.entries).toEqual([]);
  });

  it("answers 404 with a page when links are not configured", async () => {
    const plain = createApp(control, { tokens: [], log: () => {} });
    const res = await plain.request(link());
    expect(res.status).toBe(404);
    expect(await res.text()).toContain("does not accept update links");
  });
});
