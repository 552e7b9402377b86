/**
 * A real GitOps setup for agent tests: a bare repository as the remote, an operator's working
 * clone with fleet-state, test bots on the host network, and agents running in this process
 * (or as the real CLI in a child process).
 */
import { execFile, spawn } from "node:child_process";
import { mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { stringify } from "yaml";
import { Agent, type AgentOptions } from "#fleetwave/agent/agent.ts";
import { DockerAdapter, dockerFromEnv } from "#fleetwave/docker/docker.ts";
import { createApp, type ServerHandle, serve } from "#fleetwave/http/index.ts";
import { createLogger } from "#fleetwave/log/logger.ts";
import type { UserChangelog } from "#fleetwave/model/rollout.ts";
import type { Strategy } from "#fleetwave/model/strategy.ts";
import { createNotifier, type Notifier } from "#fleetwave/notify/index.ts";
import { freePort } from "#scripts/local-env/engine.ts";

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, "../..");
const IDENTITY = ["-c", "user.name=Operator", "-c", "user.email=ops@acme.example"];

export const TOKEN = "alice:alice-token-0123456789";
export const TOKEN_HEADER = { authorization: "Bearer alice-token-0123456789" };

/** Pushes the operator's clone, rebasing over agents' status commits that landed meanwhile. */
export async function pushMain(work: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await git(work, "push", "--quiet", "origin", "HEAD:main");
      return;
    } catch (error) {
      if (attempt >= 5) throw error;
      await git(work, "pull", "--quiet", "--rebase", "origin", "main");
    }
  }
}

export async function git(cwd: string, ...args: string[]): Promise<string> {
  const { stdout } = await run("git", [...IDENTITY, ...args], { cwd, maxBuffer: 32 << 20 });
  return stdout;
}

export interface BotDecl {
  id: string;
  host: string;
  port: number;
  /** Env besides PORT, e.g. a secret `{ fromFile }`. */
  env?: Record<string, string | { fromFile: string }>;
  /** What /health must answer; default `{ status: "ok" }`. */
  expectJson?: Record<string, string>;
  /** Default: the fleet's image. */
  image?: string;
}

export interface TenantDecl {
  tenant: string;
  mode: "auto" | "manual";
  hour: number;
  contacts: string[];
  bots: BotDecl[];
}

export interface FleetDecl {
  image: string;
  tenants: TenantDecl[];
  strategy?: Partial<Strategy>;
  mode?: "auto" | "manual" | "paused";
  windowMinutes?: number;
  admins?: string[];
  webhooks?: { url: string; events: string[] }[];
  keepOnHost?: number;
  drift?: { policy: "report" | "correct"; stopped: "start" | "respect" };
}

/** The hour of `now` in UTC: a window opening then stays open for the test's whole run. */
export const openHour = () => new Date().getUTCHours();
/** An hour whose window (of 60 minutes) is certainly closed now. */
export const closedHour = () => (new Date().getUTCHours() + 12) % 24;

export function fleetYaml(decl: FleetDecl): string {
  return stringify({
    updates: {
      mode: decl.mode ?? "auto",
      defaultPreferredHourUtc: openHour(),
      windowMinutes: decl.windowMinutes ?? 120,
    },
    strategy: {
      name: "rolling-wave",
      batchPercent: 50,
      pauseSeconds: 0,
      maxParallel: 2,
      maxRetries: 0,
      failureThreshold: 2,
      onThreshold: "abort",
      healthCheckTimeoutSeconds: 6,
      minHealthySeconds: 1,
      ...decl.strategy,
    },
    // Test files share their images through the worker's build cache: only tests that say so
    // let the agent's clean-up remove images (the product default is 2).
    images: { allowlist: [`${process.env.FLEETWAVE_REGISTRY}/`], keepOnHost: decl.keepOnHost ?? 100 },
    ...(decl.drift ? { drift: decl.drift } : {}),
    notifications: {
      email: { from: "fleet@acme.example", admins: decl.admins ?? ["ops@acme.example"] },
      ...(decl.webhooks ? { webhooks: decl.webhooks } : {}),
    },
  });
}

