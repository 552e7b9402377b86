/**
 * The dashboard in a real headless Chromium against a real server on 127.0.0.1, with an
 * in-memory AgentControl: the page shows the bots, takes a pasted token, "Update now" reaches the
 * control with the token's name as actor, and the server-rendered fragment swapped in after an
 * action or a refresh shows the new state. Fails (never skips) without Chromium.
 */
import { existsSync } from "node:fs";
import type { Locator } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "#fleetwave/http/app.ts";
import { type FakeControl, fakeControl, ROLLOUT_ID } from "#fleetwave/http/fake-control.ts";
import { type ServerHandle, serve } from "#fleetwave/http/serve.ts";
import { parseApiTokens } from "#fleetwave/http/tokens.ts";
import { CHROMIUM_PATH, launchBrowser, requireChromium, type TestBrowser } from "../support/browser.ts";

/** The text a user sees (layout-aware, unlike textContent). */
// biome-ignore lint/performance/useDomNodeTextContent: Playwright's Locator.innerText is what we want here
const text = (locator: Locator) => locator.innerText();

const TOKEN = "dashboard-e2e-token-0123";
const SCREENSHOT = "/tmp/fleetwave-dashboard.png";

describe("dashboard (headless Chromium)", () => {
  let control: FakeControl;
  let server: ServerHandle;
  let browser: TestBrowser;

  beforeAll(async () => {
    control = fakeControl();
    server = await serve(createApp(control, { tokens: parseApiTokens(`dana:${TOKEN}`), log: () => {} }), {
      listen: "127.0.0.1:0",
    });
    // Without Chromium every test fails (not skips) with the install line, via openPage().
    if (existsSync(CHROMIUM_PATH)) browser = await launchBrowser();
  });

  /** A new tab on the dashboard; `problems` collects console errors and uncaught page errors. */
  async function openPage(problems: string[] = []) {
    requireChromium();
    const page = await browser.context.newPage();
    page.on("console", (m) => {
      if (m.type() === "error") problems.push(`console: ${m.text()}`);
    });
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    await page.goto(`${server.url}/`);
    return page;
  }

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it("lists the bots, takes a token, and Update now calls the agent as the token's holder", async () => {
    const problems: string[] = [];
    const page = await openPage(problems);
    await expect.poll(() => page.title()).toBe("Fleetwave · host-a");

    const botRows = page.locator("#bots tbody tr");
    expect(await botRows.count()).toBe(3);
    expect(await text(botRows.nth(0))).toMatch(/acme-main\s+acme/);
    expect(await text(botRows.nth(1))).toMatch(/rolled-back/);
    expect(await text(botRows.nth(1))).toMatch(/health check timed out after 120s/);
    expect(await page.locator("#waiting tbody tr").count()).toBe(1);
    expect(await text(page.locator("#rollouts tbody tr"))).toMatch(/2026-11-27T0612Z-b2b2b2b2/);
    expect(await text(page.locator(".error"))).toMatch(/push to origin failed/);

    // Without a token the button explains what to do and calls nothing.
    const updateNow = page.getByRole("button", { name: "Update now" });
    await updateNow.click();
    await expect.poll(() => text(page.locator("#message"))).toMatch(/Paste an API token/);
    expect(control.calls).toEqual([]);

    // A wrong token is reported when pasted.
    await page.fill("#token", "not-the-right-token-000");
    await page.click("#use-token");
    await expect.poll(() => text(page.locator("#who"))).toMatch(/Token rejected: invalid token/);
    // Chromium logs the rejected check (403) as a console error; that one is expected.
    expect(problems).toEqual([expect.stringMatching(/status of 403/)]);
    problems.length = 0;

    await page.fill("#token", TOKEN);
    await page.click("#use-token");
    await expect.poll(() => text(page.locator("#who"))).toBe("Acting as dana");
    expect(await page.evaluate<string | null>(`sessionStorage.getItem("fleetwave.apiToken")`)).toBe(TOKEN);
    await page.screenshot({ path: SCREENSHOT, fullPage: true });

    let confirmText = "";
    page.once("dialog", (dialog) => {
      confirmText = dialog.message();
      void dialog.accept();
    });
    await updateNow.click();
    await expect.poll(() => text(page.locator("#message"))).toBe("gamma-1 updated");
    expect(confirmText).toBe("Update gamma-1 now? The bot restarts.");
    expect(control.calls).toEqual([{ method: "updateBotNow", botId: "gamma-1", actor: "dana" }]);

    // The swapped-in fragment: nothing waits any more, gamma-1 shows who updated it.
    await expect.poll(() => page.locator("#waiting").count()).toBe(0);
    expect(await text(page.locator('#bots tr[data-bot="gamma-1"]'))).toMatch(/updated[\s\S]*by dana/);
    await page.screenshot({ path: SCREENSHOT.replace(".png", "-after.png"), fullPage: true });

    // Pausing the rollout: the swapped-in fragment offers Resume in its place.
    await page
      .locator(`#rollouts tr[data-rollout="${ROLLOUT_ID}"]`)
      .getByRole("button", { name: "Pause" })
      .click();
    await expect.poll(() => text(page.locator("#message"))).toBe(`rollout ${ROLLOUT_ID} paused`);
    const row = page.locator(`#rollouts tr[data-rollout="${ROLLOUT_ID}"]`);
    // The message is shown before the fragment is swapped in: wait for the swap.
    await expect.poll(() => row.getByRole("button", { name: "Resume" }).count()).toBe(1);
    expect(await text(row)).toMatch(/paused\s+dana/);

    // Roll back one bot (operators): asks first, then reaches the control as the token's holder.
    let rollbackConfirm = "";
    page.once("dialog", (dialog) => {
      rollbackConfirm = dialog.message();
      void dialog.accept();
    });
    await page.locator('#bots tr[data-bot="acme-main"]').getByRole("button", { name: "Roll back" }).click();
    await expect.poll(() => text(page.locator("#message"))).toBe("roll back acme-main: committed as dana");
    expect(rollbackConfirm).toMatch(/^Roll acme-main back to the last version it ran healthily\?/);
    expect(control.calls.at(-1)).toEqual({
      method: "rollbackBot",
      botId: "acme-main",
      actor: "dana",
      to: undefined,
      reason: undefined,
    });

    expect(problems).toEqual([]);
    expect(browser.blocked).toEqual([]);
  });

  it("swaps in the server's fragment only when it changed, and renders untrusted text as text", async () => {
    const problems: string[] = [];
    const fetched: string[] = [];
    const page = await browser.context.newPage();
    page.on("request", (r) => fetched.push(new URL(r.url()).pathname));
    page.on("console", (m) => {
      if (m.type() === "error") problems.push(`console: ${m.text()}`);
    });
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    await page.goto(`${server.url}/`);
    // A refresh with nothing new leaves the DOM alone (focus and hover survive): same node.
    // An expando property, not an attribute: it marks the node without changing the markup.
    const marked = () => page.evaluate<boolean>(`document.querySelector("#bots").seen === true`);
    await page.evaluate(`document.querySelector("#bots").seen = true`);
    await page.getByRole("button", { name: "Reconcile now" }).focus();
    await expect.poll(() => text(page.locator("#refreshed")), { timeout: 12_000 }).toMatch(/^refreshed/);
    expect(await marked()).toBe(true);
    expect(await page.evaluate<string | undefined>("document.activeElement?.textContent")).toBe(
      "Reconcile now",
    );
    // The page asks the server for markup; it does not render /api/status itself.
    expect(fetched).toContain("/dashboard/live");
    expect(fetched).not.toContain("/api/status");

    control.state.paused = true;
    control.state.bots[0]!.last!.reason = `<img src=x id=injected onerror="document.title='pwned'">`;
    await expect.poll(() => text(page.locator(".bar .badge")), { timeout: 12_000 }).toBe("paused");
    expect(await page.getByRole("button", { name: "Resume fleet" }).count()).toBe(1);
    expect(await text(page.locator('#bots tr[data-bot="acme-main"] .reason'))).toContain("<img src=x");
    expect(await page.locator("#injected").count()).toBe(0);
    expect(await page.title()).toBe("Fleetwave · host-a");
    expect(await marked()).toBe(false);
    expect(problems).toEqual([]);
  });
});
