/**
 * The real `fleetwave agent` CLI in a child process of its own process group, so a test can kill it
 * with SIGKILL the way systemd does (KillMode=control-group: the agent and its git and tar children at
 * once), and a plan written in-process (the `fleetwave plan` command without a second Node start).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join, resolve } from "node:path";
import { main } from "#fleetwave/cli/main.ts";
import { type FleetRepo, git } from "#test/support/agent-harness.ts";

const BIN = resolve(import.meta.dirname, "../../../agent/bin/fleetwave.js");

/** The agent's default git identity for `host` (FLEETWAVE_GIT_AUTHOR unset). */
export const agentAuthor = (host: string) => `Fleetwave Agent (${host}) <fleetwave-agent@${host}.invalid>`;
/** The author of the operator's commits in test/support/agent-harness.ts. */
export const OPERATOR = "Operator <ops@acme.example>";

export interface AgentRun {
  child: ChildProcess;
  /** Resolves when the process has exited, with its code or the signal that ended it. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Everything it printed so far (stdout and stderr interleaved). */
  output(): string;
  /** SIGKILL to the agent's whole process group; resolves once it has exited. */
  kill(): Promise<void>;
}

export interface AgentArgs {
  repo: string;
  host: string;
  dataDir: string;
  once?: boolean;
  extra?: string[];
  env?: Record<string, string>;
}

export function spawnAgent(a: AgentArgs): AgentRun {
  const args = [BIN, "agent", "--repo", a.repo, "--host", a.host, "--data-dir", a.dataDir];
  if (a.once ?? true) args.push("--once");
  const child = spawn(process.execPath, [...args, ...(a.extra ?? [])], {
    env: { ...process.env, ...a.env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let output = "";
  const take = (chunk: Buffer) => {
    output += chunk.toString();
  };
  child.stdout?.on("data", take);
  child.stderr?.on("data", take);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    child.on("close", (code, signal) => done({ code, signal })),
  );
  return {
    child,
    exited,
    output: () => output,
    async kill() {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
      } catch (error) {
        // ESRCH: the group is already gone (the agent finished before the kill moment).
        if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
      }
      await exited;
    },
  };
}

/** `fleetwave plan` in this process, committed and pushed as the operator; returns the rollout id. */
export async function planInProcess(
  repo: FleetRepo,
  image: string,
  digest: string,
  extra: string[] = [],
): Promise<string> {
  await repo.pull();
  const out: string[] = [];
  const code = await main(
    ["plan", "--image", image, "--digest", digest, "--state", join(repo.work, "fleet-state"), ...extra],
    { out: (l) => out.push(l), err: (l) => out.push(l), cwd: repo.work, env: process.env },
  );
  const id = /Rollout plan (\S+)/.exec(out.join("\n"))?.[1];
  if (code !== 0 || !id) throw new Error(`fleetwave plan failed (${code}): ${out.join("\n")}`);
  await git(repo.work, "add", "-A");
  await git(repo.work, "commit", "--quiet", "-m", `plan rollout ${id}`);
  await git(repo.work, "push", "--quiet", "origin", "HEAD:main");
  return id;
}
