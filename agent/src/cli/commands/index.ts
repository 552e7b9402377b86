import type { Command } from "../command.ts";
import { changelogCommand } from "./changelog.ts";
import { planCommand } from "./plan.ts";
import { schemaCommand } from "./schema.ts";
import { syncUpstreamCommand } from "./sync-upstream.ts";
import { validateCommand } from "./validate.ts";

export const commands: Command[] = [
  validateCommand,
  schemaCommand,
  planCommand,
  changelogCommand,
  syncUpstreamCommand,
];
