/**
 * A manual tenant's one-click link, end to end with the real pieces: an agent on the private
 * Docker Engine and a real git remote, its email received by the SMTP test server, and the link
 * opened and confirmed in headless Chromium. The bot is updated, the commit names
 * `tenant:<tenant>`, and the same link then gets the "already used" page — also after the record
 * is read back from disk as a restarted agent would. One agent, one tenant, one bot.
 */

import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Agent } from "#fleetwave/agent/agent.ts";
import { containerDigest, DockerAdapter, dockerFromEnv } from "#fleetwave/docker/docker.ts";
import { createApp, parseApiTokens, type ServerHandle, serve } from "#fleetwave/http/index.ts";
import { USED_LINKS_FILE, UsedLinks } from "#fleetwave/links/used-links.ts";
import { createLogger } from "#fleetwave/log/logger.ts";
import type { UserChangelog } from "#fleetwave/model/rollout.ts";
import { createNotifier } from "#fleetwave/notify/index.ts";
import { buildTestImage, type TestImage } from "#scripts/local-env/bot-image.ts";
import { freePort } from "#scripts/local-env/engine.ts";
import {
  bots,
  eventually,
  type FleetDecl,
  type FleetRepo,
  fleetRepo,
  git,
  openHour,
} from "../support/agent-harness.ts";
import { launchBrowser, type TestBrowser } from "../support/browser.ts";
import { removeContainersByLabel } from "../support/docker.ts";
import { startSmtpServer, type TestSmtpServer } from "../support/smtp.ts";

const KEY = "e2e-link-key-0123456789abcdef0123";
const READ = "e2e-read-token-0123456789";
const PORTAL = "e2e-portal-token-0123456789";
const OTHER = "e2e-other-token-0123456789";
const CHANGELOG: UserChangelog = {
  version: "2.0.0",
  date: "2026-11-28",
  sections: [{ title: "New", items: ["Bots answer in threads"] }],
};

