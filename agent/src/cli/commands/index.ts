import type { Command } from "../command.ts";
import { agentCommand } from "./agent.ts";
import { changelogCommand } from "./changelog.ts";
import { demoCommand } from "./demo.ts";
import { historyCommand } from "./history.ts";
import { planCommand } from "./plan.ts";
import { schemaCommand } from "./schema.ts";
import { snapshotsCommand } from "./snapshots.ts";
import { statusCommand } from "./status.ts";
import { syncUpstreamCommand } from "./sync-upstream.ts";
import { validateCommand } from "./validate.ts";

export const commands: Command[] = [
  validateCommand,
  schemaCommand,
  planCommand,
  changelogCommand,
  syncUpstreamCommand,
  agentCommand,
  statusCommand,
  historyCommand,
  snapshotsCommand,
  demoCommand,
];
