import { z } from "zod";
import { UsageError } from "#fleetwave/errors.ts";
import { loadFleetState } from "#fleetwave/model/load.ts";
import { formatGithubAnnotation, formatProblem } from "#fleetwave/model/problems.ts";
import { type Command, parseFlags } from "../command.ts";
import { resolveStateDir } from "../state-dir.ts";

const flagsSchema = z.strictObject({
  state: z.string().optional(),
  format: z.enum(["text", "github"]).default("text"),
  json: z.boolean().default(false),
});

export const validateCommand: Command = {
  name: "validate",
  summary: "check fleet-state/ against the schemas and the cross-file rules",
  usage: `Usage: fleetwave validate [--state DIR] [--format text|github] [--json]

Exit 0 with a one-line summary when fleet-state is valid; exit 1 with every problem as
file:line: field: message. --format github prints ::error annotations for a PR check.
--json prints one JSON object instead: {"valid":true,"counts":{...}} or
{"valid":false,"problems":[{"file","line","field","message"}]} (same exit codes).`,
  async run(argv, io) {
    const { flags } = parseFlags(argv, flagsSchema);
    if (flags.json && flags.format !== "text") {
      throw new UsageError("--json and --format github are two output formats; pass one of them");
    }
    const dir = await resolveStateDir(flags.state, io.cwd);
    const result = await loadFleetState(dir, io.cwd);
    if (flags.json) {
      if (!result.ok) {
        io.out(JSON.stringify({ valid: false, problems: result.problems }));
        return 1;
      }
      const { tenants, bots, hosts, rollouts } = result.state;
      const counts = {
        tenants: tenants.length,
        bots: bots.length,
        hosts: hosts.length,
        rollouts: rollouts.length,
      };
      io.out(JSON.stringify({ valid: true, counts }));
      return 0;
    }
    if (!result.ok) {
      for (const problem of result.problems) {
        io.out(flags.format === "github" ? formatGithubAnnotation(problem) : formatProblem(problem));
      }
      io.err(
        `fleet-state is invalid: ${result.problems.length} problem${result.problems.length === 1 ? "" : "s"}`,
      );
      return 1;
    }
    const { tenants, bots, hosts, rollouts } = result.state;
    io.out(
      `fleet-state is valid: ${tenants.length} tenants, ${bots.length} bots, ${hosts.length} hosts, ${rollouts.length} rollouts`,
    );
    return 0;
  },
};
