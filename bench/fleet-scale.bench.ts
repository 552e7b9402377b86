/**
 * Fleet scale: N whole agents run one rolling-wave rollout against one bare git remote, with a
 * simulated container engine, for each status layout in the same run.
 *
 *   npx tsx bench/fleet-scale.bench.ts [--hosts 10,100] [--bots 10] [--waves 4] [--layouts main,refs]
 *       [--latency-ms 0,200] [--poll-ms 20000] [--pause-s 60] [--procs 2] [--idle-s 40]
 *       [--time-limit-s 1200] [--setup-limit-s 1200] [--cpu-prof-dir DIR]
 *
 * `refs` (status on a ref per host, what the agent writes): every host is the real agent — the
 * `Agent` class `fleetwave agent` runs, on the CLI's schedule (agent/reconcile-schedule.ts: a
 * reconcile `--poll-ms` ± 10 % after the last, sooner when a wave's pause ends): reconcile, rollout runner, wave barrier, status refs, pushes, update engine and health
 * gate — on its own `SimulatedEngine` (bench/sim/simulated-engine.ts: step timings of the update
 * bench, no volumes, so no snapshot is taken). The agents run as instances inside `--procs` Node
 * worker processes (bench/sim/agent-worker.ts), not one process each: a machine of 2 cores
 * cannot start hundreds of Node processes. Fleet-state (10 tenants, tenant t<b> holding bot b
 * of every host, so every wave spans every host) is written as YAML and the plan is made with
 * the project's own `preparePlan` (as `fleetwave plan` does), committed and pushed; the agents
 * first create their bots from the image's tag (the old digest) and push their status.
 *
 * `main` (status files on `main`, the layout before status refs): the agent has no switch to
 * write it any more, so it runs on the agent's git layer only (bench/sim/main-layout.ts), with
 * the same hosts, waves, pause and poll interval, and each wave's updates as the median update
 * time of the simulated engine.
 *
 * `--latency-ms` adds a wait to every git connection (fetch, push) of every clone: each clone's
 * `remote.origin.uploadpack` / `receivepack` is a script that sleeps, then execs the real git.
 *
 * Printed per layout, N and latency: completion (plan pushed → every host's status on the remote
 * says completed; both times from the remote's reflog, not from the bench's reads, which lag
 * under load) and when each wave was done everywhere, against the floor (sum over waves of the
 * slowest bot's simulated update, plus the plan's pauses), pushes and rejected pushes per host,
 * commits lost (a host's status commits missing on the remote at the end), CPU per reconcile (the
 * worker processes and their git children, from /proc, divided by the reconciles the agents
 * counted: over the rollout, and over an idle stretch of `--idle-s` before the plan), the
 * remote's size, and the load average.
 * `--cpu-prof-dir` writes a V8 CPU profile of each worker process there (open it in DevTools).
 */
import { type ChildProcess, fork } from "node:child_process";
import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { parse as parseYaml, stringify } from "yaml";
import { git } from "../agent/src/git/git.ts";
import { readStatusRefs, STATUS_BRANCH_PREFIX } from "../agent/src/git/status-refs.ts";
import { preparePlan, writePlanFile } from "../agent/src/plan/files.ts";
import { runMainLayout } from "./sim/main-layout.ts";
import type { HostReport, ParentMessage, WorkerMessage } from "./sim/protocol.ts";
import {
  lastUpdateAt,
  REMOTE_REFLOG_CONFIG,
  remoteMilestones,
  statusArrivals,
} from "./sim/remote-timeline.ts";
import { UPDATE_BENCH_TIMINGS } from "./sim/simulated-engine.ts";

const { values } = parseArgs({
  options: {
    hosts: { type: "string", default: "10,100" },
    bots: { type: "string", default: "10" },
    waves: { type: "string", default: "4" },
    layouts: { type: "string", default: "main,refs" },
    "latency-ms": { type: "string", default: "0" },
    "poll-ms": { type: "string", default: "20000" },
    "pause-s": { type: "string", default: "60" },
    procs: { type: "string", default: "2" },
    "time-limit-s": { type: "string", default: "1200" },
    "setup-limit-s": { type: "string", default: "1200" },
    "idle-s": { type: "string", default: "40" },
    "cpu-prof-dir": { type: "string" },
  },
});
const BOTS = Number(values.bots);
const WAVES = Number(values.waves);
const POLL_MS = Number(values["poll-ms"]);
const PAUSE_S = Number(values["pause-s"]);
const PROCS = Number(values.procs);
const TIME_LIMIT_MS = Number(values["time-limit-s"]) * 1000;
/** Starting the agents and creating their bots, before the plan; not part of the measurement. */
const SETUP_LIMIT_MS = Number(values["setup-limit-s"]) * 1000;
/** The idle stretch before the plan. */
const IDLE_MS = Number(values["idle-s"]) * 1000;
type Layout = "main" | "refs";

