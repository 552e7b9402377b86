/**
 * Downtime of one update (stop of the old container → first healthy answer of the new one), the
 * engine's updateBot against a bare dockerode stop/remove/create/start/poll sequence, same images,
 * same run, alternating.
 *
 *   bash scripts/test-env.sh up && eval "$(bash scripts/test-env.sh env)"
 *   npx tsx bench/update.bench.ts [--rounds 9]      # round 1 is a warm-up and is discarded
 *
 * Two healthy test images (versions bench-1 and bench-2, same behaviour) in the local registry. Each
 * round runs three arms, in an order rotated from round to round, each flipping its container
 * between the two digests:
 *   bare-tight  dockerode: stop (same timeout as the engine) → remove → create (network host, Init,
 *               env PORT, same restart policy, from repo@digest) → start → GET /health every 10 ms
 *               until 200. The fairest baseline: what a hand-written script can get.
 *   bare-gate   the same, polled on the engine gate's schedule (first probe at once, then 25 ms
 *               doubling to 1 s). Its gap to bare-tight is the cost of the schedule alone.
 *   engine      updateBot(bot, digest) on a bot with no volumes and minHealthySeconds 0; its own
 *               outcome.downtimeMs, plus every Docker call and journal write timed from outside (the
 *               engine's DockerAdapter and Journal are subclassed here, agent/ is untouched).
 * For every arm a worker thread (its own event loop) polls the bot's /health every 5 ms during the
 * round and reports the gap between the last 200 before the outage and the first 200 after it, so
 * the result does not rest on the engine's own clock. All traffic stays on 127.0.0.1.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import type { ContainerCreateOptions, ContainerInspectInfo } from "dockerode";
import { asideName } from "../agent/src/docker/container-spec.ts";
import { DockerAdapter, dockerFromEnv } from "../agent/src/docker/docker.ts";
import { ensureBot } from "../agent/src/engine/ensure-bot.ts";
import { Journal, type JournalEntry } from "../agent/src/engine/journal.ts";
import type { Timings } from "../agent/src/engine/outcome.ts";
import { updateBot } from "../agent/src/engine/update-bot.ts";
import { buildTestImage } from "../scripts/local-env/bot-image.ts";
import { assertLoopback, dockerClient, freePort } from "../scripts/local-env/engine.ts";
import { engineFor, testBot } from "../test/support/engine-harness.ts";

const STOP_TIMEOUT_SECONDS = 10; // the engine's default (EngineOptions.stopTimeoutSeconds ?? 10)
const HEALTH_TIMEOUT_MS = 30_000;
const OBSERVER_INTERVAL_MS = 5;
const BENCH_LABEL = "org.fleetwave.bench";

function argValue(name: string, fallback: number): number {
  const index = process.argv.indexOf(name);
  if (index < 0) return fallback;
  const value = Number(process.argv[index + 1]);
  if (!Number.isInteger(value) || value < 2) throw new Error(`${name} needs an integer ≥ 2`);
  return value;
}
const ROUNDS = argValue("--rounds", 9);

/** Absolute milliseconds with sub-millisecond resolution, comparable between threads. */
const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------
// Instrumentation of the engine, from outside agent/: subclasses that time every call.

interface Call {
  op: string;
  start: number;
  end: number;
}

class TimedDocker extends DockerAdapter {
  calls: Call[] = [];

  private async timed<T>(op: string, work: () => Promise<T>): Promise<T> {
    const start = now();
    try {
      return await work();
    } finally {
      this.calls.push({ op, start, end: now() });
    }
  }

  override inspect(nameOrId: string): Promise<ContainerInspectInfo | undefined> {
    return this.timed("inspect", () => super.inspect(nameOrId));
  }
  override pull(repository: string, digest: string): Promise<void> {
    return this.timed("pull", () => super.pull(repository, digest));
  }
  override stop(id: string, timeoutSeconds: number): Promise<void> {
    return this.timed("stop", () => super.stop(id, timeoutSeconds));
  }
  override rename(id: string, name: string): Promise<void> {
    return this.timed("rename", () => super.rename(id, name));
  }
  override create(options: ContainerCreateOptions): Promise<string> {
    return this.timed("create", () => super.create(options));
  }
  override start(id: string): Promise<void> {
    return this.timed("start", () => super.start(id));
  }
  override remove(id: string): Promise<void> {
    return this.timed("remove", () => super.remove(id));
  }
}

