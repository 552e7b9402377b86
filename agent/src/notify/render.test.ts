import { describe, expect, it } from "vitest";
import { checkLink } from "../links/tenant-link.ts";
import { fleetSchema } from "../model/fleet.ts";
import { tenantSchema } from "../model/tenant.ts";
import { dedupeKey, type NotifyEvent } from "./events.ts";
import { webhookPayload } from "./payload.ts";
import { planChannels } from "./plan.ts";
import { audienceOf, renderEmail } from "./render.ts";

const D1 = `sha256:${"1".repeat(64)}`;
const D2 = `sha256:3f2a9c1b7d2e${"0".repeat(52)}`;
const ROLLOUT = "2026-11-27T0612Z-3f2a9c1b";

describe("renderEmail", () => {
  it("tells a tenant about an update without internals, and how to update without a dashboard", () => {
    const email = renderEmail(
      { type: "bot.update_available", bot: "acme-main", tenant: "acme", rollout: ROLLOUT, from: D1, to: D2 },
      { host: "host-a" },
    )!;
    expect(email.audience).toBe("tenant");
    expect(email.subject).toBe("Update available for acme-main: sha256:3f2a9c1b7d2e");
    expect(email.text).toContain('Ask your administrator to click "Update now" for acme-main');
    for (const body of [email.text, email.html]) {
      expect(body).not.toContain("host-a");
      expect(body).not.toContain(D2);
      expect(body).not.toContain(D1.slice(7, 19));
      expect(body).not.toContain(ROLLOUT);
    }
  });

  it("alerts admins once per incident: bot.down with what to check, bot.recovered when it is back", () => {
    const since = "2026-12-03T19:00:00.000Z";
    const down: NotifyEvent = {
      type: "bot.down",
      bot: "acme-main",
      tenant: "acme",
      since,
      digest: D1,
      reason: "the container had exited (exit code 137); it was started again, but it is not healthy: <x>",
    };
    const email = renderEmail(down, { host: "host-a" })!;
    expect(email.audience).toBe("admins");
    expect(email.subject).toMatch(/^\[fleetwave host-a\] acme-main is DOWN: the container had exited/);
    expect(email.text).toContain("docker logs --tail 100 acme-main");
    expect(email.text).toContain(since);
    expect(email.html).toContain("&lt;x&gt;");
    const back = renderEmail(
      { ...down, type: "bot.recovered", reason: "it was started again" },
      { host: "host-a" },
    )!;
    expect(back.subject).toBe("[fleetwave host-a] acme-main recovered: it was started again");
    expect(dedupeKey(down)).toBe(`bot.down|acme-main|@${since}`);
    expect(dedupeKey({ ...down, since: "2026-12-03T20:00:00.000Z" })).not.toBe(dedupeKey(down));
  });

  it("links only http(s) dashboards", () => {
    const event: NotifyEvent = { type: "bot.update_available", bot: "acme-main", tenant: "acme", to: D2 };
    const js = renderEmail(event, { host: "h", dashboardUrl: "javascript:alert(1)" })!;
    expect(js.html).not.toContain("javascript:");
    const ok = renderEmail(event, { host: "h", dashboardUrl: "http://127.0.0.1:8787/?bot={bot}" })!;
    expect(ok.html).toContain('href="http://127.0.0.1:8787/?bot=acme-main"');
  });

  it("lists fleet-state problems as file:line: field: message with the commit", () => {
    const email = renderEmail(
      {
        type: "fleet_state.invalid",
        commit: "0123456789abcdef0123456789abcdef01234567",
        problems: [
          {
            file: "fleet-state/tenants/acme.yaml",
            line: 7,
            field: "bots[0].image",
            message: "must be repository:tag",
          },
          { file: "fleet-state/fleet.yaml", line: 2, field: "updates.mode", message: "invalid <option>" },
        ],
      },
      { host: "host-a" },
    )!;
    expect(email.audience).toBe("admins");
    expect(email.subject).toBe("[fleetwave host-a] invalid fleet-state at 0123456789ab: 2 problem(s)");
    expect(email.text).toContain("0123456789abcdef0123456789abcdef01234567");
    expect(email.text).toContain("fleet-state/tenants/acme.yaml:7: bots[0].image: must be repository:tag");
    expect(email.text).toContain("fleet-state/fleet.yaml:2: updates.mode: invalid <option>");
    expect(email.html).toContain("updates.mode: invalid &lt;option&gt;");
  });

  it("escapes reasons and ids in admin HTML and keeps headers on one line", () => {
    const email = renderEmail(
      {
        type: "bot.rolled_back",
        bot: "acme-main",
        tenant: "acme",
        from: D1,
        to: D2,
        reason: "<img src=x>\r\nBcc: x",
      },
      { host: "host-a" },
    )!;
    expect(email.html).not.toContain("<img");
    expect(email.html).toContain("&lt;img src=x&gt;");
    expect(email.subject).not.toMatch(/[\r\n]/);
  });

  it("tells the admins when a rollout starts and when it completes, with the counts", () => {
    const done = renderEmail(
      {
        type: "rollout.completed",
        rollout: ROLLOUT,
        summary: { updated: 3, failed: 1, skipped: 0, waiting: 2 },
      },
      { host: "h" },
    )!;
    expect(done.audience).toBe("admins");
    expect(done.subject).toContain(`rollout ${ROLLOUT} completed: 3 updated, 1 failed, 0 skipped`);
    expect(done.text).toContain('Waiting for "Update now": 2');
    const started = renderEmail({ type: "rollout.started", rollout: ROLLOUT, targets: 4 }, { host: "h" })!;
    expect(started.subject).toContain(`rollout ${ROLLOUT} started`);
    expect(started.text).toContain("4 bot(s)");
    expect(audienceOf("rollout.started")).toBe("admins");
    expect(audienceOf("bot.updated")).toBe("tenant");
    expect(audienceOf("rollout.paused")).toBe("admins");
  });
});

