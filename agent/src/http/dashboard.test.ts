import { execFile } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { formatTime, renderDashboard, renderLive } from "./dashboard.tsx";
import { sampleStatus } from "./fake-control.ts";

const run = promisify(execFile);

describe("dashboard rendering", () => {
  it("formats times in UTC", () => {
    expect(formatTime("2026-11-27T07:12:30+01:00")).toBe("2026-11-27 06:12 UTC");
    expect(formatTime(undefined)).toBe("—");
  });

  it("escapes ids, tenants, reasons and error text in markup and attributes", () => {
    const status = sampleStatus();
    status.host = `h"><script>`;
    status.bots[2]!.tenant = "<b>t</b>";
    status.rollouts[0]!.control = { state: "paused", by: "<i>eve</i>", reason: `"quoted" & <tagged>` };
    const page = renderDashboard({ status, branch: "<br0>", nonce: "n0nce" });
    expect(page).not.toMatch(/<script>|<b>t<\/b>|<i>eve|<tagged>|<br0>/);
    expect(page).toContain("&lt;b&gt;t&lt;/b&gt;");
    expect(page).toContain("&lt;i&gt;eve&lt;/i&gt;: &quot;quoted&quot; &amp; &lt;tagged&gt;");
    expect(page).toContain('<script nonce="n0nce">');
  });

  it("offers the actions that fit each state", () => {
    const status = sampleStatus();
    let live = renderLive(status);
    expect(live).toContain('data-action="fleet-pause"');
    expect(live).toContain('data-action="update-bot" data-id="gamma-1"');
    expect(live).toContain('data-action="rollout-pause"');

    status.paused = true;
    status.rollouts[0]!.control = { state: "aborted" };
    delete status.bots[2]!.updateAvailable;
    live = renderLive(status);
    expect(live).toContain('data-action="fleet-resume"');
    expect(live).not.toContain('data-action="update-bot"');
    expect(live).not.toMatch(/data-action="rollout-/);
  });
});

describe("dashboard.tsx outside the repository's directory", () => {
  it("renders with hono/jsx when the process runs from elsewhere (no tsconfig in reach)", async () => {
    // The agent is started from any directory (systemd, /); its JSX must not depend on tsconfig.
    const cwd = await mkdtemp(join(tmpdir(), "fleetwave-jsx-"));
    const module = new URL("./dashboard.tsx", import.meta.url).href;
    // As agent/bin/fleetwave.js does it: tsx's register(), then import the sources.
    const tsx = import.meta.resolve("tsx/esm/api");
    const script = `(await import(${JSON.stringify(tsx)})).register();
const { renderLive } = await import(${JSON.stringify(module)});
const { sampleStatus } = await import(${JSON.stringify(new URL("./fake-control.ts", import.meta.url).href)});
process.stdout.write(renderLive(sampleStatus()));`;
    const { stdout } = await run(process.execPath, ["--input-type=module", "-e", script], {
      cwd,
      env: { PATH: process.env.PATH ?? "", NODE_PATH: "" },
    });
    expect(stdout).toBe(renderLive(sampleStatus()));
  }, 60_000);
});
