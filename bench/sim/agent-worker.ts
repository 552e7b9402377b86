/**
 * One worker process of `bench/fleet-scale.bench.ts`: runs whole agents (the `Agent` class that
 * `fleetwave agent` runs, scheduled the same way) for its share of the hosts, each on its own
 * `SimulatedEngine`, as concurrent instances in this one Node process. Driven by IPC messages
 * (bench/sim/protocol.ts): start, mark (the rollout begins: counters are taken), stop.
 */
import { join } from "node:path";
import { Agent } from "../../agent/src/agent/agent.ts";
import { ReconcileSchedule } from "../../agent/src/agent/reconcile-schedule.ts";
import type { AgentRuntime } from "../../agent/src/agent/runtime.ts";
import { git } from "../../agent/src/git/git.ts";
import { statusBranch } from "../../agent/src/git/status-refs.ts";
import { createLogger } from "../../agent/src/log/logger.ts";
import { totalCpuSeconds } from "../cpu.ts";
import {
  type HostReport,
  type ParentMessage,
  type StartMessage,
  slowRemote,
  type WorkerMessage,
} from "./protocol.ts";
import { SimulatedEngine } from "./simulated-engine.ts";

interface Running {
  host: string;
  agent: Agent;
  engine: SimulatedEngine;
  dir: string;
  schedule: ReconcileSchedule;
  at: { pushesOk: number; pushesRejected: number; reconciles: number };
}

const send = (message: WorkerMessage) => process.send?.(message);
// Every agent adds its own exit hook (its data-dir lock); dozens of agents in one process are the point.
process.setMaxListeners(0);
const running: Running[] = [];
let cpuAtMark = 0;
let logLines = 0;

/** The workspace's push counters; the bench reads them through the agent's private runtime. */
const pushesOf = (agent: Agent) => (agent as unknown as { rt: AgentRuntime }).rt.ws.pushes;

async function reconcilesOf(agent: Agent): Promise<number> {
  const metric = agent.metrics().registry.getSingleMetric("fleetwave_reconciles_total");
  const values = (await metric?.get())?.values ?? [];
  return values.reduce((sum, v) => sum + v.value, 0);
}

async function startHost(host: string, m: StartMessage): Promise<Running> {
  const engine = new SimulatedEngine({ tags: new Map(m.tags) }, m.timings);
  const dir = join(m.root, host);
  const logger = createLogger({
    host,
    format: "text",
    level: "warn",
    write: (line) => {
      // The first lines tell what went wrong; a flood would only slow the bench.
      if (logLines++ < 20) send({ kind: "log", line: line.trimEnd() });
    },
  });
  const agent = new Agent({
    repo: m.bare,
    host,
    branch: "main",
    dataDir: dir,
    docker: engine,
    logger,
    gitTimeoutMs: 300_000,
  });
  await agent.start();
  if (m.latency) await slowRemote(join(dir, "repo"), m.latency);
  // The schedule of `fleetwave agent`: at start, then after the interval ± 10 % or when a gate opens.
  const schedule = new ReconcileSchedule(agent, { intervalMs: m.pollMs });
  const r: Running = {
    host,
    agent,
    engine,
    dir,
    schedule,
    at: { pushesOk: 0, pushesRejected: 0, reconciles: 0 },
  };
  schedule.start();
  return r;
}

async function start(m: StartMessage): Promise<void> {
  // A few clones at a time: hundreds at once would only queue for the two cores.
  const queue = [...m.hosts];
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      for (let host = queue.shift(); host; host = queue.shift()) running.push(await startHost(host, m));
    }),
  );
  send({ kind: "started" });
}

async function mark(): Promise<void> {
  let reconciles = 0;
  for (const r of running) {
    const pushes = pushesOf(r.agent);
    r.at = { pushesOk: pushes.ok, pushesRejected: pushes.rejected, reconciles: await reconcilesOf(r.agent) };
    r.engine.stepMsByBot.clear();
    reconciles += r.at.reconciles;
  }
  cpuAtMark = totalCpuSeconds();
  send({ kind: "marked", cpuSeconds: cpuAtMark, reconciles });
}

/** Status commits on the host's branch in its clone that the remote's status ref lacks. */
async function lostCommits(r: Running, bare: string): Promise<number> {
  const repo = join(r.dir, "repo");
  const branch = statusBranch(r.host);
  const remote = (
    await git(["rev-parse", "--verify", "--quiet", `refs/heads/${branch}`], { cwd: bare }).catch(() => ({
      stdout: "",
    }))
  ).stdout.trim();
  await git(["fetch", "--quiet", bare, `refs/heads/${branch}`], { cwd: repo }).catch(() => undefined);
  const range = remote ? [`refs/heads/${branch}`, "--not", remote] : [`refs/heads/${branch}`];
  const out = await git(["rev-list", "--count", ...range], { cwd: repo });
  return Number(out.stdout.trim());
}

async function stop(bare: string): Promise<void> {
  const cpu = totalCpuSeconds() - cpuAtMark;
  for (const r of running) r.schedule.stop();
  await Promise.all(running.map((r) => r.agent.stop()));
  const hosts: HostReport[] = [];
  for (const r of running) {
    const pushes = pushesOf(r.agent);
    hosts.push({
      host: r.host,
      pushesOk: pushes.ok - r.at.pushesOk,
      pushesRejected: pushes.rejected - r.at.pushesRejected,
      reconciles: (await reconcilesOf(r.agent)) - r.at.reconciles,
      lost: await lostCommits(r, bare),
      stepMs: [...r.engine.stepMsByBot],
    });
  }
  send({ kind: "stopped", cpuSeconds: cpu, hosts });
}

let bare = "";
function handle(message: ParentMessage): Promise<void> {
  if (message.kind === "start") {
    bare = message.bare;
    return start(message);
  }
  return message.kind === "mark" ? mark() : stop(bare);
}

process.on("SIGTERM", () => process.exit(0));
process.on("message", (message: ParentMessage) => {
  handle(message).catch((error: Error) => {
    send({ kind: "log", line: `worker failed: ${error.stack ?? error.message}` });
    process.exit(1);
  });
});