describe("dedupeKey", () => {
  it("is (type, bot or -, rollout or -), plus the commit for fleet_state.invalid", () => {
    const bot = { bot: "acme-main", tenant: "acme", from: D1, to: D2, reason: "r" } as const;
    expect(dedupeKey({ type: "bot.rolled_back", rollout: ROLLOUT, ...bot })).toBe(
      `bot.rolled_back|acme-main|${ROLLOUT}`,
    );
    expect(dedupeKey({ type: "bot.rolled_back", ...bot })).toBe(`bot.rolled_back|acme-main|@${D2}`);
    expect(dedupeKey({ type: "rollout.aborted", rollout: ROLLOUT, reason: "r", failed: [] })).toBe(
      `rollout.aborted|-|${ROLLOUT}`,
    );
    expect(dedupeKey({ type: "fleet_state.invalid", commit: "abc", problems: [] })).toBe(
      "fleet_state.invalid|-|-|abc",
    );
  });
});

describe("planChannels", () => {
  const fleet = fleetSchema.parse({
    images: { allowlist: ["ghcr.io/acme/"] },
    notifications: {
      email: { from: "fleet@acme.example", admins: ["ops@acme.example"] },
      webhooks: [
        { url: "http://127.0.0.1:1/a", events: ["bot.updated"] },
        { url: "http://127.0.0.1:1/a", events: ["bot.updated", "bot.rolled_back"] },
      ],
    },
  });
  const tenants = [tenantSchema.parse({ tenant: "acme", contacts: ["o@acme.example", "o@acme.example"] })];
  const updated: NotifyEvent = {
    type: "bot.updated",
    bot: "acme-main",
    tenant: "acme",
    rollout: ROLLOUT,
    to: D2,
  };

  it("plans one email per recipient group and one POST per webhook URL", () => {
    const plan = planChannels(updated, "2026-11-27T07:00:00.000Z", {
      host: "host-a",
      fleet,
      tenants,
      emailEnabled: true,
    });
    expect(plan.channels.map((c) => c.kind)).toEqual(["email", "webhook"]);
    const email = plan.channels[0]!;
    expect(email.kind === "email" && email.message.to).toEqual(["o@acme.example"]);
    const post = plan.channels[1]!;
    expect(post.kind === "webhook" && JSON.parse(post.body)).toEqual(
      webhookPayload(updated, "host-a", "2026-11-27T07:00:00.000Z"),
    );
  });

  it("plans no email when SMTP is off or the tenant has no contacts, and says why", () => {
    expect(
      planChannels(updated, "t", { host: "h", fleet, tenants, emailEnabled: false }).channels.map(
        (c) => c.kind,
      ),
    ).toEqual(["webhook"]);
    const plan = planChannels({ ...updated, tenant: "ghost" }, "t", {
      host: "h",
      fleet,
      tenants,
      emailEnabled: true,
    });
    expect(plan.channels.map((c) => c.kind)).toEqual(["webhook"]);
    expect(plan.notes).toEqual(["tenant ghost is not in fleet-state"]);
  });

  it("puts a signed single-use link in an update_available email, valid for the TTL from queueing", () => {
    const key = "n".repeat(32);
    const offer: NotifyEvent = {
      type: "bot.update_available",
      bot: "acme-main",
      tenant: "acme",
      rollout: ROLLOUT,
      from: D1,
      to: D2,
    };
    const at = "2026-11-27T07:00:00.000Z";
    const plan = planChannels(offer, at, {
      host: "host-a",
      fleet,
      tenants,
      emailEnabled: true,
      dashboardUrl: "http://127.0.0.1:8787/",
      links: { key, publicUrl: "https://fleet.example/a", ttlMs: 7 * 86_400_000 },
    });
    const email = plan.channels[0]!;
    if (email.kind !== "email") throw new Error("expected an email");
    const url = /https:\/\/fleet\.example\/a\/links\/update\?\S+/.exec(email.message.text)?.[0];
    expect(url).toBeDefined();
    expect(email.message.text).toContain("The link works once, until 2026-12-04 07:00 UTC.");
    expect(email.message.text).not.toContain("127.0.0.1:8787");
    expect(email.message.html).toContain(`href="${url!.replaceAll("&", "&amp;")}"`);
    const fields = Object.fromEntries(new URL(url!).searchParams);
    expect(checkLink(key, fields, Date.parse(at))).toMatchObject({
      ok: true,
      claims: { tenant: "acme", bot: "acme-main", rollout: ROLLOUT, digest: D2 },
    });
    expect(checkLink(key, fields, Date.parse("2026-12-04T07:00:00Z"))).toMatchObject({ problem: "expired" });
  });
});
