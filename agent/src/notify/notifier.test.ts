/**
 * The notifier end to end: a real SMTP server (smtp-server, on 127.0.0.1) and a real node:http
 * webhook receiver; nothing of nodemailer or fetch is mocked. Backoff is shortened for speed.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startSmtpServer, type TestSmtpServer } from "#test/support/smtp.ts";
import { type Fleet, fleetSchema } from "../model/fleet.ts";
import type { UserChangelog } from "../model/rollout.ts";
import { type Tenant, tenantSchema } from "../model/tenant.ts";
import { createNotifier, type Notifier, type NotifierOptions, type NotifyEvent } from "./index.ts";

const SECRET = "test-signing-secret";
const D1 = `sha256:${"a".repeat(64)}`;
const D2 = `sha256:${"b".repeat(64)}`;
const ROLLOUT = "2026-11-27T0612Z-bbbbbbbb";

const changelog: UserChangelog = {
  version: "2.0.0",
  date: "2026-11-27",
  sections: [
    { title: "Fixed", items: ["Uploads over 10 MB no longer time out"] },
    { title: "New", items: ["Dark mode for the inbox", "Export conversations as CSV"] },
    { title: "Improved", items: ["Search is twice as fast"] },
  ],
};
const allItems = changelog.sections.flatMap((s) => s.items);

// ---------------------------------------------------------------------------------------------
// A webhook receiver on 127.0.0.1

interface Hit {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

interface Receiver {
  url: string;
  hits: Hit[];
  /** Decides each answer; default 200. May wait (e.g. on a gate) before answering. */
  respond: (hit: Hit, index: number) => Promise<number> | number;
  close: () => Promise<void>;
}

async function startReceiver(): Promise<Receiver> {
  const receiver: Receiver = { url: "", hits: [], respond: () => 200, close: async () => undefined };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const hit = {
        path: req.url ?? "",
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
        at: Date.now(),
      };
      const index = receiver.hits.push(hit) - 1;
      void Promise.resolve(receiver.respond(hit, index)).then((status) => {
        res.writeHead(status, { "content-type": "text/plain" });
        res.end(status < 300 ? "ok" : "nope");
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  receiver.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return receiver;
}

function verifySignature(hit: Hit): boolean {
  const header = hit.headers["x-fleetwave-signature-256"];
  if (typeof header !== "string") return false;
  const expected = Buffer.from(`sha256=${createHmac("sha256", SECRET).update(hit.body).digest("hex")}`);
  const got = Buffer.from(header);
  return got.length === expected.length && timingSafeEqual(got, expected);
}

async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 5));
  }
}

// ---------------------------------------------------------------------------------------------

function fleetWith(webhooks: Fleet["notifications"]["webhooks"] = []): Fleet {
  return fleetSchema.parse({
    images: { allowlist: ["ghcr.io/acme/"] },
    notifications: { email: { from: "fleet@acme.example", admins: ["ops@acme.example"] }, webhooks },
  });
}

const tenants: Tenant[] = [
  tenantSchema.parse({ tenant: "acme", contacts: ["owner@acme.example", "cto@acme.example"] }),
  tenantSchema.parse({ tenant: "beta", contacts: [] }),
];

const available: NotifyEvent = {
  type: "bot.update_available",
  bot: "acme-main",
  tenant: "acme",
  rollout: ROLLOUT,
  from: D1,
  to: D2,
  changelog,
};

