import { buildInfo } from "../build-info.ts";
import { FleetwaveError, UsageError } from "../errors.ts";
import type { CliIO } from "./command.ts";
import { commands } from "./commands/index.ts";

/** Exit code of a command line that cannot be run as written (unknown command, bad flag). */
export const USAGE_EXIT = 2;

function help(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    "fleetwave — GitOps rollouts for per-tenant Docker containers",
    "",
    "Usage: fleetwave <command> [flags]",
    "       fleetwave --version",
    "",
    "Commands:",
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    "",
    "Run `fleetwave <command> --help` for a command's flags.",
  ].join("\n");
}

function defaultIO(): CliIO {
  return {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    cwd: process.cwd(),
    env: process.env,
    ...(process.stdin.isTTY ? { ask } : {}),
  };
}

async function ask(question: string): Promise<string> {
  const { createInterface } = await import("node:readline/promises");
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return await rl.question(question);
  } finally {
    rl.close();
  }
}

export async function main(argv: string[], io: CliIO = defaultIO()): Promise<number> {
  const [name, ...rest] = argv;
  if (name === "--help" || name === "-h" || name === "help") {
    io.out(help());
    return 0;
  }
  if (name === "--version" || name === "-V") {
    const { version, commit } = buildInfo();
    io.out(`fleetwave ${version} (commit ${commit})`);
    return 0;
  }
  if (name === undefined) {
    io.err(help());
    return USAGE_EXIT;
  }
  const entry = commands.find((c) => c.name === name);
  if (!entry) {
    io.err(`fleetwave: unknown command "${name}"\n\n${help()}`);
    return USAGE_EXIT;
  }
  const command = await entry.load();
  if (rest.includes("--help") || rest.includes("-h")) {
    io.out(command.usage);
    return 0;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`fleetwave ${name}: ${error.message}\n\n${command.usage}`);
      return USAGE_EXIT;
    }
    if (error instanceof FleetwaveError) {
      io.err(`fleetwave ${name}: ${error.message}`);
      return 1;
    }
    throw error;
  }
}
