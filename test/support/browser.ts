/**
 * Headless Chromium for e2e tests: Debian's `chromium` package driven by playwright-core (which
 * never downloads a browser). Fresh profile per launch, background networking off, and every
 * page request outside 127.0.0.0/8 aborted, so a test can only talk to its own local servers.
 *
 * CI installs the browser with: apt-get install -y chromium
 */
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium } from "playwright-core";

export const CHROMIUM_PATH = "/usr/bin/chromium";
export const CHROMIUM_APT_LINE = "apt-get install -y chromium";

const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-domain-reliability",
  "--disable-client-side-phishing-detection",
  "--no-pings",
  // Name resolution only for localhost: nothing else can even be looked up.
  "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1, EXCLUDE [::1]",
];

export interface TestBrowser {
  context: BrowserContext;
  /** URLs the page tried to reach outside loopback (aborted). */
  blocked: string[];
  close(): Promise<void>;
}

function isLoopbackUrl(url: string): boolean {
  const { protocol, hostname } = new URL(url);
  if (protocol === "data:" || protocol === "about:" || protocol === "blob:") return true;
  const host = hostname.replace(/^\[|\]$/g, "");
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** Throws (does not skip) when the browser is missing, saying how to install it. */
export function requireChromium(): void {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `e2e tests need Debian's Chromium at ${CHROMIUM_PATH}, which is missing. Install it with:\n  ${CHROMIUM_APT_LINE}`,
    );
  }
}

export async function launchBrowser(): Promise<TestBrowser> {
  requireChromium();
  const userDataDir = await mkdtemp(join(tmpdir(), "fleetwave-chromium-"));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ARGS,
    viewport: { width: 1280, height: 900 },
    env: { ...process.env, TZ: "UTC" },
  });
  const blocked: string[] = [];
  await context.route("**/*", (route) => {
    const url = route.request().url();
    if (isLoopbackUrl(url)) return route.continue();
    blocked.push(url);
    return route.abort("blockedbyclient");
  });
  return {
    context,
    blocked,
    close: async () => {
      await context.close();
      await rm(userDataDir, { recursive: true, force: true });
    },
  };
}