class TimedJournal extends Journal {
  calls: Call[] = [];

  override async write(entry: JournalEntry): Promise<void> {
    const start = now();
    try {
      await super.write(entry);
    } finally {
      this.calls.push({ op: `journal:${entry.phase}`, start, end: now() });
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The outside observer: a worker thread polling /health every 5 ms while a round runs.

const OBSERVER_SOURCE = `
const { parentPort } = require("node:worker_threads");
const now = () => performance.timeOrigin + performance.now();
let running = false;
let log = [];
let loop = Promise.resolve();
async function poll(url, interval) {
  let ready = false;
  while (running) {
    const sent = now();
    let ok = 0;
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await response.text();
      ok = response.status === 200 ? 1 : 0;
    } catch {}
    const at = now();
    log.push([sent, at, ok]);
    if (ok && !ready) {
      ready = true;
      parentPort.postMessage({ type: "ready" });
    }
    const wait = interval - (at - sent);
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  }
}
parentPort.on("message", async (message) => {
  if (message.cmd === "start") {
    running = true;
    log = [];
    loop = poll(message.url, message.interval);
  } else if (message.cmd === "stop") {
    running = false;
    await loop;
    parentPort.postMessage({ type: "log", log });
  }
});
`;

/** [request sent, answer (or error) received, 1 when HTTP 200] */
type ObserverLog = [number, number, number][];
interface ObserverMessage {
  type: "ready" | "log";
  log?: ObserverLog;
}

class Observer {
  private readonly worker = new Worker(OBSERVER_SOURCE, { eval: true });
  running = false;

  /** Resolves once the observer has seen a 200, so the outage always has an answer before it. */
  start(url: string): Promise<void> {
    assertLoopback(url);
    this.running = true;
    const ready = this.next("ready");
    this.worker.postMessage({ cmd: "start", url, interval: OBSERVER_INTERVAL_MS });
    return ready.then(() => undefined);
  }

  async stop(): Promise<ObserverLog> {
    this.running = false;
    const answer = this.next("log");
    this.worker.postMessage({ cmd: "stop" });
    return (await answer).log ?? [];
  }

  private next(type: ObserverMessage["type"]): Promise<ObserverMessage> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.worker.off("message", listen);
        reject(new Error(`the observer sent no "${type}" within 10 s`));
      }, 10_000);
      const listen = (message: ObserverMessage) => {
        if (message.type !== type) return;
        clearTimeout(timer);
        this.worker.off("message", listen);
        resolve(message);
      };
      this.worker.on("message", listen);
    });
  }

  terminate(): Promise<number> {
    return this.worker.terminate();
  }
}

interface Outage {
  /** Last 200 before the outage → first 200 after it, by arrival times. */
  gapMs: number;
  /** The arm's stop call → the observer's first 200 after the outage. */
  stopToFirstOkMs: number;
  failedProbes: number;
  /** More than one outage in the round (should be 1). */
  outages: number;
}

function outageOf(log: ObserverLog, stopStart: number): Outage {
  const firstFail = log.findIndex(([sent, , ok]) => ok === 0 && sent >= stopStart - 1);
  if (firstFail < 0) throw new Error("the observer saw no failed probe: was the bot ever stopped?");
  let lastOk = -1;
  for (let i = firstFail - 1; i >= 0; i -= 1)
    if (log[i]![2] === 1) {
      lastOk = i;
      break;
    }
  const firstOkAfter = log.findIndex(([, , ok], i) => i > firstFail && ok === 1);
  if (lastOk < 0 || firstOkAfter < 0)
    throw new Error("the observer did not see a 200 on both sides of the outage");
  let outages = 0;
  for (let i = 1; i < log.length; i += 1) if (log[i]![2] === 0 && log[i - 1]![2] === 1) outages += 1;
  return {
    gapMs: log[firstOkAfter]![1] - log[lastOk]![1],
    stopToFirstOkMs: log[firstOkAfter]![1] - stopStart,
    failedProbes: firstOkAfter - firstFail,
    outages,
  };
}