const REPOSITORY = "registry.sim.invalid/fleet/bot";
const OLD = `sha256:${"a".repeat(64)}`;
const NEW = `sha256:${"b".repeat(64)}`;
const ID = ["-c", "user.name=Operator", "-c", "user.email=ops@acme.example", "-c", "commit.gpgsign=false"];
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));
const hostId = (i: number) => `host-${String(i).padStart(3, "0")}`;

interface Row {
  layout: Layout;
  hosts: number;
  latencyMs: number;
  completionS?: number;
  floorS: number;
  pushesPerHost?: number;
  rejectedPerHost?: number;
  lost?: number;
  cpuMsPerReconcile?: number;
  /** Before the plan, when a reconcile has nothing to do. */
  idleCpuMsPerReconcile?: number;
  reconcilesPerHost?: number;
  /** Seconds after the plan when every host's status on the remote showed wave k done. */
  waveEndsS?: (number | undefined)[];
  /** When the bench's own reads of the remote saw the rollout completed (they lag under load). */
  seenCompletedS?: number;
  remoteKiB: number;
  load: string;
  note?: string;
}

/** Samples the 1-minute load average while a run lasts. */
class LoadSampler {
  private readonly samples: number[] = [];
  private readonly timer = setInterval(() => this.samples.push(loadavg()[0]!), 5000);
  done(): string {
    clearInterval(this.timer);
    if (this.samples.length === 0) this.samples.push(loadavg()[0]!);
    return `${Math.min(...this.samples).toFixed(1)}–${Math.max(...this.samples).toFixed(1)}`;
  }
}

function fleetYaml(): string {
  return stringify({
    updates: { mode: "auto", defaultPreferredHourUtc: new Date().getUTCHours(), windowMinutes: 1440 },
    strategy: {
      name: "rolling-wave",
      batchPercent: Math.ceil(100 / WAVES),
      pauseSeconds: PAUSE_S,
      // A host's bots of one wave update side by side, so a wave lasts its slowest bot.
      maxParallel: BOTS,
      maxRetries: 0,
      failureThreshold: 1000,
      onThreshold: "pause",
      healthCheckTimeoutSeconds: 60,
      minHealthySeconds: 0,
    },
    images: { allowlist: [`${REPOSITORY.split("/")[0]}/`], keepOnHost: 2 },
    notifications: { email: { from: "fleet@acme.example", admins: ["ops@acme.example"] } },
  });
}

/** Tenant t<b> holds bot b of every host: plan order is by tenant, so each wave spans every host. */
function tenantYaml(b: number, hosts: string[]): string {
  return stringify({
    tenant: `t${b}`,
    update: { mode: "auto" },
    contacts: [`owner${b}@acme.example`],
    bots: hosts.map((host) => ({
      id: `${host}-b${b}`,
      host,
      image: `${REPOSITORY}:stable`,
      env: { PORT: "8080" },
    })),
  });
}

async function makeRemote(root: string, hosts: string[]): Promise<{ bare: string; seed: string }> {
  const bare = join(root, "fleet.git");
  const seed = join(root, "seed");
  await git(["init", "-q", "--bare", "--initial-branch=main", bare], { cwd: root });
  await git([...REMOTE_REFLOG_CONFIG], { cwd: bare });
  await git(["clone", "-q", bare, seed], { cwd: root });
  await git(["checkout", "-q", "-B", "main"], { cwd: seed });
  await mkdir(join(seed, "fleet-state", "tenants"), { recursive: true });
  await writeFile(join(seed, "fleet-state", "fleet.yaml"), fleetYaml());
  for (let b = 0; b < BOTS; b += 1)
    await writeFile(join(seed, "fleet-state", "tenants", `t${b}.yaml`), tenantYaml(b, hosts));
  await git(["add", "-A"], { cwd: seed });
  await git([...ID, "commit", "-q", "-m", "fleet-state: the simulated fleet"], { cwd: seed });
  await git(["push", "-q", "origin", "main"], { cwd: seed });
  return { bare, seed };
}

