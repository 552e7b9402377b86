/**
 * Agent cost per reconcile at scale: one real agent (the real Agent, the real DockerAdapter on the
 * private test engine) for a host with 200 running bots, in a fleet of 10,000 bots (2,000 tenants
 * on 50 hosts, bench/synthetic-fleet.ts) whose 49 other hosts keep their status on their status
 * refs.
 *
 *   bash scripts/test-env.sh up && eval "$(bash scripts/test-env.sh env)"
 *   npx tsx bench/reconcile-cost.bench.ts [--rounds 5] [--skip-sequential] [--cpu-profile FILE]
 *
 * First the agent creates its 200 bots (tiny test images, health-gated) twice, in the same run:
 * with `maxParallel: 1`, then, after every container is removed, with the default; their ratio
 * is the gain of parallel creation. Then, for `--rounds` rounds, the CPU (this process plus the
 * git children it waited for, from /proc) and the wall time of one reconcile after: nothing
 * changed (idle), another host's status ref moved, and a human commit on main (a tenant edit).
 * `--skip-sequential` creates the bots once, with the default only; `--cpu-profile` writes a V8
 * CPU profile of the measured reconciles (open it in Chrome's DevTools).
 *
 * Goal: under 1 s of CPU per reconcile.
 */
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { Session } from "node:inspector/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { parseArgs, promisify } from "node:util";
import { Agent } from "../agent/src/agent/agent.ts";
import { runPool } from "../agent/src/agent/pool.ts";
import { DockerAdapter, dockerFromEnv } from "../agent/src/docker/docker.ts";
import { commitStatusSnapshot } from "../agent/src/git/status-refs.ts";
import { createLogger } from "../agent/src/log/logger.ts";
import { buildTestImage } from "../scripts/local-env/bot-image.ts";
import { dockerClient, freePort, registryHost } from "../scripts/local-env/engine.ts";
import { cpuSeconds, median } from "./cpu.ts";
import { HOSTS, hostName, syntheticFleet, TENANTS } from "./synthetic-fleet.ts";

const GOAL_CPU_S = 1;
const AGENT_HOST = hostName(0);
const MOVING_HOST = hostName(7);

const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: "5" },
    "skip-sequential": { type: "boolean", default: false },
    "cpu-profile": { type: "string" },
  },
});
const rounds = Math.max(1, Number(values.rounds));
const run = promisify(execFile);
const git = (cwd: string, ...args: string[]) =>
  run("git", ["-c", "user.name=Operator", "-c", "user.email=ops@acme.example", ...args], {
    cwd,
    maxBuffer: 64 << 20,
  }).then((r) => r.stdout);

const repository = `${registryHost()}/fleetwave-bench/reconcile`;
const image = await buildTestImage({ version: "1.0.0", repository, tag: "managed" });

// This host's bots really run: the test image, each on its own loopback port.
const ports = new Set<number>();
while (ports.size < (TENANTS * 5) / HOSTS) ports.add(await freePort());
const portList = [...ports];
let nextPort = 0;
const agentBots = new Map<string, number>();
const files = (strategy: Record<string, number>) => {
  nextPort = 0;
  return syntheticFleet({
    allowlist: ["ghcr.io/acme/", `${registryHost()}/`],
    strategy: { healthCheckTimeoutSeconds: 60, minHealthySeconds: 0, ...strategy },
    bot: (spec) => {
      if (spec.host !== AGENT_HOST) return spec;
      const port = portList[nextPort++]!;
      agentBots.set(spec.id, port);
      return { id: spec.id, host: spec.host, image: image.ref, port };
    },
  });
};

// ------------------------------------------------------------------ the remote
const root = await mkdtemp(join(tmpdir(), "fleetwave-reconcile-cost-"));
const bare = join(root, "fleet.git");
const work = join(root, "operator");
await run("git", ["init", "--quiet", "--bare", "--initial-branch=main", bare]);
await run("git", ["clone", "--quiet", bare, work]);
await git(work, "checkout", "--quiet", "-B", "main");

