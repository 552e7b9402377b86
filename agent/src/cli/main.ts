import { FleetwaveError } from "../errors.ts";
import type { CliIO, Command } from "./command.ts";
import { commands } from "./commands/index.ts";

function help(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    "fleetwave — GitOps rollouts for per-tenant Docker containers",
    "",
    "Usage: fleetwave <command> [flags]",
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
  };
}

export async function main(argv: string[], io: CliIO = defaultIO()): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    io.out(help());
    return name === undefined ? 1 : 0;
  }
  const command: Command | undefined = commands.find((c) => c.name === name);
  if (!command) {
    io.err(`fleetwave: unknown command "${name}"\n\n${help()}`);
    return 1;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    io.out(command.usage);
    return 0;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    if (error instanceof FleetwaveError) {
      io.err(`fleetwave ${name}: ${error.message}`);
      if (error.name === "UsageError") io.err(`\n${command.usage}`);
      return 1;
    }
    throw error;
  }
}