export function tenantYaml(decl: FleetDecl, t: TenantDecl): string {
  return stringify({
    tenant: t.tenant,
    update: { mode: t.mode, preferredHourUtc: t.hour },
    contacts: t.contacts,
    bots: t.bots.map((b) => ({
      id: b.id,
      host: b.host,
      image: b.image ?? decl.image,
      volumes: [{ name: `${b.id}-data`, path: "/data" }],
      env: { ...b.env, PORT: String(b.port) },
      network: "host",
      health: { url: `http://127.0.0.1:${b.port}/health`, expectJson: b.expectJson ?? { status: "ok" } },
    })),
  });
}

/** Bots with fresh ports, named uniquely per test run so leftovers never collide. */
export async function bots(prefix: string, host: string, count: number): Promise<BotDecl[]> {
  const out: BotDecl[] = [];
  for (let i = 1; i <= count; i++)
    out.push({ id: `${prefix}-${process.pid}-${i}`, host, port: await freePort() });
  return out;
}

export interface FleetRepo {
  bare: string;
  work: string;
  /** Writes files (paths relative to the repository) in the operator's clone, commits and pushes. */
  commit(files: Record<string, string>, message: string): Promise<string>;
  /** Pulls the remote into the operator's clone. */
  pull(): Promise<void>;
  /** `fleetwave plan` in the operator's clone, committed and pushed; returns the rollout id. */
  plan(image: string, digest: string, changelog?: UserChangelog, extra?: string[]): Promise<string>;
  /** `fleetwave <args>` run in the operator's clone. */
  cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
}

/** `gitConfig` is set in the operator's clone before its first commit (e.g. commit signing). */
export async function fleetRepo(decl: FleetDecl, gitConfig: Record<string, string> = {}): Promise<FleetRepo> {
  const root = await mkdtemp(join(tmpdir(), "fleetwave-agent-"));
  const bare = join(root, "fleet.git");
  const work = join(root, "operator");
  await run("git", ["init", "--quiet", "--bare", "--initial-branch=main", bare]);
  await run("git", ["clone", "--quiet", bare, work]);
  await git(work, "checkout", "--quiet", "-B", "main");
  // The CLI's own commits (fleetwave rollback, quarantine lift) use the clone's identity.
  await git(work, "config", "user.name", "Operator");
  await git(work, "config", "user.email", "ops@acme.example");
  for (const [key, value] of Object.entries(gitConfig)) await git(work, "config", key, value);
  const files: Record<string, string> = { "fleet-state/fleet.yaml": fleetYaml(decl) };
  for (const t of decl.tenants) files[`fleet-state/tenants/${t.tenant}.yaml`] = tenantYaml(decl, t);
  const repo: FleetRepo = {
    bare,
    work,
    async commit(changes, message) {
      await git(work, "pull", "--quiet", "--rebase", "origin", "main").catch(() => "");
      for (const [path, text] of Object.entries(changes)) {
        await mkdir(join(work, path, ".."), { recursive: true });
        await writeFile(join(work, path), text);
      }
      await git(work, "add", "-A");
      await git(work, "commit", "--quiet", "-m", message);
      await pushMain(work);
      return (await git(work, "rev-parse", "HEAD")).trim();
    },
    async pull() {
      // A plain fetch also brings every host's status ref (origin/fleetwave/status/<host>).
      await git(work, "fetch", "--quiet", "--prune", "origin");
      await git(work, "pull", "--quiet", "--rebase", "origin", "main");
    },
    async cli(...args) {
      return new Promise((done) => {
        const child = spawn(process.execPath, [join(ROOT, "agent/bin/fleetwave.js"), ...args], {
          cwd: work,
          env: process.env,
        });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d: Buffer) => {
          stdout += d;
        });
        child.stderr.on("data", (d: Buffer) => {
          stderr += d;
        });
        child.on("close", (code) => done({ code: code ?? 1, stdout, stderr }));
      });
    },
    async plan(image, digest, changelog, extra = []) {
      await repo.pull();
      const args = ["plan", "--image", image, "--digest", digest, ...extra];
      if (changelog) {
        await writeFile(join(root, "changelog.json"), JSON.stringify(changelog));
        args.push("--changelog", join(root, "changelog.json"));
      }
      const result = await repo.cli(...args);
      if (result.code !== 0) throw new Error(`fleetwave plan failed: ${result.stderr}${result.stdout}`);
      const id = /Rollout plan (\S+)/.exec(result.stdout)?.[1];
      if (!id) throw new Error(`no rollout id in: ${result.stdout}`);
      await git(work, "add", "-A");
      await git(work, "commit", "--quiet", "-m", `plan rollout ${id}`);
      await pushMain(work);
      return id;
    },
  };
  await repo.commit(files, "fleet-state: initial fleet");
  return repo;
}

