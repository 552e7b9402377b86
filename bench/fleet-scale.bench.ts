/**
 * Status layouts at fleet scale: N hosts run a rolling-wave rollout of W waves against one bare
 * remote, once with every status on `main` (the old layout) and once with a status ref per host,
 * in the same run. Each host is the agent's real git layer (`Workspace`: one fetch of main and
 * every status ref, commit, push with the agent's replay and retry); the wave barrier reads every
 * host's `wavesDone` the way the agent does (status refs, else the files on main), and the bots'
 * updates are simulated by a fixed time per wave (`--step-ms`, the floor of each wave).
 *
 *   npx tsx bench/fleet-scale.bench.ts [--hosts 10,30] [--waves 4] [--bots 10] [--step-ms 2000]
 *                                       [--poll-ms 250] [--layouts main,refs]
 *
 * Prints per layout and N: completion time against the sum of the wave floors, pushes and
 * rejected pushes per host, commits lost (a host's status commits missing on the remote), the
 * CPU (this process and its git children) per host tick, and the remote's size. All hosts run as
 * concurrent tasks of this one process: every git call is its own process either way.
 */
import { readFileSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Workspace } from "../agent/src/agent/workspace.ts";
import { formatAuditCommit } from "../agent/src/audit/commit-message.ts";
import { git } from "../agent/src/git/git.ts";

const { values } = parseArgs({
  options: {
    hosts: { type: "string", default: "10,30" },
    waves: { type: "string", default: "4" },
    bots: { type: "string", default: "10" },
    "step-ms": { type: "string", default: "2000" },
    "poll-ms": { type: "string", default: "250" },
    layouts: { type: "string", default: "main,refs" },
  },
});
const WAVES = Number(values.waves);
const BOTS = Number(values.bots);
const STEP_MS = Number(values["step-ms"]);
const POLL_MS = Number(values["poll-ms"]);
type Layout = "main" | "refs";

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));
const hostId = (i: number) => `host-${String(i).padStart(3, "0")}`;

/** CPU seconds of this process plus its reaped children (the git processes), from /proc. */
function cpuSeconds(): number {
  const fields = readFileSync("/proc/self/stat", "utf8").split(") ")[1]!.split(" ");
  // utime, stime, cutime, cstime are fields 14–17 of stat(5); here offset by the two dropped.
  const ticks = [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i]), 0);
  return ticks / 100;
}

function statusText(host: string, wavesDone: number): string {
  const bots = Array.from(
    { length: BOTS },
    (_, b) =>
      `  ${host}-bot-${b}:\n    digest: sha256:${(wavesDone > 0 ? "b" : "a").repeat(64)}\n    state: running\n`,
  ).join("");
  return `host: ${host}\nobservedCommit: none\nupdatedAt: ${new Date().toISOString()}\nbots:\n${bots}rollouts:\n  bench:\n    state: ${wavesDone === WAVES ? "completed" : "in-progress"}\n    wavesDone: ${wavesDone}\n    bots: {}\nquarantine: []\n`;
}

/** Every host's wavesDone as this clone sees it: status refs first, else the files on main. */
async function wavesDoneOf(ws: Workspace): Promise<Map<string, number>> {
  const done = new Map<string, number>();
  const dir = join(ws.o.dir, "fleet-state", "status");
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const text = await readFile(join(dir, name), "utf8");
    done.set(name.replace(/\.yaml$/, ""), Number(/wavesDone: (\d+)/.exec(text)?.[1] ?? 0));
  }
  for (const [host, r] of await ws.statusRefs())
    done.set(host, Number(/wavesDone: (\d+)/.exec(r.text)?.[1] ?? 0));
  return done;
}

interface HostResult {
  pushesOk: number;
  rejected: number;
  ticks: number;
  finishedAt: number;
}

async function runHost(
  ws: Workspace,
  layout: Layout,
  hosts: readonly string[],
  started: number,
): Promise<HostResult> {
  let ticks = 0;
  const host = ws.o.host;
  for (let wave = 1; wave <= WAVES; wave += 1) {
    // The barrier: every host finished wave - 1 (one fetch of main and every status ref per tick).
    for (;;) {
      ticks += 1;
      await ws.sync();
      const done = await wavesDoneOf(ws);
      if (hosts.every((h) => (done.get(h) ?? 0) >= wave - 1)) break;
      await sleep(POLL_MS * (0.9 + Math.random() * 0.2));
    }
    await sleep(STEP_MS);
    const message = formatAuditCommit({
      host,
      subject: `rollout bench wave ${wave}`,
      records: [],
      notes: [],
    });
    const text = statusText(host, wave);
    if (layout === "refs") await ws.commitStatus(text, message);
    else await ws.commit({ [`fleet-state/status/${host}.yaml`]: text }, message);
    for (;;) {
      ticks += 1;
      const pushed = await ws.push();
      if (pushed.ok) break;
      await sleep(POLL_MS * Math.random());
    }
  }
  return {
    pushesOk: ws.pushes.ok,
    rejected: ws.pushes.rejected,
    ticks,
    finishedAt: performance.now() - started,
  };
}