async function latencyScripts(root: string, ms: number) {
  if (ms <= 0) return undefined;
  const bin = join(root, "bin");
  await mkdir(bin, { recursive: true });
  const script = async (name: string, program: string) => {
    const path = join(bin, name);
    await writeFile(path, `#!/bin/sh\nsleep ${ms / 1000}\nexec ${program} "$@"\n`);
    await chmod(path, 0o755);
    return path;
  };
  return {
    uploadPack: await script("slow-upload-pack", "git-upload-pack"),
    receivePack: await script("slow-receive-pack", "git-receive-pack"),
  };
}

async function remoteKiB(bare: string): Promise<number> {
  const out = await git(["count-objects", "-v"], { cwd: bare });
  const kib = (key: string) => Number(new RegExp(`^${key}: (\\d+)`, "m").exec(out.stdout)?.[1] ?? 0);
  return kib("size") + kib("size-pack");
}

/** Every host's status on the remote, parsed (the status refs, read with one cat-file). */
async function remoteStatuses(bare: string): Promise<Map<string, Record<string, unknown>>> {
  const refs = await readStatusRefs({ cwd: bare }, [`refs/heads/${STATUS_BRANCH_PREFIX}`]);
  return new Map([...refs].map(([host, r]) => [host, parseYaml(r.text) as Record<string, unknown>]));
}