describe("tenant link (agent, SMTP, Chromium)", () => {
  const docker = new DockerAdapter(dockerFromEnv());
  let v1: TestImage;
  let v2: TestImage;
  let smtp: TestSmtpServer;
  let browser: TestBrowser;
  let repo: FleetRepo;
  let agent: Agent;
  let server: ServerHandle;
  let dataDir: string;
  let botId: string;

  beforeAll(async () => {
    const repository = `${process.env.FLEETWAVE_REGISTRY}/fleetwave-links/bot`;
    v1 = await buildTestImage({ version: "1.0.0", repository, tag: "managed" });
    v2 = await buildTestImage({ version: "2.0.0", repository });
    smtp = await startSmtpServer();
    browser = await launchBrowser();
    const fleet = await bots("link", "host-a", 1);
    botId = fleet[0]!.id;
    const decl: FleetDecl = {
      image: `${repository}:managed`,
      tenants: [
        { tenant: "links", mode: "manual", hour: openHour(), contacts: ["owner@links.example"], bots: fleet },
      ],
    };
    repo = await fleetRepo(decl);
    dataDir = await mkdtemp(join(tmpdir(), "fleetwave-links-"));
    const port = await freePort();
    const publicUrl = `http://127.0.0.1:${port}`;
    const log = () => {};
    agent = new Agent({
      repo: repo.bare,
      host: "host-a",
      branch: "main",
      dataDir,
      docker,
      stopTimeoutSeconds: 5,
      notifier: (state) =>
        createNotifier({
          dataDir,
          host: "host-a",
          fleet: state.fleet,
          tenants: state.tenants,
          env: { SMTP_URL: smtp.url },
          links: { key: KEY, publicUrl, ttlMs: 7 * 86_400_000 },
          backoff: { initialMs: 50, maxMs: 500 },
          log,
        }),
      logger: createLogger({ host: "host-a", format: "json", level: "error", write: () => {} }),
    });
    await agent.start();
    const used = await UsedLinks.open(join(dataDir, USED_LINKS_FILE));
    // As behind a TLS proxy (--allow-remote): every route needs a token, links their signature.
    const app = createApp(agent, {
      tokens: parseApiTokens(
        `prom/read:${READ},portal/tenant=links:${PORTAL},other/tenant=elsewhere:${OTHER}`,
      ),
      remote: true,
      links: { key: KEY, used, publicUrl },
      log,
    });
    server = await serve(app, { listen: `127.0.0.1:${port}` });
    await agent.reconcile("create");
  }, 180_000);

  afterAll(async () => {
    await server?.close(1000);
    await agent?.stop();
    await browser?.close();
    await smtp?.close();
    await removeContainersByLabel("fleetwave.managed=true");
  });

  const digestOf = async (bot: string) => {
    const info = await docker.inspect(bot);
    return info ? containerDigest(info) : undefined;
  };

  it("the emailed link shows the change, updates the bot as tenant:links once, and is refused after", async () => {
    expect(await digestOf(botId)).toBe(v1.digest);
    const rollout = await repo.plan(`${v1.repository}:managed`, v2.digest, CHANGELOG);
    await agent.reconcile("plan");
    // The tenant's offer (admins also get rollout.started).
    const offer = await eventually(
      async () => smtp.messages.find((m) => m.subject === `Update available for ${botId}: 2.0.0`),
      30_000,
      "the offer email",
    );
    expect(offer.to).toEqual(["owner@links.example"]);
    const link = /href="([^"]+\/links\/update\?[^"]+)"/.exec(offer!.html)?.[1]?.replaceAll("&amp;", "&");
    expect(link).toBeDefined();
    expect(offer!.text).toContain(link!);

    // The agent's own check behind every link: an offer other than the bot's is refused.
    const stale = await agent.updateBotNow(botId, "tenant:links", { rollout, digest: v1.digest });
    expect(stale).toMatchObject({
      ok: false,
      status: 409,
      message: expect.stringMatching(/no longer offered/),
    });

    const page = await browser.context.newPage();
    const problems: string[] = [];
    page.on("pageerror", (e) => problems.push(e.message));
    await page.goto(link!);
    expect(await page.title()).toBe(`Update ${botId}`);
    // biome-ignore lint/performance/useDomNodeTextContent: Playwright's innerText is what a user sees
    expect(await page.locator("#change").innerText()).toBe(`${v1.digest.slice(0, 19)} → 2.0.0`);
    // biome-ignore lint/performance/useDomNodeTextContent: as above
    expect(await page.locator("#changelog").innerText()).toContain("Bots answer in threads");
    await page.click("#confirm");
    // biome-ignore lint/performance/useDomNodeTextContent: as above
    expect(await page.locator("#outcome").innerText()).toContain(
      `Your bot ${botId} is being updated to 2.0.0`,
    );

    await eventually(
      async () => ((await digestOf(botId)) === v2.digest ? true : undefined),
      60_000,
      "the update",
    );
    const commit = await eventually(
      async () => {
        const log = await git(repo.bare, "log", "--all", "--format=%an%n%B%n----");
        return log.split("\n----\n").find((c) => c.includes("Fleetwave-Actor: tenant:links"));
      },
      30_000,
      "the status commit",
    );
    expect(commit).toMatch(/^tenant:links\n/);
    expect(commit).toContain(`Fleetwave-Rollout: ${rollout}`);
    // Admins also hear of the rollout (rollout.started); the tenant gets its "updated" email.
    const updated = await eventually(
      async () => smtp.messages.find((m) => m.subject === `${botId} was updated to 2.0.0`),
      30_000,
      "the updated email",
    );
    expect(updated.to).toEqual(["owner@links.example"]);

    // The same link again, in the browser and as a restarted agent would read the record.
    await page.goto(link!);
    // biome-ignore lint/performance/useDomNodeTextContent: as above
    expect(await page.locator("#outcome").innerText()).toContain("This link was already used");
    const sig = new URL(link!).searchParams.get("sig")!;
    expect((await UsedLinks.open(join(dataDir, USED_LINKS_FILE))).has(sig)).toBe(true);
    // An altered link: a page that says so, and nothing changes.
    await page.goto(link!.replace("tenant=links", "tenant=other"));
    // biome-ignore lint/performance/useDomNodeTextContent: as above
    expect(await page.locator("#outcome").innerText()).toContain("This link is not valid");
    expect(problems).toEqual([]);
    expect(browser.blocked).toEqual([]);
  });

  it("scoped tokens against the running agent: read, own tenant, other tenant, nobody", async () => {
    const call = (path: string, token?: string, method = "GET") =>
      fetch(`${server.url}${path}`, { method, headers: token ? { authorization: `Bearer ${token}` } : {} });
    const head = await git(repo.bare, "rev-parse", "main");
    expect((await call("/api/status")).status).toBe(401);
    expect((await call("/metrics")).status).toBe(401);
    expect((await call("/metrics", READ)).status).toBe(200);
    expect((await call("/metrics", PORTAL)).status).toBe(403);
    const own = (await (await call("/api/status", PORTAL)).json()) as { bots: { id: string }[] };
    expect(own.bots.map((b) => b.id)).toEqual([botId]);
    const other = (await (await call("/api/status", OTHER)).json()) as { bots: { id: string }[] };
    expect(other.bots).toEqual([]);
    expect((await call(`/api/bots/${botId}/update`, OTHER, "POST")).status).toBe(403);
    expect((await call(`/api/bots/${botId}/update`, READ, "POST")).status).toBe(403);
    expect((await call("/api/pause", PORTAL, "POST")).status).toBe(403);
    expect(await git(repo.bare, "rev-parse", "main")).toBe(head);
  });
});
