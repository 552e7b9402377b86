/**
 * The local Docker Engine and registry that the tests and `fleetwave demo` share (started by
 * scripts/test-env.sh, which sets DOCKER_HOST and FLEETWAVE_REGISTRY before anything uses them).
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
    throw new Error('FLEETWAVE_REGISTRY is unset; `eval "$(scripts/test-env.sh env)"` sets it');
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
const STRIPES = 12;

/**
 * This process's share of PORT_RANGE. Test files run side by side in vitest workers, and a port
 * one of them picked is free until its bot binds it, minutes later: a stripe per worker
 * (VITEST_POOL_ID counts from 1) keeps two workers from picking the same one meanwhile.
 */
export function portStripe(poolId: string | undefined): { from: number; to: number } {
  const width = (PORT_RANGE.to - PORT_RANGE.from) / STRIPES;
  const id = Number(poolId);
  if (!Number.isInteger(id) || id < 1) return PORT_RANGE;
  const from = PORT_RANGE.from + ((id - 1) % STRIPES) * width;
  return { from, to: from + width };
}

/**
 * Every port this process handed out. Drawn at random alone, two bots of a 30-bot test share a
 * port in about 1 run of 28, and the second then fails to bind, its rollback included.
 */
const handedOut = new Set<number>();

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
  const range = portStripe(process.env.VITEST_POOL_ID);
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = range.from + Math.floor(Math.random() * (range.to - range.from));
    if (handedOut.has(port) || !(await bindable(port))) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error(`no free port on 127.0.0.1 between ${range.from} and ${range.to}`);
}
