/**
 * A Docker Engine (and registry) of a test's own, for tests that stop, kill and restart dockerd:
 * the shared engine of scripts/test-env.sh must never be touched, so this one has its own state
 * dir, socket, exec root, pidfile and registry port. Images still come from the shared registry
 * (127.0.0.0/8 registries are insecure-allowed by default), where test/support/images.ts pushes them.
 */
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import Docker from "dockerode";
import { DockerAdapter } from "#fleetwave/docker/docker.ts";
import { freePort } from "#scripts/local-env/engine.ts";

const SCRIPT = resolve(import.meta.dirname, "../../scripts/test-env.sh");

export interface PrivateEngine {
  /** The state dir (data root, exec root, socket, pidfile, logs). */
  dir: string;
  /** unix://… for DOCKER_HOST. */
  dockerHost: string;
  /** A fresh adapter on this engine (dockerode keeps no connection open). */
  adapter(): DockerAdapter;
  /** Signals dockerd and waits until the process is gone (its containerd may live on after SIGKILL). */
  kill(signal: "SIGTERM" | "SIGKILL"): Promise<void>;
  /** Starts dockerd again (and the registry if needed); resolves once it answers. */
  up(): Promise<void>;
  /** Stops everything and deletes the state dir. */
  destroy(): Promise<void>;
}

function script(command: string, env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((done, fail) => {
    execFile("bash", [SCRIPT, ...command.split(" ")], { env, maxBuffer: 16 << 20 }, (error, _out, stderr) => {
      if (error) fail(new Error(`scripts/test-env.sh ${command} failed: ${stderr || error.message}`));
      else done();
    });
  });
}

/** Alive and not a zombie: a dockerd reparented to an init that does not reap would look alive to kill(0). */
async function alive(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => undefined);
  if (!stat) return false;
  const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
  return state !== "Z" && state !== "X";
}

/** Starts an engine in `/tmp/fwe-<name>-<pid>` (short: a unix socket path must stay under 108 bytes). */
export async function startPrivateEngine(name: string): Promise<PrivateEngine> {
  const dir = `/tmp/fwe-${name}-${process.pid}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    FLEETWAVE_TEST_ENV_DIR: dir,
    FLEETWAVE_TEST_DOCKER_SOCK: `${dir}/docker.sock`,
    FLEETWAVE_TEST_REGISTRY_PORT: String(await freePort()),
    FLEETWAVE_TEST_ENV_BROWSER: "0",
  };
  const socketPath = `${dir}/docker.sock`;
  const engine: PrivateEngine = {
    dir,
    dockerHost: `unix://${socketPath}`,
    adapter: () => new DockerAdapter(new Docker({ socketPath })),
    async kill(signal) {
      const text = await readFile(`${dir}/dockerd.pid`, "utf8");
      const pid = Number(text.trim());
      if (!Number.isInteger(pid) || pid <= 1)
        throw new Error(`no dockerd pid in ${dir}/dockerd.pid: "${text}"`);
      process.kill(pid, signal);
      const deadline = Date.now() + 60_000;
      while (await alive(pid)) {
        if (Date.now() > deadline) throw new Error(`dockerd ${pid} did not exit within 60 s of ${signal}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    up: () => script("up", env),
    destroy: () => script("down --purge", env),
  };
  await engine.up();
  return engine;
}
