import { z } from "zod";
import { FleetwaveError } from "#fleetwave/errors.ts";
import { checkoutStatusFiles } from "#fleetwave/git/status-refs.ts";
import { loadFleetState } from "#fleetwave/model/load.ts";
import { digestCell } from "#fleetwave/text/digest.ts";
import { formatTable } from "#fleetwave/text/table.ts";
import { type Command, parseFlags } from "../command.ts";
import { resolveStateDir } from "../state-dir.ts";

const flagsSchema = z.strictObject({
  api: z
    .url({ protocol: /^https?$/, message: "--api must be an http(s) URL, e.g. http://127.0.0.1:8787" })
    .optional(),
  state: z.string().optional(),
  format: z.enum(["table", "json"]).default("table"),
});

interface Row {
  host: string;
  bot: string;
  digest: string;
  state: string;
  last: string;
  waiting: string;
}

const short = (d: string | null | undefined) => digestCell(d, "-");

function table(rows: Row[]): string {
  const header = ["HOST", "BOT", "DIGEST", "STATE", "LAST", "UPDATE WAITING"];
  const cells = rows.map((r) => [r.host, r.bot, r.digest, r.state, r.last, r.waiting]);
  return formatTable(header, cells);
}

export const statusCommand: Command = {
  name: "status",
  summary: "what runs where: from an agent's API, or from the status files in fleet-state/",
  usage: `Usage: fleetwave status [--api http://127.0.0.1:8787] [--state DIR] [--format table|json]

With --api, asks one agent (GET /api/status). Without it, reads every host's status from
the checkout: its status ref fleetwave/status/<host> as the last \`git fetch\` brought it
(origin/fleetwave/status/<host>), else fleet-state/status/<host>.yaml for a host whose
agent has not moved to its ref yet.`,
  async run(argv, io) {
    const { flags } = parseFlags(argv, flagsSchema);
    if (flags.api) {
      const response = await fetch(new URL("/api/status", flags.api)).catch((error: Error) => {
        throw new FleetwaveError(`cannot reach the agent at ${flags.api}: ${error.message}`);
      });
      const body = (await response.json()) as {
        host: string;
        bots: {
          id: string;
          digest: string | null;
          state: string;
          last?: { result: string; reason?: string };
          updateAvailable?: { digest: string };
        }[];
        lastError?: { message: string };
      };
      if (flags.format === "json") {
        io.out(JSON.stringify(body, null, 2));
        return 0;
      }
      io.out(
        table(
          body.bots.map((b) => ({
            host: body.host,
            bot: b.id,
            digest: short(b.digest),
            state: b.state,
            last: b.last?.result ?? "-",
            waiting: short(b.updateAvailable?.digest),
          })),
        ),
      );
      if (body.lastError) io.out(`\nlast error: ${body.lastError.message}`);
      return 0;
    }
    const dir = await resolveStateDir(flags.state, io.cwd);
    const loaded = await loadFleetState(dir, io.cwd, { statusFiles: await checkoutStatusFiles(dir) });
    if (!loaded.ok)
      throw new FleetwaveError(
        `fleet-state is invalid; run \`fleetwave validate\` for the ${loaded.problems.length} problems`,
      );
    const rows: Row[] = [];
    for (const bot of loaded.state.bots) {
      const status = loaded.state.statuses.find((s) => s.host === bot.host)?.bots[bot.id];
      rows.push({
        host: bot.host,
        bot: bot.id,
        digest: short(status?.digest),
        state: status?.state ?? "unknown",
        last: status?.last ? status.last.result : "-",
        waiting: short(status?.updateAvailable?.digest),
      });
    }
    io.out(flags.format === "json" ? JSON.stringify(loaded.state.statuses, null, 2) : table(rows));
    return 0;
  },
};
