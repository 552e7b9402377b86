/**
 * The status-on-`main` layout, which the agent no longer writes (it commits status to its own
 * ref, `fleetwave/status/<host>`): simulated at the agent's git layer only. Each host is a real
 * `Workspace` (one fetch of main and every status ref per tick, the commit on main, the push with
 * the agent's replay and retry); the wave barrier reads every host's `wavesDone` from the files on
 * main, polling every `pollMs` ± 10 %; a wave's bot updates are `stepMs` of waiting, and a wave
 * after the first starts `pauseMs` after the barrier opened. All hosts run as concurrent tasks of
 * the calling process; every git call is its own process.
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { Workspace } from "../../agent/src/agent/workspace.ts";
import { formatAuditCommit } from "../../agent/src/audit/commit-message.ts";
import { git } from "../../agent/src/git/git.ts";
import { totalCpuSeconds } from "../cpu.ts";
import { slowRemote } from "./protocol.ts";

export interface MainLayoutOptions {
  root: string;
  bare: string;
  hosts: string[];
  bots: number;
  waves: number;
  stepMs: number;
  pauseMs: number;
  pollMs: number;
  latency?: { uploadPack: string; receivePack: string };
  /** The run gives up (and says so) after this long. */
  timeLimitMs: number;
}

export interface MainLayoutResult {
  completionMs: number | undefined;
  floorMs: number;
  pushesOk: number;
  rejected: number;
  ticks: number;
  lost: number;
  cpuSeconds: number;
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

function statusText(host: string, bots: number, wavesDone: number, waves: number): string {
  const lines = Array.from(
    { length: bots },
    (_, b) =>
      `  ${host}-b${b}:\n    digest: sha256:${(wavesDone > 0 ? "b" : "a").repeat(64)}\n    state: running\n`,
  ).join("");
  return `host: ${host}\nobservedCommit: none\nupdatedAt: ${new Date().toISOString()}\nbots:\n${lines}rollouts:\n  bench:\n    state: ${wavesDone === waves ? "completed" : "in-progress"}\n    wavesDone: ${wavesDone}\n    bots: {}\nquarantine: []\n`;
}

async function wavesDoneOnMain(ws: Workspace): Promise<Map<string, number>> {
  const done = new Map<string, number>();
  const dir = join(ws.o.dir, "fleet-state", "status");
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const text = await readFile(join(dir, name), "utf8");
    done.set(name.replace(/\.yaml$/, ""), Number(/wavesDone: (\d+)/.exec(text)?.[1] ?? 0));
  }
  return done;
}

export async function runMainLayout(o: MainLayoutOptions): Promise<MainLayoutResult> {
  const workspaces = o.hosts.map(
    (host) =>
      new Workspace({
        repo: o.bare,
        branch: "main",
        dir: join(o.root, host, "repo"),
        identity: { name: `Fleetwave Agent (${host})`, email: `fleetwave-agent@${host}.invalid` },
        host,
        log: () => undefined,
        networkTimeoutMs: 300_000,
      }),
  );
  for (const ws of workspaces) {
    await ws.open();
    if (o.latency) await slowRemote(ws.o.dir, o.latency);
  }
  const cpuBefore = totalCpuSeconds();
  const started = performance.now();
  const deadline = started + o.timeLimitMs;
  let ticks = 0;
  let finished = 0;
  const host = async (ws: Workspace): Promise<number | undefined> => {
    for (let wave = 1; wave <= o.waves; wave += 1) {
      for (;;) {
        if (performance.now() > deadline) return undefined;
        ticks += 1;
        await ws.sync();
        const done = await wavesDoneOnMain(ws);
        if (o.hosts.every((h) => (done.get(h) ?? 0) >= wave - 1)) break;
        await sleep(o.pollMs * (0.9 + Math.random() * 0.2));
      }
      await sleep((wave > 1 ? o.pauseMs : 0) + o.stepMs);
      const message = formatAuditCommit({
        host: ws.o.host,
        subject: `rollout bench wave ${wave}`,
        records: [],
        notes: [],
      });
      await ws.commit(
        { [`fleet-state/status/${ws.o.host}.yaml`]: statusText(ws.o.host, o.bots, wave, o.waves) },
        message,
      );
      for (;;) {
        if (performance.now() > deadline) return undefined;
        ticks += 1;
        if ((await ws.push()).ok) break;
        await sleep(o.pollMs * Math.random());
      }
    }
    finished += 1;
    return performance.now() - started;
  };
  const times = await Promise.all(workspaces.map(host));
  const cpu = totalCpuSeconds() - cpuBefore;
  let lost = 0;
  for (const ws of workspaces) {
    const out = await git(
      ["log", "--format=%s", "--fixed-strings", `--grep=Fleetwave-Host: ${ws.o.host}`, "main"],
      { cwd: o.bare },
    );
    lost += o.waves - out.stdout.split("\n").filter((l) => l.includes("rollout bench wave")).length;
  }
  return {
    completionMs: finished === o.hosts.length ? Math.max(...times.map((t) => t ?? 0)) : undefined,
    floorMs: o.waves * o.stepMs + (o.waves - 1) * o.pauseMs,
    pushesOk: workspaces.reduce((sum, ws) => sum + ws.pushes.ok, 0),
    rejected: workspaces.reduce((sum, ws) => sum + ws.pushes.rejected, 0),
    ticks,
    lost,
    cpuSeconds: cpu,
  };
}
