/**
 * Memory of an idle agent with 1,000 declared bots: the built CLI (dist/) runs `fleetwave agent`
 * for a host that 1,000 bots (200 tenants × 5) are declared on, against the test engine. Their
 * image tag does not exist in the local registry, so the agent loads, validates and tracks all
 * 1,000 bots (status, schedule, API) but creates no container: this measures the agent's own
 * footprint, not 1,000 containers' adoption (which the shared 2-core test engine cannot host).
 *
 *   bash scripts/test-env.sh up && eval "$(bash scripts/test-env.sh env)"
 *   npx tsx bench/agent-idle.bench.ts [--settle 20] [--samples 10]
 *
 * Goal: resident set ≤ 150 MB once idle. Prints RSS (VmRSS) samples and the peak (VmHWM).
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { build } from "esbuild";
import { fleetFiles, type TenantSpec } from "../agent/src/plan/testing.ts";
import { buildCommit, buildOptions, repoRoot } from "../scripts/build.ts";

const GOAL_MB = 150;
const HOST = "bench-host";
const { values } = parseArgs({
  options: { settle: { type: "string", default: "20" }, samples: { type: "string", default: "10" } },
});

const registry = process.env.FLEETWAVE_REGISTRY;
if (!process.env.DOCKER_HOST || !registry) {
  throw new Error(
    'DOCKER_HOST and FLEETWAVE_REGISTRY are unset: eval "$(bash scripts/test-env.sh env)" first',
  );
}
const image = `${registry}/fleetwave-bench/absent:managed`;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const address = server.address();
  await new Promise((done) => server.close(done));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

const kib = (status: string, field: string) =>
  Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1]);
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

await build(buildOptions(buildCommit(repoRoot)));
const root = await mkdtemp(join(tmpdir(), "fleetwave-idle-"));
const work = join(root, "work");
const tenants: TenantSpec[] = Array.from({ length: 200 }, (_, t) => ({
  tenant: `tenant-${String(t).padStart(3, "0")}`,
  bots: Array.from({ length: 5 }, (_, b) => ({ id: `idle-${t}-${b}`, host: HOST, image })),
}));
for (const file of fleetFiles({ tenants, allowlist: [`${registry}/`] })) {
  await mkdir(join(work, "fleet-state", file.path, ".."), { recursive: true });
  await writeFile(join(work, "fleet-state", file.path), file.text);
}
const git = (cwd: string, ...args: string[]) =>
  execFileSync("git", ["-c", "user.name=Bench", "-c", "user.email=bench@example.com", ...args], { cwd });
git(work, "init", "--quiet", "--initial-branch=main");
git(work, "add", ".");
git(work, "commit", "--quiet", "-m", "1,000 bots");
git(root, "clone", "--quiet", "--bare", work, join(root, "fleet.git"));

const port = await freePort();
const agent = spawn(
  process.execPath,
  [
    join(repoRoot, "dist/fleetwave.js"),
    "agent",
    "--repo",
    join(root, "fleet.git"),
    "--host",
    HOST,
    "--data-dir",
    join(root, "data"),
    "--listen",
    `127.0.0.1:${port}`,
  ],
  { stdio: ["ignore", "ignore", "pipe"], env: process.env },
);
let log = "";
agent.stderr.on("data", (d: Buffer) => {
  log += d;
});
try {
  let bots = 0;
  for (let i = 0; i < 120 && bots < 1000; i++) {
    await sleep(1000);
    const status = await fetch(`http://127.0.0.1:${port}/api/status`)
      .then((r) => r.json() as Promise<{ bots?: unknown[] }>)
      .catch(() => undefined);
    bots = status?.bots?.length ?? 0;
  }
  if (bots < 1000) throw new Error(`the agent does not report 1,000 bots (got ${bots}); its log:\n${log}`);
  await sleep(Number(values.settle) * 1000);
  const rss: number[] = [];
  let peak = 0;
  for (let i = 0; i < Number(values.samples); i++) {
    const status = await readFile(`/proc/${agent.pid}/status`, "utf8");
    rss.push(kib(status, "VmRSS") / 1024);
    peak = kib(status, "VmHWM") / 1024;
    await sleep(1000);
  }
  const sorted = [...rss].sort((a, b) => a - b);
  const median = sorted[sorted.length >> 1]!;
  console.log(`agent idle with ${bots} declared bots on its host (no containers):`);
  console.log(`  RSS samples (MB): ${rss.map((x) => x.toFixed(1)).join(" ")}`);
  console.log(`  median RSS ${median.toFixed(1)} MB, peak (VmHWM) ${peak.toFixed(1)} MB`);
  console.log(`  goal ≤ ${GOAL_MB} MB: ${median <= GOAL_MB ? "met" : "NOT met"}`);
} finally {
  agent.kill("SIGTERM");
  await new Promise((done) => agent.once("close", done));
  await rm(root, { recursive: true, force: true });
}