async function writeState(strategy: Record<string, number>, message: string): Promise<void> {
  for (const f of files(strategy)) {
    if (f.path.startsWith("status/")) continue;
    const path = join(work, "fleet-state", f.path);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, f.text);
  }
  await git(work, "add", "-A");
  await git(work, "commit", "--quiet", "-m", message);
  await git(work, "push", "--quiet", "origin", "HEAD:main");
}

const author = { name: "Agent", email: "agent@acme.example" };
const statusTips = new Map<string, string>();
async function pushStatus(host: string, text: string): Promise<void> {
  const parent = statusTips.get(host);
  const sha = await commitStatusSnapshot(
    { cwd: work },
    { host, text, message: `status of ${host}`, author, ...(parent ? { parent } : {}) },
  );
  statusTips.set(host, sha);
}

await writeState({ maxParallel: 1 }, "fleet-state: 10,000 bots, maxParallel 1");
const statusTexts = new Map(
  files({})
    .filter((f) => f.path.startsWith("status/"))
    .map((f) => [f.path.slice("status/".length, -".yaml".length), f.text]),
);
for (const [host, text] of statusTexts) if (host !== AGENT_HOST) await pushStatus(host, text);
await git(
  work,
  "push",
  "--quiet",
  "origin",
  ...[...statusTips].map(([host, sha]) => `${sha}:refs/heads/fleetwave/status/${host}`),
);

// ------------------------------------------------------------------ the agent
const logs: string[] = [];
const dataDir = join(root, "agent");
const agent = new Agent({
  repo: bare,
  host: AGENT_HOST,
  branch: "main",
  dataDir,
  docker: new DockerAdapter(dockerFromEnv()),
  stopTimeoutSeconds: 5,
  logger: createLogger({ host: AGENT_HOST, format: "text", level: "warn", write: (l) => logs.push(l) }),
});
await agent.start();

interface Cost {
  /** CPU of the agent's process, and of the git processes it ran. */
  selfS: number;
  gitS: number;
  wallS: number;
}

async function reconcile(reason: string): Promise<Cost> {
  const cpu = cpuSeconds();
  const started = performance.now();
  const report = await agent.reconcile(reason);
  const wallS = (performance.now() - started) / 1000;
  const after = cpuSeconds();
  if (report.errors.length > 0 || report.failed.length > 0)
    throw new Error(
      `reconcile (${reason}) failed: ${[...report.errors, ...report.failed].slice(0, 5).join("; ")}\n${logs.slice(-10).join("\n")}`,
    );
  return { selfS: after.self - cpu.self, gitS: after.children - cpu.children, wallS };
}

/** This host's containers and volumes, a few at a time: hundreds of force-removals at once wedged dockerd here. */
async function removeBots(): Promise<void> {
  const docker = dockerClient();
  const containers = await docker.listContainers({
    all: true,
    filters: { label: ["fleetwave.managed=true"] },
  });
  await runPool(
    containers.filter((c) => agentBots.has(c.Labels["fleetwave.bot"] ?? "")),
    4,
    async (c) => {
      await docker.getContainer(c.Id).remove({ force: true, v: true });
    },
  );
  const volumes = (await docker.listVolumes()).Volumes ?? [];
  await runPool(
    volumes.filter((v) => agentBots.has(v.Name.replace(/-data$/, ""))),
    4,
    async (v) => {
      await docker.getVolume(v.Name).remove();
    },
  );
}

async function create(label: string): Promise<number> {
  const started = performance.now();
  const report = await agent.reconcile(label);
  const seconds = (performance.now() - started) / 1000;
  const created = report.outcomes.filter((o) => o.result === "updated").length;
  if (created !== agentBots.size || report.failed.length > 0)
    throw new Error(
      `${label}: ${created} of ${agentBots.size} bots created; ${report.failed.slice(0, 3).join("; ")}`,
    );
  return seconds;
}