export interface RunningAgent {
  agent: Agent;
  server: ServerHandle;
  dataDir: string;
  logs: string[];
  /** Resolves once every queued notification was delivered; the way tests wait before counting. */
  flushNotifications(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * An agent in this process with its HTTP API on a free loopback port. `now` replaces the agent's
 * clock (the runtime's constructor option), for window tests that cannot wait for an hour.
 */
export async function startAgent(
  repo: string,
  host: string,
  env: Record<string, string> = {},
  dataDir?: string,
  options: Pick<AgentOptions, "trust" | "signingKey" | "secretsDir" | "now"> = {},
): Promise<RunningAgent> {
  const dir = dataDir ?? (await mkdtemp(join(tmpdir(), `fleetwave-${host}-`)));
  const logs: string[] = [];
  const logger = createLogger({
    host,
    format: "text",
    level: "debug",
    write: (line) => logs.push(line.trimEnd()),
  });
  let notifier: Notifier | undefined;
  const agent = new Agent({
    repo,
    host,
    branch: "main",
    dataDir: dir,
    docker: new DockerAdapter(dockerFromEnv()),
    stopTimeoutSeconds: 5,
    ...options,
    notifier: async (state) => {
      notifier = await createNotifier({
        dataDir: dir,
        host,
        fleet: state.fleet,
        tenants: state.tenants,
        env,
        log: (line) => logger.info({ component: "notify" }, line),
        backoff: { initialMs: 50, maxMs: 500 },
      });
      return notifier;
    },
    logger,
  });
  await agent.start();
  const app = createApp(agent, {
    tokens: [{ name: "alice", token: "alice-token-0123456789" }],
    webhookSecret: "hook-secret",
    log: (line) => logger.error({ component: "http" }, line),
  });
  const server = await serve(app, { listen: `127.0.0.1:${await freePort()}` });
  return {
    agent,
    server,
    dataDir: dir,
    logs,
    async flushNotifications() {
      if (notifier && !(await notifier.flush(30_000)))
        throw new Error(`notifications still pending after 30 s:\n${logs.slice(-20).join("\n")}`);
    },
    async stop() {
      await server.close(1000);
      await agent.stop();
    },
  };
}

/** Reads a file as it is on the remote's main. */
export async function remoteFile(bare: string, path: string): Promise<string> {
  return git(bare, "show", `main:${path}`);
}

/**
 * A host's status file on the remote: its status ref `fleetwave/status/<host>`, or the file on
 * main for a host that has not moved to its ref.
 */
export async function remoteStatusFile(bare: string, host: string): Promise<string> {
  const path = `fleet-state/status/${host}.yaml`;
  return git(bare, "show", `refs/heads/fleetwave/status/${host}:${path}`).catch(() => remoteFile(bare, path));
}

/** The log of main and of every host's status ref (the audit commits), newest first. */
export async function remoteLog(bare: string): Promise<string> {
  return git(
    bare,
    "log",
    "--date-order",
    "--format=%H%n%an%n%B%n----",
    "main",
    "--glob=refs/heads/fleetwave/status/*",
  );
}

export async function readJson<T>(path: string): Promise<T> {
  return JSON.parse(await readFile(path, "utf8")) as T;
}

/** Polls `check` until it returns a value, for background work such as "Update now". */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  timeoutMs = 60_000,
  what = "condition",
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
