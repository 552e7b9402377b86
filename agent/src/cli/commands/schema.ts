import { mkdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { z } from "zod";
import { generateJsonSchemas } from "#fleetwave/model/json-schema.ts";
import { type Command, parseFlags } from "../command.ts";

const flagsSchema = z.strictObject({ out: z.string().default("fleet-state/schema") });

export const schemaCommand: Command = {
  name: "schema",
  summary: "write the JSON Schemas of the fleet-state files (for editors)",
  usage: `Usage: fleetwave schema [--out DIR]

Writes fleet.schema.json, tenant.schema.json, rollout.schema.json and status.schema.json
(draft-07, generated from the zod schemas) into DIR, default fleet-state/schema.`,
  async run(argv, io) {
    const { flags } = parseFlags(argv, flagsSchema);
    const dir = resolve(io.cwd, flags.out);
    await mkdir(dir, { recursive: true });
    for (const [name, text] of generateJsonSchemas()) {
      await writeFile(join(dir, name), text);
      io.out(`wrote ${join(flags.out, name)}`);
    }
    return 0;
  },
};