describe("notifier", () => {
  let dataDir: string;
  let smtp: TestSmtpServer;
  let hooks: Receiver;
  let logs: string[];
  const open: Notifier[] = [];

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "fleetwave-notify-"));
    smtp = await startSmtpServer();
    hooks = await startReceiver();
    logs = [];
  });

  afterEach(async () => {
    for (const n of open.splice(0)) await n.stop();
    await smtp.close();
    await hooks.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  async function notifier(overrides: Partial<NotifierOptions> = {}): Promise<Notifier> {
    const n = await createNotifier({
      dataDir,
      host: "host-a",
      fleet: fleetWith(),
      tenants,
      env: { SMTP_URL: smtp.url, FLEETWAVE_WEBHOOK_SIGNING_SECRET: SECRET },
      dashboardUrl: "https://fleet.acme.example/bots/{bot}",
      log: (line) => logs.push(line),
      backoff: { initialMs: 40, factor: 2, maxAttempts: 5 },
      ...overrides,
    });
    open.push(n);
    return n;
  }

  it("emails an available update once to the tenant's contacts, with the changelog, even across a restart", async () => {
    const first = await notifier();
    expect(await first.notify(available)).toBe(true);
    const [mail] = await smtp.waitFor(1);
    expect(mail!.envelopeTo.sort()).toEqual(["cto@acme.example", "owner@acme.example"]);
    expect(mail!.envelopeFrom).toBe("fleet@acme.example");
    expect(mail!.subject).toBe("Update available for acme-main: 2.0.0");
    for (const item of allItems) {
      expect(mail!.text).toContain(item);
      expect(mail!.html).toContain(`<li>${item}</li>`);
    }
    for (const heading of ["New", "Improved", "Fixed"]) {
      expect(mail!.text).toMatch(new RegExp(`^${heading}$`, "m"));
      expect(mail!.html).toContain(`>${heading}</h3>`);
    }
    // New before Improved before Fixed, whatever order the changelog had.
    expect(mail!.text.indexOf("Dark mode")).toBeLessThan(mail!.text.indexOf("twice as fast"));
    expect(mail!.text.indexOf("twice as fast")).toBeLessThan(mail!.text.indexOf("10 MB"));
    expect(mail!.text).toContain("https://fleet.acme.example/bots/acme-main");
    expect(mail!.html).toContain('href="https://fleet.acme.example/bots/acme-main"');
    // Tenants get no host and no full digest.
    expect(mail!.text).not.toContain("host-a");
    expect(mail!.text).not.toContain(D2);
    expect(mail!.headers.get("x-fleetwave-event")).toBe("bot.update_available");

    expect(await first.notify({ ...available, changelog: { ...changelog, version: "2.0.1" } })).toBe(false);
    expect(await first.flush(2000)).toBe(true);
    await first.stop();

    const second = await notifier();
    expect(await second.notify(available)).toBe(false);
    expect(await second.flush(2000)).toBe(true);
    expect(smtp.messages).toHaveLength(1);
  });

  it("emails admins the reasons of rolled_back, rollback_failed and aborted, never the tenant", async () => {
    const n = await notifier();
    await n.notify({
      type: "bot.rolled_back",
      bot: "acme-main",
      tenant: "acme",
      rollout: ROLLOUT,
      from: D1,
      to: D2,
      reason: "health check timed out after 120s",
    });
    await n.notify({
      type: "bot.rollback_failed",
      bot: "beta-1",
      tenant: "beta",
      rollout: ROLLOUT,
      from: D1,
      to: D2,
      reason: "old container beta-1.fleetwave-old is gone",
      snapshots: ["beta-1-data-20261127T061500Z"],
    });
    await n.notify({
      type: "rollout.aborted",
      rollout: ROLLOUT,
      reason: "3 failed bots reached the failure threshold of 3",
      failureThreshold: 3,
      failed: [
        {
          bot: "acme-main",
          tenant: "acme",
          host: "host-a",
          result: "rolled-back",
          reason: "health check timed out",
        },
        { bot: "beta-1", host: "host-b", result: "failed", reason: "pull failed: manifest unknown" },
      ],
    });
    const mails = await smtp.waitFor(3);
    expect(await n.flush(2000)).toBe(true);
    for (const mail of mails) expect(mail.envelopeTo).toEqual(["ops@acme.example"]);
    const bySubject = (part: string) => mails.find((m) => m.subject.includes(part))!;

    const rolledBack = bySubject("acme-main rolled back");
    expect(rolledBack.subject).toBe(
      "[fleetwave host-a] acme-main rolled back: health check timed out after 120s",
    );
    for (const part of ["health check timed out after 120s", "host-a", ROLLOUT, D1, D2]) {
      expect(rolledBack.text).toContain(part);
      expect(rolledBack.html).toContain(part);
    }

    const failed = bySubject("ROLLBACK FAILED");
    expect(failed.text).toContain("old container beta-1.fleetwave-old is gone");
    expect(failed.text).toContain("snapshots taken before the update were kept");
    expect(failed.text).toContain("fleetwave snapshots list --bot beta-1");
    expect(failed.text).toContain("fleetwave snapshots restore beta-1-data-20261127T061500Z");

    const aborted = bySubject("aborted");
    expect(aborted.text).toContain("3 failed bots reached the failure threshold of 3");
    expect(aborted.text).toContain(
      "acme-main (tenant acme, host host-a, rolled-back): health check timed out",
    );
    expect(aborted.text).toContain("beta-1 (host host-b, failed): pull failed: manifest unknown");
    expect(aborted.html).toContain("pull failed: manifest unknown");
  });

  it("posts signed JSON only to the webhooks subscribed to the event", async () => {
    const n = await notifier({
      fleet: fleetWith([
        { url: `${hooks.url}/failures`, events: ["bot.rolled_back", "rollout.aborted"] },
        { url: `${hooks.url}/updates`, events: ["bot.updated"] },
      ]),
    });
    await n.notify({
      type: "bot.rolled_back",
      bot: "acme-main",
      tenant: "acme",
      rollout: ROLLOUT,
      from: D1,
      to: D2,
      reason: "unhealthy",
      at: "2026-11-27T06:20:00.000Z",
    });
    await n.notify({
      type: "bot.update_available",
      bot: "acme-main",
      tenant: "acme",
      rollout: ROLLOUT,
      to: D2,
    });
    await n.notify({ type: "rollout.started", rollout: ROLLOUT });
    expect(await n.flush(3000)).toBe(true);

    expect(hooks.hits.map((h) => h.path)).toEqual(["/failures"]);
    const [hit] = hooks.hits;
    expect(verifySignature(hit!)).toBe(true);
    expect(hit!.headers["content-type"]).toBe("application/json");
    expect(hit!.headers["x-fleetwave-event"]).toBe("bot.rolled_back");
    expect(hit!.headers["x-fleetwave-delivery"]).toMatch(/^[0-9a-f-]{36}$/);
    expect(JSON.parse(hit!.body)).toEqual({
      event: "bot.rolled_back",
      at: "2026-11-27T06:20:00.000Z",
      host: "host-a",
      bot: "acme-main",
      tenant: "acme",
      rollout: ROLLOUT,
      from: D1,
      to: D2,
      reason: "unhealthy",
    });
    // A tampered body does not verify.
    expect(verifySignature({ ...hit!, body: hit!.body.replace("unhealthy", "healthy") })).toBe(false);

    await n.notify({
      type: "bot.updated",
      bot: "acme-main",
      tenant: "acme",
      rollout: ROLLOUT,
      from: D1,
      to: D2,
      changelog,
    });
    await n.flush(3000);
    expect(hooks.hits.map((h) => h.path)).toEqual(["/failures", "/updates"]);
    expect(JSON.parse(hooks.hits[1]!.body).changelog).toEqual(changelog);
    expect(verifySignature(hooks.hits[1]!)).toBe(true);
  });

  it("retries a failing webhook with backoff, delivers it exactly once, and never makes notify wait", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    hooks.respond = async (_hit, index) => {
      if (index === 0) await gate; // hold the first attempt open
      return index < 2 ? 500 : 200;
    };
    const n = await notifier({
      fleet: fleetWith([{ url: `${hooks.url}/hook`, events: ["rollout.aborted", "rollout.paused"] }]),
    });
    const aborted: NotifyEvent = {
      type: "rollout.aborted",
      rollout: ROLLOUT,
      reason: "threshold",
      failed: [],
    };
    expect(await n.notify(aborted)).toBe(true);
    await until(() => hooks.hits.length === 1);

    // The receiver has not answered yet (the gate holds it): if notify waited for it, this would
    // hang and fail at the deadline; instead the email is queued and even sent meanwhile.
    expect(await n.notify({ ...available })).toBe(true);
    await smtp.waitFor(1);
    expect(hooks.hits).toHaveLength(1);

    release();
    expect(await n.flush(5000)).toBe(true);
    expect(hooks.hits).toHaveLength(3);
    const ids = new Set(hooks.hits.map((h) => h.headers["x-fleetwave-delivery"]));
    expect(ids.size).toBe(1); // one delivery, three attempts
    expect(hooks.hits.every(verifySignature)).toBe(true);
    expect(logs.some((l) => l.includes("attempt 1 of") && l.includes("HTTP 500"))).toBe(true);
  });

  it("resumes a pending delivery after a restart", async () => {
    hooks.respond = () => 503;
    const fleet = fleetWith([{ url: `${hooks.url}/hook`, events: ["bot.rollback_failed"] }]);
    const first = await notifier({ fleet, backoff: { initialMs: 30, factor: 1, maxAttempts: 1000 } });
    const event: NotifyEvent = {
      type: "bot.rollback_failed",
      bot: "acme-main",
      tenant: "acme",
      rollout: ROLLOUT,
      from: D1,
      to: D2,
      reason: "old container missing",
    };
    await first.notify(event);
    await until(() => hooks.hits.length >= 2);
    expect(await first.flush(50)).toBe(false);
    await first.stop();
    expect(first.pendingCount()).toBe(1);
    expect(await readdir(join(dataDir, "outbox", "pending"))).toHaveLength(1);
    const failedAttempts = hooks.hits.length;

    hooks.respond = () => 204;
    const second = await notifier({ fleet });
    expect(await second.notify(event)).toBe(false);
    expect(await second.flush(3000)).toBe(true);
    expect(hooks.hits).toHaveLength(failedAttempts + 1);
    expect(new Set(hooks.hits.map((h) => h.headers["x-fleetwave-delivery"])).size).toBe(1);
    expect(await readdir(join(dataDir, "outbox", "pending"))).toHaveLength(0);
    expect(await readdir(join(dataDir, "outbox", "done"))).toHaveLength(1);
    // The email to the admins went out exactly once across both runs.
    expect(smtp.messages.filter((m) => m.subject.includes("ROLLBACK FAILED"))).toHaveLength(1);
  });

  it("retries an email the SMTP server refuses for now", async () => {
    smtp.failNext(2);
    const n = await notifier();
    await n.notify({
      type: "bot.updated",
      bot: "acme-main",
      tenant: "acme",
      rollout: ROLLOUT,
      from: D1,
      to: D2,
      changelog,
    });
    expect(await n.flush(5000)).toBe(true);
    expect(smtp.rejected).toBe(2);
    expect(smtp.messages).toHaveLength(1);
    expect(smtp.messages[0]!.subject).toBe("acme-main was updated to 2.0.0");
  });

  it("escapes HTML in changelog items", async () => {
    const n = await notifier();
    const evil = '<script>alert("x")</script> & <b>bold</b>';
    await n.notify({
      ...available,
      changelog: { version: "2.0.0<i>", date: "2026-11-27", sections: [{ title: "New", items: [evil] }] },
    });
    const [mail] = await smtp.waitFor(1);
    expect(mail!.html).not.toContain("<script>");
    expect(mail!.html).not.toContain("<b>bold");
    expect(mail!.html).not.toContain("2.0.0<i>");
    expect(mail!.html).toContain(
      "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;",
    );
    expect(mail!.text).toContain(evil);
  });

  it("without SMTP_URL, logs once, sends no email and still posts webhooks", async () => {
    const n = await notifier({
      env: { FLEETWAVE_WEBHOOK_SIGNING_SECRET: SECRET },
      fleet: fleetWith([{ url: `${hooks.url}/hook`, events: ["bot.update_available"] }]),
    });
    expect(await n.notify(available)).toBe(true);
    expect(await n.flush(2000)).toBe(true);
    expect(hooks.hits).toHaveLength(1);
    expect(smtp.messages).toHaveLength(0);
    expect(logs.filter((l) => l.includes("SMTP_URL is not set"))).toHaveLength(1);
  });

  it("takes new config for later events without losing the queue", async () => {
    hooks.respond = (_hit, index) => (index === 0 ? 500 : 200);
    const n = await notifier({ fleet: fleetWith([{ url: `${hooks.url}/old`, events: ["rollout.paused"] }]) });
    await n.notify({ type: "rollout.paused", rollout: ROLLOUT, reason: "threshold", failed: [] });
    await until(() => hooks.hits.length === 1);
    n.updateConfig(fleetWith([{ url: `${hooks.url}/new`, events: ["rollout.paused", "rollout.aborted"] }]), [
      tenantSchema.parse({ tenant: "acme", contacts: ["new-owner@acme.example"] }),
    ]);
    await n.notify({ type: "rollout.aborted", rollout: ROLLOUT, reason: "by alice", failed: [] });
    await n.notify({ type: "bot.updated", bot: "acme-main", tenant: "acme", rollout: ROLLOUT, to: D2 });
    expect(await n.flush(3000)).toBe(true);
    expect(hooks.hits.map((h) => h.path).sort()).toEqual(["/new", "/old", "/old"]);
    const updated = smtp.messages.find((m) => m.subject.startsWith("acme-main was updated"));
    expect(updated?.envelopeTo).toEqual(["new-owner@acme.example"]);
  });
});