console.log(
  `reconcile-cost: ${TENANTS * 5} bots in ${TENANTS} tenants on ${HOSTS} hosts; ${AGENT_HOST} runs ${agentBots.size}; ${cpus().length} × ${cpus()[0]?.model ?? "unknown CPU"}, node ${process.version}, load ${loadavg()[0]?.toFixed(1)}`,
);

let sequentialS = 0;
let parallelS = 0;
try {
  await removeBots();
  if (!values["skip-sequential"]) {
    sequentialS = await create("create, maxParallel 1");
    await removeBots();
  }
  await writeState({}, "fleet-state: default maxParallel");
  parallelS = await create("create, default maxParallel");
  console.log(
    values["skip-sequential"]
      ? `create ${agentBots.size} bots: default (4) ${parallelS.toFixed(1)} s`
      : `create ${agentBots.size} bots: maxParallel 1 ${sequentialS.toFixed(1)} s, default (4) ${parallelS.toFixed(1)} s: ${(sequentialS / parallelS).toFixed(2)}× faster`,
  );

  await reconcile("warm-up");
  const profiler = values["cpu-profile"] ? new Session() : undefined;
  if (profiler) {
    profiler.connect();
    await profiler.post("Profiler.enable");
    await profiler.post("Profiler.start");
  }
  const samples = { idle: [] as Cost[], status: [] as Cost[], main: [] as Cost[] };
  const tenantFile = join(work, "fleet-state/tenants/tenant-0000.yaml");
  for (let r = 0; r < rounds; r += 1) {
    samples.idle.push(await reconcile("idle"));

    const moved = statusTexts
      .get(MOVING_HOST)!
      .replace(/updatedAt: .*/, `updatedAt: ${new Date(Date.UTC(2026, 10, 27, 6, r)).toISOString()}`);
    await pushStatus(MOVING_HOST, moved);
    await git(
      work,
      "push",
      "--quiet",
      "origin",
      `${statusTips.get(MOVING_HOST)}:refs/heads/fleetwave/status/${MOVING_HOST}`,
    );
    samples.status.push(await reconcile("status ref moved"));

    const text = await readFile(tenantFile, "utf8");
    await writeFile(tenantFile, text.replace(/preferredHourUtc: \d+/, `preferredHourUtc: ${(r + 1) % 24}`));
    await git(work, "commit", "--quiet", "-am", `tenant-0000: preferred hour ${(r + 1) % 24}`);
    await git(work, "push", "--quiet", "origin", "HEAD:main");
    samples.main.push(await reconcile("tenant edit on main"));
  }
  if (profiler) {
    const { profile } = await profiler.post("Profiler.stop");
    await writeFile(values["cpu-profile"]!, JSON.stringify(profile));
    profiler.disconnect();
  }
  console.log(`median of ${rounds} rounds, after one warm-up:`);
  const ms = (s: number) => `${(s * 1000).toFixed(0).padStart(5)} ms`;
  const row = (label: string, key: keyof typeof samples) => {
    const total = samples[key].map((c) => c.selfS + c.gitS);
    const cpu = median(total);
    console.log(
      `  ${label.padEnd(36)} CPU ${ms(cpu)} (agent ${ms(median(samples[key].map((c) => c.selfS)))}, git ${ms(median(samples[key].map((c) => c.gitS)))})  wall ${ms(median(samples[key].map((c) => c.wallS)))}  [CPU of each: ${total.map((s) => (s * 1000).toFixed(0)).join(", ")} ms]  goal < ${GOAL_CPU_S} s: ${cpu < GOAL_CPU_S ? "met" : "MISSED"}`,
    );
  };
  row("idle (nothing changed)", "idle");
  row("another host's status ref moved", "status");
  row("human commit on main (tenant edit)", "main");
} finally {
  await agent.stop();
  await removeBots();
  await rm(root, { recursive: true, force: true });
}
