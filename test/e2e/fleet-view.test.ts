/**
 * The fleet-wide view with two real agents (host-a and host-b in one fleet, each with its status
 * ref) on a real Docker Engine, seen in headless Chromium on host-a's dashboard: host-b's bot and
 * its place in the rollout (waiting for "Update now" on host-b) come from host-b's status ref, and
 * host-a offers no action on host-b's bot. Fails (never skips) without Chromium.
 */
import { existsSync } from "node:fs";
import type { Locator } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FleetView } from "#fleetwave/plan/fleet-view.ts";
import { buildTestImage, type TestImage } from "#scripts/local-env/bot-image.ts";
import {
  bots,
  closedHour,
  type FleetDecl,
  fleetRepo,
  openHour,
  type RunningAgent,
  startAgent,
} from "../support/agent-harness.ts";
import { CHROMIUM_PATH, launchBrowser, requireChromium, type TestBrowser } from "../support/browser.ts";
import { removeContainersByLabel } from "../support/docker.ts";

/** The text a user sees (layout-aware, unlike textContent). */
// biome-ignore lint/performance/useDomNodeTextContent: Playwright's Locator.innerText is what we want here
const text = (locator: Locator) => locator.innerText();

const agents: RunningAgent[] = [];
let browser: TestBrowser | undefined;
let v1: TestImage;
let v2: TestImage;

beforeAll(async () => {
  const repository = `${process.env.FLEETWAVE_REGISTRY}/fleetwave-fleet-view/bot`;
  v1 = await buildTestImage({ version: "1.0.0", repository, tag: "managed" });
  v2 = await buildTestImage({ version: "2.0.0", repository });
  if (existsSync(CHROMIUM_PATH)) browser = await launchBrowser();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  for (const a of agents) await a.stop().catch(() => undefined);
  await removeContainersByLabel("fleetwave.managed=true");
});

describe("fleet-wide view (two agents, headless Chromium)", () => {
  it("host-a's dashboard and API show host-b's bot and its rollout progress from host-b's status ref", async () => {
    const [a1] = await bots("fva", "host-a", 1);
    const [b1] = await bots("fvb", "host-b", 1);
    const decl: FleetDecl = {
      image: v1.ref,
      strategy: { batchPercent: 100, minHealthySeconds: 0, healthCheckTimeoutSeconds: 20 },
      tenants: [
        { tenant: "alpha", mode: "auto", hour: openHour(), contacts: [], bots: [a1!] },
        { tenant: "beta", mode: "manual", hour: closedHour(), contacts: [], bots: [b1!] },
      ],
    };
    const repo = await fleetRepo(decl);
    const hostA = await startAgent(repo.bare, "host-a");
    agents.push(hostA);
    const hostB = await startAgent(repo.bare, "host-b");
    agents.push(hostB);
    expect((await hostA.agent.reconcile("create")).failed).toEqual([]);
    expect((await hostB.agent.reconcile("create")).failed).toEqual([]);

    const id = await repo.plan(decl.image, v2.digest);
    // host-b offers the update to its manual tenant; host-a updates its bot, then reads host-b's ref.
    await hostB.agent.reconcile("rollout");
    expect((await hostA.agent.reconcile("rollout")).failed).toEqual([]);

    const api = await fetch(`${hostA.server.url}/api/status?scope=fleet`);
    expect(api.status).toBe(200);
    const { host, fleet } = (await api.json()) as { host: string; fleet: FleetView };
    expect(host).toBe("host-a");
    expect(fleet.hosts.map((h) => [h.host, h.bots.map((b) => [b.id, b.digest])])).toEqual([
      ["host-a", [[a1!.id, v2.digest]]],
      ["host-b", [[b1!.id, v1.digest]]],
    ]);
    const rollout = fleet.rollouts.find((r) => r.id === id);
    expect(rollout?.waves).toEqual([
      {
        wave: 1,
        hosts: [
          expect.objectContaining({ host: "host-a", done: 1, total: 1 }),
          expect.objectContaining({ host: "host-b", "waiting-update-now": 1, total: 1 }),
        ],
      },
    ]);
    expect((await fetch(`${hostA.server.url}/api/status?scope=planet`)).status).toBe(400);

    requireChromium();
    const page = await browser!.context.newPage();
    const problems: string[] = [];
    page.on("pageerror", (e) => problems.push(e.message));
    await page.goto(`${hostA.server.url}/`);
    const otherBot = page.locator(`#fleet tr[data-fleet-bot="${b1!.id}"][data-host="host-b"]`);
    await expect.poll(() => text(otherBot)).toMatch(/host-b's bot: act on host-b's dashboard, or in git/);
    expect(await otherBot.getByRole("button").count()).toBe(0);
    const cell = (h: string, phase: string) =>
      page.locator(
        `#fleet tr[data-fleet-rollout="${id}"][data-wave="1"][data-host="${h}"] [data-phase="${phase}"]`,
      );
    expect(await text(cell("host-b", "waiting-update-now"))).toBe("1");
    expect(await text(cell("host-a", "done"))).toBe("1");
    // "Update now" on host-a's own list never offers host-b's bot.
    expect(await page.locator(`#bots tr[data-bot="${b1!.id}"]`).count()).toBe(0);
    expect(problems).toEqual([]);
  });
});