// ---------------------------------------------------------------------------------------------
// Health probes for the bare sequence: status only, same fetch options as the engine's probe.

async function probeOk(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2000), redirect: "manual" });
    await response.text();
    return response.status === 200;
  } catch {
    return false;
  }
}

type PollMode = "tight" | "gate";

/** Returns when the first 200 arrived. `gate` mirrors waitHealthy: at once, then 25 ms doubling to 1 s. */
async function pollUntilOk(url: string, mode: PollMode): Promise<{ at: number; probes: number }> {
  const begin = now();
  let delay = 25;
  let probes = 0;
  for (;;) {
    const ok = await probeOk(url);
    probes += 1;
    const t = now();
    if (ok) return { at: t, probes };
    if (t - begin > HEALTH_TIMEOUT_MS) throw new Error(`${url} not healthy after ${HEALTH_TIMEOUT_MS} ms`);
    if (mode === "tight") await sleep(10);
    else {
      await sleep(delay);
      delay = Math.min(delay * 2, 1000);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The arms.

type Arm = "bare-tight" | "bare-gate" | "engine";
const ARMS: Arm[] = ["bare-tight", "bare-gate", "engine"];
const ARM_TITLE: Record<Arm, string> = {
  "bare-tight": "bare dockerode, 10 ms poll",
  "bare-gate": "bare dockerode, gate schedule",
  engine: "engine updateBot",
};

interface Sample {
  arm: Arm;
  round: number;
  /** Stop call start → first 200, on the arm's own clock (the engine: outcome.downtimeMs). */
  downtimeMs: number;
  observer: Outage;
  /** Named parts of the downtime window, ms. */
  parts: Record<string, number>;
  probes: number;
  timings?: Timings;
  durationMs?: number;
  /** Journal writes (each fsyncs the file and the directory) inside the downtime window. */
  journalWrites?: number;
}

interface Bench {
  repository: string;
  digests: [string, string];
  bareName: string;
  barePort: number;
  bareDigest: string;
  bot: ReturnType<typeof testBot>;
  botDigest: string;
  engine: Awaited<ReturnType<typeof engineFor>>;
  docker: TimedDocker;
  journal: TimedJournal;
  observer: Observer;
}

const other = (b: Bench, digest: string) => (digest === b.digests[0] ? b.digests[1] : b.digests[0]);

function bareCreateOptions(b: Bench, digest: string): ContainerCreateOptions {
  // What containerCreateOptions() gives a bot with no volumes and no ports, minus the fleetwave labels.
  return {
    name: b.bareName,
    Image: `${b.repository}@${digest}`,
    Env: [`PORT=${b.barePort}`],
    Labels: { [BENCH_LABEL]: "update" },
    ExposedPorts: {},
    HostConfig: {
      NetworkMode: "host",
      PortBindings: {},
      Mounts: [],
      RestartPolicy: { Name: "unless-stopped" },
      Init: true,
    },
  };
}

async function bareRound(b: Bench, mode: PollMode, round: number): Promise<Sample> {
  const docker = dockerClient();
  const url = `http://127.0.0.1:${b.barePort}/health`;
  const digest = other(b, b.bareDigest);
  await b.observer.start(url);
  await sleep(50);
  const old = docker.getContainer(b.bareName);
  const t0 = now();
  await old.stop({ t: STOP_TIMEOUT_SECONDS });
  const t1 = now();
  await old.remove();
  const t2 = now();
  const created = await docker.createContainer(bareCreateOptions(b, digest));
  const t3 = now();
  await created.start();
  const t4 = now();
  const healthy = await pollUntilOk(url, mode);
  await sleep(60);
  const log = await b.observer.stop();
  b.bareDigest = digest;
  return {
    arm: mode === "tight" ? "bare-tight" : "bare-gate",
    round,
    downtimeMs: healthy.at - t0,
    observer: outageOf(log, t0),
    parts: { stop: t1 - t0, remove: t2 - t1, create: t3 - t2, start: t4 - t3, poll: healthy.at - t4 },
    probes: healthy.probes,
  };
}

/** The journal writes between the stop and the first healthy answer (all but "stopping" and "confirmed"). */
const DOWNTIME_PHASES = new Set(
  ["snapshotting", "renaming", "creating", "starting", "health-gate"].map((phase) => `journal:${phase}`),
);
const within = (calls: Call[], from: number, to: number) =>
  calls.filter((c) => c.start >= from && c.start < to);
const total = (calls: Call[]) => calls.reduce((sum, c) => sum + (c.end - c.start), 0);

async function engineRound(b: Bench, round: number): Promise<Sample> {
  const url = b.bot.health!.url;
  const digest = other(b, b.botDigest);
  b.docker.calls = [];
  b.journal.calls = [];
  await b.observer.start(url);
  await sleep(50);
  const outcome = await updateBot(b.bot, digest, b.engine);
  await sleep(60);
  const log = await b.observer.stop();
  if (outcome.result !== "updated" || outcome.downtimeMs === undefined)
    throw new Error(`engine round ${round}: ${outcome.result}: ${outcome.reason}`);
  b.botDigest = digest;

  const one = (op: string) => {
    const call = b.docker.calls.find((c) => c.op === op);
    if (!call) throw new Error(`engine round ${round}: no ${op} call recorded`);
    return call;
  };
  const stop = one("stop");
  const start = one("start");
  const end = stop.start + outcome.downtimeMs; // the engine's first OK, on its own clock
  // Sequential segments of the window: stop, then journal writes / rename / create / start (the
  // journal's "health-gate" write comes after start and is taken out of the gate), then the gate.
  const journal = b.journal.calls.filter((c) => DOWNTIME_PHASES.has(c.op));
  const gateInspects = within(
    b.docker.calls.filter((c) => c.op === "inspect"),
    start.end,
    end,
  );
  const span = (c: Call) => c.end - c.start;
  const parts: Record<string, number> = {
    stop: span(stop),
    journal: total(journal),
    rename: span(one("rename")),
    create: span(one("create")),
    start: span(start),
    gate: end - start.end - total(within(journal, start.end, end)),
    "gate inspects": total(gateInspects),
  };
  const sequential = ["stop", "journal", "rename", "create", "start", "gate"];
  parts.other = outcome.downtimeMs - sequential.reduce((sum, name) => sum + parts[name]!, 0);
  return {
    arm: "engine",
    round,
    downtimeMs: outcome.downtimeMs,
    observer: outageOf(log, stop.start),
    parts,
    // The first inspect after start is botProbe's setup; every probe after it does one inspect.
    probes: gateInspects.length - 1,
    timings: outcome.timings,
    durationMs: outcome.durationMs,
    journalWrites: journal.length,
  };
}

// ---------------------------------------------------------------------------------------------
// Statistics and output.

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]!;
}
const median = (values: number[]) => {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = sorted.length / 2;
  return Number.isInteger(mid) ? (sorted[mid - 1]! + sorted[mid]!) / 2 : sorted[Math.floor(mid)]!;
};
const ms = (value: number) => `${Math.round(value)} ms`;

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(" | ")} |`;
  return [
    line(header),
    `| ${widths.map((w, i) => (i === 0 ? "-".repeat(w) : `${"-".repeat(w - 1)}:`)).join(" | ")} |`,
    ...rows.map(line),
  ].join("\n");
}

function report(samples: Sample[]): void {
  const of = (arm: Arm) => samples.filter((s) => s.arm === arm);
  const pick = (arm: Arm, f: (s: Sample) => number) => of(arm).map(f);
  const n = of("engine").length;

  console.log(`\nDowntime per update, ${n} measured rounds per arm (median / p90; min–max):\n`);
  console.log(
    table(
      ["arm", "own clock: median", "p90", "min–max", "observer gap: median", "p90", "min–max"],
      ARMS.map((arm) => {
        const own = pick(arm, (s) => s.downtimeMs);
        const gap = pick(arm, (s) => s.observer.gapMs);
        return [
          ARM_TITLE[arm],
          ms(median(own)),
          ms(quantile(own, 0.9)),
          `${Math.round(Math.min(...own))}–${Math.round(Math.max(...own))}`,
          ms(median(gap)),
          ms(quantile(gap, 0.9)),
          `${Math.round(Math.min(...gap))}–${Math.round(Math.max(...gap))}`,
        ];
      }),
    ),
  );

  const ratio = (arm: Arm, f: (s: Sample) => number) => median(pick("engine", f)) / median(pick(arm, f));
  const paired = (arm: Arm, f: (s: Sample) => number) => {
    const base = new Map(of(arm).map((s) => [s.round, f(s)]));
    return median(of("engine").map((s) => f(s) / base.get(s.round)!));
  };
  const own = (s: Sample) => s.downtimeMs;
  const gap = (s: Sample) => s.observer.gapMs;
  console.log("\nRatio engine / bare (goal ≤ 1.25 against the bare sequence):\n");
  console.log(
    table(
      ["baseline", "own clock (medians)", "own clock (median of per-round)", "observer gap (medians)"],
      (["bare-tight", "bare-gate"] as const).map((arm) => [
        ARM_TITLE[arm],
        `${ratio(arm, own).toFixed(2)}×`,
        `${paired(arm, own).toFixed(2)}×`,
        `${ratio(arm, gap).toFixed(2)}×`,
      ]),
    ),
  );

  console.log("\nWhere the downtime goes (medians of each part, ms):\n");
  for (const arm of ARMS) {
    const names = Object.keys(of(arm)[0]!.parts);
    const parts = names.map((name) => `${name} ${Math.round(median(pick(arm, (s) => s.parts[name]!)))}`);
    const probes = median(pick(arm, (s) => s.probes));
    const writes =
      arm === "engine" ? `; journal writes: ${median(pick(arm, (s) => s.journalWrites ?? 0))}` : "";
    console.log(`  ${ARM_TITLE[arm].padEnd(30)} ${parts.join(", ")}; probes until 200: ${probes}${writes}`);
  }
  const phases = ["preflight", "pull", "stop", "snapshot", "recreate", "health"] as const;
  const timings = phases.map(
    (phase) => `${phase} ${Math.round(median(pick("engine", (s) => s.timings?.[phase] ?? 0)))}`,
  );
  console.log(`  ${"engine outcome.timings".padEnd(30)} ${timings.join(", ")}`);
  console.log(
    `  ${"engine outcome.durationMs".padEnd(30)} ${Math.round(median(pick("engine", (s) => s.durationMs ?? 0)))}`,
  );
  const observerStop = ARMS.map(
    (arm) => `${arm} ${Math.round(median(pick(arm, (s) => s.observer.stopToFirstOkMs)))}`,
  );
  console.log(`  ${"observer: stop call → first 200".padEnd(30)} ${observerStop.join(", ")}`);
  const extra = samples.filter((s) => s.observer.outages !== 1);
  if (extra.length > 0)
    console.log(`  note: ${extra.length} round(s) where the observer saw more than one outage`);
}

/** (Re)creates whichever of the two containers is missing, on the digest it is meant to run, and waits for both. */
async function ensureContainers(b: Bench): Promise<void> {
  const raw = dockerClient();
  if (!(await b.docker.inspect(b.bot.id))) {
    await b.docker.remove(asideName(b.bot.id));
    await b.journal.finish(b.bot.id).catch(() => undefined); // no journal dir before the first update
    const created = await ensureBot(b.bot, b.botDigest, b.engine);
    if (created.action === "created" && created.outcome.result !== "updated")
      throw new Error(`could not create the engine bot: ${created.outcome.reason}`);
  }
  const bare = await raw
    .getContainer(b.bareName)
    .inspect()
    .catch(() => undefined);
  if (!bare) await (await raw.createContainer(bareCreateOptions(b, b.bareDigest))).start();
  else if (!bare.State.Running) await raw.getContainer(b.bareName).start();
  await pollUntilOk(b.bot.health!.url, "tight");
  await pollUntilOk(`http://127.0.0.1:${b.barePort}/health`, "tight");
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  if (!process.env.DOCKER_HOST || !process.env.FLEETWAVE_REGISTRY)
    throw new Error('run `eval "$(bash scripts/test-env.sh env)"` first (DOCKER_HOST, FLEETWAVE_REGISTRY)');

  const raw = dockerClient();
  const [info, version] = await Promise.all([raw.info(), raw.version()]);
  const loadBefore = loadavg();
  console.log(
    `machine: ${cpus().length} × ${cpus()[0]?.model ?? "?"}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, ` +
      `Node ${process.version}, Docker Engine ${version.Version} (${info.Driver}); ` +
      `load average ${loadBefore.map((l) => l.toFixed(2)).join(" ")}`,
  );

  const [v1, v2] = await Promise.all([
    buildTestImage({ version: "bench-1", behaviour: "healthy" }),
    buildTestImage({ version: "bench-2", behaviour: "healthy" }),
  ]);
  if (v1.repository !== v2.repository) throw new Error("the two images must share a repository");

  const dataDir = await mkdtemp(join(tmpdir(), "fleetwave-update-bench-"));
  const docker = new TimedDocker(dockerFromEnv());
  const journal = new TimedJournal(dataDir);
  const engine = await engineFor({
    dataDir,
    docker,
    journal,
    minHealthySeconds: 0,
    stopTimeoutSeconds: STOP_TIMEOUT_SECONDS,
    healthCheckTimeoutSeconds: HEALTH_TIMEOUT_MS / 1000,
    keepSnapshots: 0,
  });
  const bot = testBot(await freePort(), [], `fwbench-update-${process.pid}`);
  const b: Bench = {
    repository: v1.repository,
    digests: [v1.digest, v2.digest],
    bareName: `fwbench-bare-${process.pid}`,
    barePort: await freePort(),
    bareDigest: v1.digest,
    bot,
    botDigest: v1.digest,
    engine,
    docker,
    journal,
    observer: new Observer(),
  };
  const names = [bot.id, asideName(bot.id), b.bareName];

  let cleaned = false;
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    for (const name of names)
      await raw
        .getContainer(name)
        .remove({ force: true })
        .catch(() => undefined);
    await b.observer.terminate();
    await rm(dataDir, { recursive: true, force: true });
  };
  process.once("SIGINT", () => {
    void cleanup().finally(() => process.exit(130));
  });

  try {
    console.log(
      `images ${v1.repository}: bench-1 ${v1.digest.slice(7, 19)}, bench-2 ${v2.digest.slice(7, 19)}; ` +
        `engine bot ${bot.id} on 127.0.0.1:${bot.env.PORT}, bare container ${b.bareName} on 127.0.0.1:${b.barePort}; ` +
        `stop timeout ${STOP_TIMEOUT_SECONDS} s, ${ROUNDS} rounds (the first is a warm-up)\n`,
    );
    await ensureContainers(b);

    const samples: Sample[] = [];
    let disturbed = 0;
    for (let round = 0; round < ROUNDS; round += 1) {
      const order = ARMS.map((_, i) => ARMS[(i + round) % ARMS.length]!);
      const line: string[] = [];
      const taken: Sample[] = [];
      try {
        for (const arm of order) {
          await sleep(400); // let the Engine finish asynchronous clean-up of the previous arm
          const sample =
            arm === "engine"
              ? await engineRound(b, round)
              : await bareRound(b, arm === "bare-tight" ? "tight" : "gate", round);
          taken.push(sample);
          line.push(`${arm} ${Math.round(sample.downtimeMs)}/${Math.round(sample.observer.gapMs)}`);
        }
      } catch (error) {
        // The test engine is shared: other suites' clean-up removes every fleetwave.managed
        // container, the bench's bot included. Put both containers back and run the round again.
        disturbed += 1;
        if (disturbed > ROUNDS) throw error;
        console.log(`round ${round + 1} disturbed, repeated: ${(error as Error).message}`);
        if (b.observer.running) await b.observer.stop();
        await ensureContainers(b);
        round -= 1;
        continue;
      }
      if (round > 0) samples.push(...taken);
      console.log(
        `round ${round + 1}${round === 0 ? " (warm-up)" : ""}: ${line.join(", ")} ms (own clock/observer gap); ` +
          `load ${loadavg()[0]!.toFixed(2)}`,
      );
    }
    report(samples);
    const loadAfter = loadavg();
    console.log(
      `\nload average before ${loadBefore.map((l) => l.toFixed(2)).join(" ")}, ` +
        `after ${loadAfter.map((l) => l.toFixed(2)).join(" ")}`,
    );
  } finally {
    await cleanup();
  }
}

await main();
