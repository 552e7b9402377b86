/** Messages between `bench/fleet-scale.bench.ts` and its agent worker processes (bench/sim/agent-worker.ts). */
import type { StepTimings } from "./simulated-engine.ts";

export interface StartMessage {
  kind: "start";
  hosts: string[];
  /** One data dir per host is made under it. */
  root: string;
  bare: string;
  /** `repository:tag` -> digest, the simulated registry. */
  tags: [string, string][];
  timings: StepTimings;
  pollMs: number;
  /** Scripts that wait, then exec git-upload-pack / git-receive-pack; absent without added latency. */
  latency?: { uploadPack: string; receivePack: string };
}

/** `mark` resets the push counters and the engines' step times, and answers the CPU and reconciles so far. */
export type ParentMessage = StartMessage | { kind: "mark" } | { kind: "stop" };

export interface HostReport {
  host: string;
  pushesOk: number;
  pushesRejected: number;
  reconciles: number;
  /** Status commits of this host that the remote's status ref does not have after the stop. */
  lost: number;
  /** Bot -> the step delays the simulated engine drew for it since the mark. */
  stepMs: [string, number][];
}

export type WorkerMessage =
  | { kind: "started" }
  /** Cumulative since the worker started: CPU of the process and its children, reconciles of its agents. */
  | { kind: "marked"; cpuSeconds: number; reconciles: number }
  | { kind: "log"; line: string }
  | { kind: "stopped"; cpuSeconds: number; hosts: HostReport[] };

/**
 * Points a clone's fetches and pushes at the slow scripts. Plain git, not the agent's git adapter:
 * that one refuses to set `remote.*.uploadpack`, as it should for anything but a bench.
 */
export async function slowRemote(clone: string, latency: { uploadPack: string; receivePack: string }) {
  const { execFile } = await import("node:child_process");
  const { promisify } = await import("node:util");
  const run = promisify(execFile);
  await run("git", ["-C", clone, "config", "remote.origin.uploadpack", latency.uploadPack]);
  await run("git", ["-C", clone, "config", "remote.origin.receivepack", latency.receivePack]);
}
