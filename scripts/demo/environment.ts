/**
 * Step 1: the local Docker Engine and registry of scripts/test-env.sh (installed with apt and
 * started when missing and root; otherwise the script says exactly what is missing).
 */
import { resolve } from "node:path";
import { DemoError, type Narrator } from "./narrate.ts";
import { ROOT, run } from "./run.ts";

const SCRIPT = resolve(ROOT, "scripts/test-env.sh");

export interface DemoEnvironment {
  /** unix:///…/docker.sock of the private engine */
  dockerHost: string;
  /** 127.0.0.1:<port> of the local registry */
  registry: string;
}

/** Parses the `export NAME=value` lines of `test-env.sh env`, undoing bash's %q quoting of plain values. */
function parseExports(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const match = /^export ([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (match?.[1] && match[2] !== undefined) values[match[1]] = match[2].replace(/\\(.)/g, "$1");
  }
  return values;
}

/** Never talk to anything outside 127.0.0.0/8. */
export function isLoopbackHostPort(hostPort: string): boolean {
  const host = hostPort.replace(/:\d+$/, "");
  return host === "localhost" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

export async function readEnvironment(): Promise<DemoEnvironment> {
  const env = await run("bash", [SCRIPT, "env"]);
  if (env.code !== 0) throw new DemoError(`scripts/test-env.sh env failed: ${env.stderr.trim()}`);
  const values = parseExports(env.stdout);
  const dockerHost = values.DOCKER_HOST;
  const registry = values.FLEETWAVE_REGISTRY;
  if (!dockerHost?.startsWith("unix://") || !registry)
    throw new DemoError(
      `scripts/test-env.sh env printed no usable DOCKER_HOST/FLEETWAVE_REGISTRY:\n${env.stdout}`,
    );
  if (!isLoopbackHostPort(registry))
    throw new DemoError(`the registry ${registry} is not on 127.0.0.0/8; the demo only talks to loopback`);
  return { dockerHost, registry };
}

/** True when the private engine and registry are up (test-env.sh status exits 0). */
export async function environmentRunning(): Promise<boolean> {
  return (await run("bash", [SCRIPT, "status"])).code === 0;
}

export async function bringUpEnvironment(say: Narrator): Promise<DemoEnvironment> {
  const up = await run("bash", [SCRIPT, "up"], {
    env: { ...process.env, FLEETWAVE_TEST_ENV_BROWSER: "0" },
    onStderrLine: (line) => say.say(line),
  });
  if (up.code !== 0) {
    const root = process.getuid?.() === 0;
    throw new DemoError(
      `the local Docker Engine and registry are not available (scripts/test-env.sh up exited ${up.code}); ` +
        "the lines above say what is missing" +
        (root
          ? ""
          : ". The demo installs and starts them itself when run as root: sudo npm run demo " +
            "(or start them once with sudo scripts/test-env.sh up and run the demo from an account that may use their socket)"),
    );
  }
  const env = await readEnvironment();
  // Everything below (dockerode, the image builder, the agent) reads these.
  process.env.DOCKER_HOST = env.dockerHost;
  process.env.FLEETWAVE_REGISTRY = env.registry;
  return env;
}
