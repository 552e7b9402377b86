/**
 * Small helpers shared by integration tests that talk to the private test engine started by
 * scripts/test-env.sh (see test/support/global-setup.ts, which sets DOCKER_HOST and
 * FLEETWAVE_REGISTRY before any worker starts).
 */
import { createServer } from "node:net";
import Docker from "dockerode";

/** The test engine's DOCKER_HOST (unix://…); throws when global setup did not run. */
export function testDockerHost(): string {
  const host = process.env.DOCKER_HOST;
  if (!host?.startsWith("unix://")) {
    throw new Error(
      `DOCKER_HOST is ${host === undefined ? "unset" : `"${host}"`}; integration tests expect ` +
        "test/support/global-setup.ts to point it at the private engine (unix://…)",
    );
  }
  return host;
}

let client: Docker | undefined;

/** A dockerode client for the test engine (one per worker; dockerode keeps no connection open). */
export function dockerClient(): Docker {
  client ??= new Docker({ socketPath: testDockerHost().slice("unix://".length) });
  return client;
}

/** The local registry's host:port (FLEETWAVE_REGISTRY), checked to be on loopback. */
export function registryHost(): string {
  const registry = process.env.FLEETWAVE_REGISTRY;
  if (!registry) {
    throw new Error("FLEETWAVE_REGISTRY is unset; test/support/global-setup.ts sets it");
  }
  assertLoopback(`http://${registry}/`);
  return registry;
}

/**
 * Throws unless the URL points at 127.0.0.0/8 or localhost: tests must never send traffic
 * anywhere else, and a typo in a fixture should fail loudly rather than reach the network.
 */
export function assertLoopback(url: string): void {
  const { hostname } = new URL(url);
  if (hostname === "localhost" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname)) return;
  throw new Error(`refusing to contact ${url}: tests only talk to 127.0.0.0/8`);
}

/** Below Linux's default ephemeral range (32768–60999), which outgoing connections draw from. */
const PORT_RANGE = { from: 20_000, to: 32_000 };

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/**
 * A TCP port that was free on 127.0.0.1 a moment ago. Another process can take it before the
 * caller binds it; with host-networked bots that is the best an outside observer can do. It is
 * taken outside the ephemeral range: a port from `listen(0)` can be handed out again as the
 * local port of any client connection (a health probe, a fetch), and a bot restarted onto it
 * then fails to bind.
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = PORT_RANGE.from + Math.floor(Math.random() * (PORT_RANGE.to - PORT_RANGE.from));
    if (await bindable(port)) return port;
  }
  throw new Error(`no free port on 127.0.0.1 between ${PORT_RANGE.from} and ${PORT_RANGE.to}`);
}

export interface HttpAnswer {
  status: number;
  body: string;
}

export interface WaitForHttpOptions {
  /** Which status ends the wait; default any 2xx. */
  accept?: (status: number) => boolean;
  /** Per-request timeout; default 1000 ms (bounded by what is left of the overall timeout). */
  requestTimeoutMs?: number;
}

/**
 * Polls `url` with GET until it answers with an accepted status, and returns that answer.
 * Starts fast (25 ms) and backs off to 250 ms, so a bot that is up is seen almost at once.
 * On timeout the error names the last status or connection error seen.
 */
export async function waitForHttp(
  url: string,
  timeoutMs: number,
  options: WaitForHttpOptions = {},
): Promise<HttpAnswer> {
  assertLoopback(url);
  const accept = options.accept ?? ((status: number) => status >= 200 && status < 300);
  const deadline = Date.now() + timeoutMs;
  let delay = 25;
  let last = "no attempt";
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0)
      throw new Error(`${url} did not answer as expected within ${timeoutMs} ms (last: ${last})`);
    try {
      const response = await fetch(url, {
        signal: AbortSignal.timeout(Math.max(1, Math.min(options.requestTimeoutMs ?? 1000, left))),
      });
      const body = await response.text();
      if (accept(response.status)) return { status: response.status, body };
      last = `HTTP ${response.status} ${body.slice(0, 200)}`;
    } catch (error) {
      last = describeFetchError(error);
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(delay, Math.max(0, deadline - Date.now()))));
    delay = Math.min(delay * 2, 250);
  }
}

/** fetch hides the useful part (ECONNREFUSED, timeout) in `cause`. */
export function describeFetchError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause;
  if (cause instanceof Error) {
    const code = (cause as NodeJS.ErrnoException).code;
    return code ? `${code}: ${cause.message}` : cause.message;
  }
  return `${error.name}: ${error.message}`;
}

/**
 * Force-removes every container (running or not, with its anonymous volumes) carrying `label`,
 * given as "key" or "key=value". Returns how many were removed. Containers that vanish
 * meanwhile are fine: tests clean up concurrently with the engine's own auto-removal.
 */
export async function removeContainersByLabel(label: string): Promise<number> {
  const docker = dockerClient();
  const containers = await docker.listContainers({ all: true, filters: { label: [label] } });
  let removed = 0;
  for (const info of containers) {
    try {
      await docker.getContainer(info.Id).remove({ force: true, v: true });
      removed += 1;
    } catch (error) {
      const status = (error as { statusCode?: number }).statusCode;
      if (status !== 404 && status !== 409) throw error;
    }
  }
  return removed;
}