class Worker {
  private readonly child: ChildProcess;
  private readonly waiting = new Map<string, (m: WorkerMessage) => void>();
  constructor() {
    this.child = fork(join(import.meta.dirname, "sim", "agent-worker.ts"), [], {
      execArgv: [
        "--import",
        "tsx",
        ...(values["cpu-prof-dir"] ? ["--cpu-prof", `--cpu-prof-dir=${values["cpu-prof-dir"]}`] : []),
      ],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    this.child.on("message", (m: WorkerMessage) => {
      if (m.kind === "log") console.error(`  [agent] ${m.line}`);
      else this.waiting.get(m.kind)?.(m);
    });
  }
  ask<K extends WorkerMessage["kind"]>(
    message: ParentMessage,
    answer: K,
  ): Promise<Extract<WorkerMessage, { kind: K }>> {
    return new Promise((done, fail) => {
      this.waiting.set(answer, (m) => done(m as Extract<WorkerMessage, { kind: K }>));
      this.child.once("exit", (code) => fail(new Error(`an agent worker exited with ${code}`)));
      this.child.send(message);
    });
  }
  /** SIGTERM, so that a worker's `--cpu-prof` profile is written as it exits. */
  kill(): void {
    this.child.kill("SIGTERM");
  }
}

/** Waits until `check` holds, polling every `everyMs`; false at the deadline. */
async function until(check: () => Promise<boolean>, deadline: number, everyMs = 500): Promise<boolean> {
  while (performance.now() < deadline) {
    if (await check()) return true;
    await sleep(everyMs);
  }
  return false;
}

async function runRefs(n: number, latencyMs: number): Promise<Row> {
  const root = await mkdtemp(join(tmpdir(), `fleetwave-scale-refs-${n}-`));
  const hosts = Array.from({ length: n }, (_, i) => hostId(i));
  const { bare, seed } = await makeRemote(root, hosts);
  const latency = await latencyScripts(root, latencyMs);
  const workers = Array.from({ length: Math.min(PROCS, n) }, () => new Worker());
  const load = new LoadSampler();
  const row: Row = { layout: "refs", hosts: n, latencyMs, floorS: 0, remoteKiB: 0, load: "" };
  try {
    const setupDeadline = performance.now() + SETUP_LIMIT_MS;
    await Promise.all(
      workers.map((w, i) =>
        w.ask(
          {
            kind: "start",
            hosts: hosts.filter((_, h) => h % workers.length === i),
            root,
            bare,
            tags: [[`${REPOSITORY}:stable`, OLD]],
            timings: UPDATE_BENCH_TIMINGS,
            pollMs: POLL_MS,
            ...(latency ? { latency } : {}),
          },
          "started",
        ),
      ),
    );
    // Steady state before the plan: every host created its bots at the old digest and pushed its status.
    const ready = await until(
      async () => {
        const statuses = await remoteStatuses(bare);
        return (
          statuses.size === n &&
          [...statuses.values()].every((s) => {
            const bots = Object.values((s.bots ?? {}) as Record<string, { digest?: string; state?: string }>);
            return bots.length === BOTS && bots.every((b) => b.digest === OLD && b.state === "running");
          })
        );
      },
      setupDeadline,
      2000,
    );
    if (!ready) throw new Error(`the ${n} agents did not all create their bots within the time limit`);
    // Until every agent has reconciled once more, each reads the last hosts' setup statuses:
    // not yet idle.
    await sleep(POLL_MS * 1.2);
    // An idle stretch first (nothing to do but fetch, load and look at the bots): CPU per idle reconcile.
    const idleFrom = await Promise.all(workers.map((w) => w.ask({ kind: "mark" }, "marked")));
    await sleep(IDLE_MS);
    const idleTo = await Promise.all(workers.map((w) => w.ask({ kind: "mark" }, "marked")));
    const total = (marks: { cpuSeconds: number; reconciles: number }[], key: "cpuSeconds" | "reconciles") =>
      marks.reduce((a, m) => a + m[key], 0);
    const idleReconciles = total(idleTo, "reconciles") - total(idleFrom, "reconciles");
    if (idleReconciles > 0)
      row.idleCpuMsPerReconcile =
        ((total(idleTo, "cpuSeconds") - total(idleFrom, "cpuSeconds")) * 1000) / idleReconciles;

    await git(["pull", "-q", "origin", "main"], { cwd: seed });
    const prepared = await preparePlan({
      stateDir: join(seed, "fleet-state"),
      cwd: seed,
      image: `${REPOSITORY}:stable`,
      digest: NEW,
      now: new Date(),
      basedOn: (await git(["rev-parse", "HEAD"], { cwd: seed })).stdout.trim(),
    });
    await writePlanFile(join(seed, "fleet-state"), prepared);
    await git(["add", "-A"], { cwd: seed });
    await git([...ID, "commit", "-q", "-m", `plan rollout ${prepared.plan.id}`], { cwd: seed });
    await git(["push", "-q", "origin", "main"], { cwd: seed });
    const planned = performance.now();
    const plannedAt = await lastUpdateAt(bare, "refs/heads/main");
    const id = prepared.plan.id;
    let failed = 0;
    // Only when to stop: the times reported are the remote's own (bench/sim/remote-timeline.ts).
    const completed = await until(
      async () => {
        const statuses = await remoteStatuses(bare);
        let done = 0;
        failed = 0;
        for (const s of statuses.values()) {
          const progress = (
            s.rollouts as Record<
              string,
              { state?: string; wavesDone?: number; bots?: Record<string, { result?: string }> }
            >
          )?.[id];
          if (progress?.state === "completed") done += 1;
          for (const b of Object.values(progress?.bots ?? {})) if (b.result === "failed") failed += 1;
        }
        return done === n;
      },
      planned + TIME_LIMIT_MS,
      // Reading every host's status costs the bench's own process CPU the agents share.
      1000,
    );
    const elapsed = performance.now() - planned;
    const stopped = await Promise.all(workers.map((w) => w.ask({ kind: "stop" }, "stopped")));
    const reports: HostReport[] = stopped.flatMap((s) => s.hosts);
    const cpu = stopped.reduce((sum, s) => sum + s.cpuSeconds, 0);
    const stepMs = new Map(reports.flatMap((r) => r.stepMs));
    // The plan's own number of waves: a small fleet can have fewer than --waves.
    const waves = Math.max(...prepared.plan.targets.map((t) => t.wave));
    let floorMs = (waves - 1) * PAUSE_S * 1000;
    for (let w = 1; w <= waves; w += 1)
      floorMs += Math.max(
        ...prepared.plan.targets.filter((t) => t.wave === w).map((t) => stepMs.get(t.bot) ?? 0),
      );
    const sum = (f: (r: HostReport) => number) => reports.reduce((a, r) => a + f(r), 0);
    const reconciles = sum((r) => r.reconciles);
    const onRemote = remoteMilestones(await statusArrivals(bare, id), waves, plannedAt);
    Object.assign(row, {
      ...(completed && onRemote.completionS !== undefined
        ? { completionS: onRemote.completionS, seenCompletedS: elapsed / 1000 }
        : { note: `not completed after ${(elapsed / 1000).toFixed(0)} s` }),
      floorS: floorMs / 1000,
      waveEndsS: onRemote.waveEndsS,
      pushesPerHost: sum((r) => r.pushesOk) / n,
      rejectedPerHost: sum((r) => r.pushesRejected) / n,
      lost: sum((r) => r.lost),
      cpuMsPerReconcile: reconciles > 0 ? (cpu * 1000) / reconciles : undefined,
      reconcilesPerHost: reconciles / n,
      remoteKiB: await remoteKiB(bare),
    });
    if (failed > 0) row.note = `${row.note ?? ""} ${failed} bot updates failed`.trim();
  } finally {
    row.load = load.done();
    for (const w of workers) w.kill();
    await rm(root, { recursive: true, force: true });
  }
  return row;
}

async function runMain(n: number, latencyMs: number): Promise<Row> {
  const root = await mkdtemp(join(tmpdir(), `fleetwave-scale-main-${n}-`));
  const hosts = Array.from({ length: n }, (_, i) => hostId(i));
  const { bare } = await makeRemote(root, hosts);
  const latency = await latencyScripts(root, latencyMs);
  const load = new LoadSampler();
  const t = UPDATE_BENCH_TIMINGS;
  try {
    const result = await runMainLayout({
      root,
      bare,
      hosts,
      bots: BOTS,
      waves: WAVES,
      // The median update of the simulated engine, every step after the other.
      stepMs: t.pull + t.stop + t.rename + t.create + t.start + t.healthy + t.remove,
      pauseMs: PAUSE_S * 1000,
      pollMs: POLL_MS,
      timeLimitMs: TIME_LIMIT_MS,
      ...(latency ? { latency } : {}),
    });
    const done = result.completionMs !== undefined;
    return {
      layout: "main",
      hosts: n,
      latencyMs,
      ...(done ? { completionS: result.completionMs! / 1000, lost: result.lost } : {}),
      ...(done ? {} : { note: `not completed within ${TIME_LIMIT_MS / 1000} s (git layer only)` }),
      floorS: result.floorMs / 1000,
      pushesPerHost: result.pushesOk / n,
      rejectedPerHost: result.rejected / n,
      // No reconcile here: CPU per host tick (one sync + barrier read, or one push attempt).
      cpuMsPerReconcile: (result.cpuSeconds * 1000) / result.ticks,
      reconcilesPerHost: result.ticks / n,
      remoteKiB: await remoteKiB(bare),
      load: load.done(),
    };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

const f = (x: number | undefined, digits = 1) => (x === undefined ? "—" : x.toFixed(digits));
console.log(
  `fleet-scale: ${WAVES} waves, ${BOTS} bots per host, pause ${PAUSE_S} s, poll ${POLL_MS} ms, ${PROCS} worker processes; ${cpus().length} cores, load ${loadavg()
    .map((l) => l.toFixed(1))
    .join(" ")}`,
);
const rows: Row[] = [];
for (const n of values.hosts.split(",").map(Number)) {
  for (const latencyMs of values["latency-ms"].split(",").map(Number)) {
    for (const layout of values.layouts.split(",") as Layout[]) {
      const row = layout === "refs" ? await runRefs(n, latencyMs) : await runMain(n, latencyMs);
      rows.push(row);
      const ratio = row.completionS === undefined ? "—" : (row.completionS / row.floorS).toFixed(2);
      console.log(
        `${layout.padEnd(4)} N=${String(n).padStart(3)} latency ${latencyMs} ms: ${f(row.completionS)} s = ${ratio}× floor (${f(row.floorS)} s); pushes/host ${f(row.pushesPerHost)}, rejected/host ${f(row.rejectedPerHost)}; lost ${row.lost ?? "—"}; CPU ${f(row.cpuMsPerReconcile, 0)} ms per ${layout === "refs" ? `reconcile (idle: ${f(row.idleCpuMsPerReconcile, 0)} ms)` : "host tick"} (${f(row.reconcilesPerHost)} per host)${row.waveEndsS ? `; waves done at ${row.waveEndsS.map((t) => `${t ?? "—"} s`).join(", ")}` : ""}${row.seenCompletedS === undefined ? "" : ` (the bench's reads saw it at ${f(row.seenCompletedS, 0)} s)`}; remote ${row.remoteKiB} KiB; load ${row.load}${row.note ? `; ${row.note}` : ""}`,
      );
    }
  }
}
console.log(JSON.stringify(rows));
process.exit(0);
