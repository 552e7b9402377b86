import { relative, sep } from "node:path";
import { z } from "zod";
import { headCommit } from "#fleetwave/git/git.ts";
import { checkoutStatusFiles } from "#fleetwave/git/status-refs.ts";
import { strategyNames } from "#fleetwave/model/strategy.ts";
import { type PreparedPlan, preparePlan, writePlanFile } from "#fleetwave/plan/files.ts";
import { formatPlanSummary } from "#fleetwave/plan/render.ts";
import { type Command, parseFlags } from "../command.ts";
import { resolveStateDir } from "../state-dir.ts";

const flagsSchema = z.strictObject({
  image: z.string({ message: "required, e.g. --image ghcr.io/acme/app:managed" }),
  digest: z.string({ message: "required, e.g. --digest sha256:<64 hex>" }),
  changelog: z.string().optional(),
  strategy: z.enum(strategyNames, { message: `must be one of ${strategyNames.join(", ")}` }).optional(),
  bot: z.string().optional(),
  state: z.string().optional(),
  "dry-run": z.boolean().default(false),
  "allow-empty": z.boolean().default(false),
  "based-on": z.string().min(1).optional(),
  json: z.boolean().default(false),
});

/** What `plan --json` prints: the plan, the bots left out, and what happened to the file. */
interface PlanJson {
  result: "written" | "dry-run" | "nothing-to-do" | "no-targets";
  /** The rollout file's path when written, relative to the working directory when inside it. */
  file: string | null;
  plan: PreparedPlan["plan"];
  excluded: PreparedPlan["excluded"];
}

export const planCommand: Command = {
  name: "plan",
  summary: "compute a rollout plan for an image digest and write fleet-state/rollouts/<id>.yaml",
  usage: `Usage: fleetwave plan --image REPO:TAG --digest sha256:... [--changelog FILE]
                      [--strategy rolling-wave|immediate|single-bot] [--bot ID]
                      [--state DIR] [--dry-run] [--allow-empty] [--based-on SHA] [--json]

Targets every bot whose image is REPO:TAG, except pinned bots, bots already running the digest
(status/*.yaml) and a digest quarantined for the image. Prints the waves and the excluded bots,
then writes rollouts/<id>.yaml (id = UTC minute + first 8 hex of the digest).

  --changelog FILE  user-facing changelog JSON embedded in the plan
  --strategy NAME   override fleet.yaml's strategy name (other knobs come from fleet.yaml)
  --bot ID          the bot of a single-bot plan (implies --strategy single-bot)
  --state DIR       fleet-state directory (default ./fleet-state)
  --dry-run         print the plan, write nothing
  --allow-empty     exit 0 with "nothing to do" when no bot is a target (default: exit 1)
  --based-on SHA    the fleet-state commit (default: git HEAD of DIR's repository, else "unknown")
  --json            print one JSON object {result, file, plan, excluded} instead of the summary
                    (result: written, dry-run, nothing-to-do or no-targets; same exit codes)`,
  async run(argv, io) {
    const { flags } = parseFlags(argv, flagsSchema);
    const stateDir = await resolveStateDir(flags.state, io.cwd);
    const basedOn = flags["based-on"] ?? (await headCommit(stateDir)) ?? "unknown";
    const strategyName = flags.strategy ?? (flags.bot !== undefined ? "single-bot" : undefined);
    const prepared = await preparePlan({
      stateDir,
      cwd: io.cwd,
      image: flags.image,
      digest: flags.digest,
      ...(flags.changelog !== undefined ? { changelogPath: flags.changelog } : {}),
      ...(strategyName ? { strategy: { name: strategyName } } : {}),
      ...(flags.bot !== undefined ? { bot: flags.bot } : {}),
      now: new Date(),
      basedOn,
      statusFiles: await checkoutStatusFiles(stateDir),
    });
    const { plan, excluded, state } = prepared;
    const json = (result: PlanJson["result"], file: string | null = null) =>
      io.out(JSON.stringify({ result, file, plan, excluded } satisfies PlanJson));
    if (!flags.json) {
      io.out(formatPlanSummary(plan, excluded, { fleet: state.fleet, tenants: state.tenants }));
      io.out("");
    }
    if (plan.targets.length === 0) {
      if (flags["allow-empty"]) {
        if (flags.json) json("nothing-to-do");
        else io.out("Nothing to do: no bot needs this digest; no plan written.");
        return 0;
      }
      if (flags.json) json("no-targets");
      io.err(
        `no bot is a target of ${plan.image}@${plan.digest}; nothing written (pass --allow-empty to make this exit 0)`,
      );
      return 1;
    }
    if (flags["dry-run"]) {
      if (flags.json) {
        json("dry-run");
        return 0;
      }
      io.out(
        `Dry run: nothing written (the plan would be ${prepared.fileName} in the fleet-state directory).`,
      );
      return 0;
    }
    const path = await writePlanFile(stateDir, prepared);
    const relativePath = relative(io.cwd, path);
    const shown = relativePath.startsWith("..") ? path : relativePath.split(sep).join("/");
    if (flags.json) json("written", shown);
    else io.out(`Wrote ${shown}`);
    return 0;
  },
};
