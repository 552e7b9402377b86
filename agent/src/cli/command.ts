import { type ParseArgsConfig, parseArgs } from "node:util";
import type { z } from "zod";
import { UsageError } from "../errors.ts";

export interface CliIO {
  out: (line: string) => void;
  err: (line: string) => void;
  cwd: string;
  env: NodeJS.ProcessEnv;
}

export interface Command {
  name: string;
  summary: string;
  usage: string;
  run: (argv: string[], io: CliIO) => Promise<number>;
}

type Options = NonNullable<ParseArgsConfig["options"]>;

/**
 * Parses flags with node's parseArgs, then validates them with a zod schema so every command
 * reports a bad flag the same way: `--flag: message`.
 */
export function parseFlags<S extends z.ZodType>(
  argv: string[],
  options: Options,
  schema: S,
  allowPositionals = false,
): { flags: z.output<S>; positionals: string[] } {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const result = schema.safeParse(parsed.values);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const flag = issue.path.length > 0 ? `--${issue.path.join(".")}` : "flags";
      return `${flag}: ${issue.message}`;
    });
    throw new UsageError(problems.join("\n"));
  }
  return { flags: result.data, positionals: parsed.positionals };
}
