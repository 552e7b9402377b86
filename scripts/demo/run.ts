/** Child processes of the demo (bash, git, the real fleetwave CLI), without a shell. */
import { spawn } from "node:child_process";
import { resolve } from "node:path";

export const ROOT = resolve(import.meta.dirname, "../..");
export const FLEETWAVE_BIN = resolve(ROOT, "agent/bin/fleetwave.js");

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Called with every complete stderr line as it arrives (for long-running scripts). */
  onStderrLine?: (line: string) => void;
}

export function run(command: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((done, fail) => {
    const child = spawn(command, args, {
      cwd: options.cwd ?? ROOT,
      env: options.env ?? process.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    let partial = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      const text = chunk.toString();
      stderr += text;
      if (!options.onStderrLine) return;
      const lines = (partial + text).split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) options.onStderrLine(line);
    });
    child.once("error", fail);
    child.once("close", (code, signal) => {
      if (partial && options.onStderrLine) options.onStderrLine(partial);
      done({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
  });
}

/** The real `fleetwave` CLI in a child process, as an operator would run it. */
export function fleetwave(cwd: string, ...args: string[]): Promise<RunResult> {
  return run(process.execPath, [FLEETWAVE_BIN, ...args], { cwd });
}

const IDENTITY = [
  "-c",
  "user.name=Demo Operator",
  "-c",
  "user.email=operator@fleetwave-demo.invalid",
  "-c",
  "commit.gpgsign=false",
  "-c",
  "init.defaultBranch=main",
];

/** git with the demo operator's identity; throws with git's stderr when it fails. */
export async function git(cwd: string, ...args: string[]): Promise<string> {
  const result = await run("git", [...IDENTITY, ...args], {
    cwd,
    env: { ...process.env, GIT_TERMINAL_PROMPT: "0", LC_ALL: "C" },
  });
  if (result.code !== 0)
    throw new Error(`git ${args.join(" ")} failed (exit ${result.code}): ${result.stderr.trim()}`);
  return result.stdout;
}
