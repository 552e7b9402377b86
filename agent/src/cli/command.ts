import { type ParseArgsConfig, parseArgs } from "node:util";
import { z } from "zod";
import { UsageError } from "../errors.ts";

export interface CliIO {
  out: (line: string) => void;
  err: (line: string) => void;
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Asks a person at the terminal and returns the answer; absent when nobody is there to ask. */
  ask?: (question: string) => Promise<string>;
}

export interface Command {
  name: string;
  summary: string;
  usage: string;
  run: (argv: string[], io: CliIO) => Promise<number>;
}

type Options = NonNullable<ParseArgsConfig["options"]>;

/** Unwraps optional/default/nullable so a flag's own type decides how parseArgs reads it. */
function innerType(schema: z.core.$ZodType): z.core.$ZodType {
  let inner = schema;
  while (
    inner instanceof z.ZodOptional ||
    inner instanceof z.ZodDefault ||
    inner instanceof z.ZodNullable ||
    inner instanceof z.ZodPrefault
  ) {
    inner = inner.def.innerType;
  }
  return inner;
}

/** parseArgs options drawn from the flags' zod schema: booleans are switches, everything else a value. */
export function flagOptions(schema: z.ZodObject): Options {
  const options: Options = {};
  for (const [name, field] of Object.entries(schema.shape)) {
    options[name] = { type: innerType(field) instanceof z.ZodBoolean ? "boolean" : "string" };
  }
  return options;
}

/**
 * Parses flags with node's parseArgs, then validates them with the same zod schema that
 * declared them, so every command reports a bad flag the same way: `--flag: message`.
 */
export function parseFlags<S extends z.ZodObject>(
  argv: string[],
  schema: S,
  allowPositionals = false,
): { flags: z.output<S>; positionals: string[] } {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: argv, options: flagOptions(schema), allowPositionals, strict: true });
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