async function commitsOnRemote(bare: string, layout: Layout, host: string): Promise<number> {
  const range = layout === "refs" ? [`refs/heads/fleetwave/status/${host}`] : ["main"];
  const out = await git(
    ["log", "--format=%s", "--fixed-strings", `--grep=Fleetwave-Host: ${host}`, ...range],
    { cwd: bare },
  ).catch(() => ({ stdout: "" }));
  return out.stdout.split("\n").filter((l) => l.includes("rollout bench wave")).length;
}

async function duKiB(dir: string): Promise<number> {
  const out = await git(["count-objects", "-v"], { cwd: dir });
  const kib = (key: string) => Number(new RegExp(`^${key}: (\\d+)`, "m").exec(out.stdout)?.[1] ?? 0);
  return kib("size") + kib("size-pack");
}

async function run(layout: Layout, n: number) {
  const root = await mkdtemp(join(tmpdir(), `fleetwave-scale-${layout}-${n}-`));
  const bare = join(root, "fleet.git");
  const seed = join(root, "seed");
  const id = ["-c", "user.name=Operator", "-c", "user.email=ops@acme.example", "-c", "commit.gpgsign=false"];
  await git(["init", "-q", "--bare", "--initial-branch=main", bare], { cwd: root });
  await git(["init", "-q", "--initial-branch=main", seed], { cwd: root });
  await git([...id, "-C", seed, "commit", "-q", "--allow-empty", "-m", "plan: rollout bench"], { cwd: root });
  await git(["-C", seed, "push", "-q", bare, "main"], { cwd: root });
  const hosts = Array.from({ length: n }, (_, i) => hostId(i));
  const workspaces = hosts.map(
    (host) =>
      new Workspace({
        repo: bare,
        branch: "main",
        dir: join(root, host, "repo"),
        identity: { name: `Fleetwave Agent (${host})`, email: `fleetwave-agent@${host}.invalid` },
        host,
        log: () => undefined,
        networkTimeoutMs: 120_000,
      }),
  );
  for (const ws of workspaces) await ws.open();
  const cpuBefore = cpuSeconds();
  const started = performance.now();
  const results = await Promise.all(workspaces.map((ws) => runHost(ws, layout, hosts, started)));
  const completionMs = Math.max(...results.map((r) => r.finishedAt));
  const cpu = cpuSeconds() - cpuBefore;
  let lost = 0;
  for (const host of hosts) lost += WAVES - (await commitsOnRemote(bare, layout, host));
  const sizeKiB = await duKiB(bare);
  await rm(root, { recursive: true, force: true });
  const sum = (f: (r: HostResult) => number) => results.reduce((a, r) => a + f(r), 0);
  return {
    layout,
    hosts: n,
    completionS: completionMs / 1000,
    floorS: (WAVES * STEP_MS) / 1000,
    ratio: completionMs / (WAVES * STEP_MS),
    pushesPerHost: sum((r) => r.pushesOk) / n,
    rejectedPerHost: sum((r) => r.rejected) / n,
    rejectedTotal: sum((r) => r.rejected),
    lost,
    cpuMsPerTick: (cpu * 1000) / sum((r) => r.ticks),
    remoteKiB: sizeKiB,
  };
}

console.log(
  `fleet-scale: ${WAVES} waves × ${STEP_MS} ms floor, ${BOTS} bots per host; ${cpus().length} cores, load ${loadavg()
    .map((l) => l.toFixed(1))
    .join(" ")}`,
);
const rows = [];
for (const n of values.hosts.split(",").map(Number)) {
  for (const layout of values.layouts.split(",") as Layout[]) {
    const row = await run(layout, n);
    rows.push(row);
    console.log(
      `${layout.padEnd(4)} N=${String(n).padStart(3)}: ${row.completionS.toFixed(1)} s = ${row.ratio.toFixed(2)}× floor (${row.floorS} s); pushes/host ${row.pushesPerHost.toFixed(1)}, rejected/host ${row.rejectedPerHost.toFixed(1)} (total ${row.rejectedTotal}); lost ${row.lost}; CPU ${row.cpuMsPerTick.toFixed(0)} ms per host tick; remote ${row.remoteKiB} KiB`,
    );
  }
}
console.log(JSON.stringify(rows));
