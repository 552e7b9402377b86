import { resolve } from "node:path";
import { z } from "zod";
import { readAuditLog } from "#fleetwave/audit/git-log.ts";
import { filterHistory, formatHistoryTable, historyRows } from "#fleetwave/audit/history.ts";
import { loadFleetState } from "#fleetwave/model/load.ts";
import { type Command, parseFlags } from "../command.ts";

const flagsSchema = z.strictObject({
  repo: z.string().default("."),
  bot: z.string().optional(),
  tenant: z.string().optional(),
  rollout: z.string().optional(),
  actor: z.string().optional(),
  format: z.enum(["table", "json"]).default("table"),
});

export const historyCommand: Command = {
  name: "history",
  summary: "the audit table of every update and control action, read from the git log's trailers",
  usage: `Usage: fleetwave history [--repo PATH] [--bot ID] [--tenant ID] [--rollout ID] [--actor NAME]
                         [--format table|json]

Reads the Fleetwave-* trailers of the commits in the GitOps repository (default: the current
directory): HEAD and every host's status ref (fleetwave/status/<host>; in a checkout the
origin/fleetwave/status/* refs, so \`git fetch\` first), merged in commit-time order. Prints
when, host, bot, from, to, result, actor, rollout and commit, newest first. Bots' updates
(Fleetwave-Update) and control actions (Fleetwave-Action: pauses, resumes, aborts, rollbacks,
lifted quarantines) share the table; an action's RESULT is its kind, e.g. rollout.abort.
Filters combine: --actor is the name the table shows (a token's name, tenant:<id>, agent <host>).`,
  async run(argv, io) {
    const { flags } = parseFlags(argv, flagsSchema);
    const repo = resolve(io.cwd, flags.repo);
    const commits = await readAuditLog(repo);
    let tenantOf: ((bot: string) => string | undefined) | undefined;
    if (flags.tenant) {
      const state = await loadFleetState(resolve(repo, "fleet-state"), io.cwd);
      const owners = new Map(state.ok ? state.state.bots.map((b) => [b.id, b.tenant]) : []);
      tenantOf = (bot) => owners.get(bot);
    }
    const rows = filterHistory(historyRows(commits), {
      ...(flags.bot ? { bot: flags.bot } : {}),
      ...(flags.rollout ? { rollout: flags.rollout } : {}),
      ...(flags.actor ? { actor: flags.actor } : {}),
      ...(flags.tenant ? { tenant: flags.tenant } : {}),
      ...(tenantOf ? { tenantOf } : {}),
    });
    io.out(flags.format === "json" ? JSON.stringify(rows, null, 2) : formatHistoryTable(rows));
    return 0;
  },
};
