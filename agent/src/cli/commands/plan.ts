import { relative, sep } from "node:path";
import { z } from "zod";
import { headCommit } from "../../git/git.ts";
import { strategyNames } from "../../model/strategy.ts";
import { preparePlan, writePlanFile } from "../../plan/files.ts";
import { formatPlanSummary } from "../../plan/render.ts";
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
});

export const planCommand: Command = {
  name: "plan",
  summary: "compute a rollout plan for an image digest and write fleet-state/rollouts/<id>.yaml",
  usage: `Usage: fleetwave plan --image REPO:TAG --digest sha256:... [--changelog FILE]
                      [--strategy rolling-wave|immediate|single-bot] [--bot ID]
                      [--state DIR] [--dry-run] [--allow-empty] [--based-on SHA]

Targets every bot whose image is REPO:TAG, except pinned bots, bots already running the digest
(status/*.yaml) and a digest quarantined for the image. Prints the waves and the excluded bots,
then writes rollouts/<id>.yaml (id = UTC minute + first 8 hex of the digest).

  --changelog FILE  user-facing changelog JSON embedded in the plan
  --strategy NAME   override fleet.yaml's strategy name (other knobs come from fleet.yaml)
  --bot ID          the bot of a single-bot plan (implies --strategy single-bot)
  --state DIR       fleet-state directory (default ./fleet-state)
  --dry-run         print the plan, write nothing
  --allow-empty     exit 0 with "nothing to do" when no bot is a target (default: exit 1)
  --based-on SHA    the fleet-state commit (default: git HEAD of DIR's repository, else "unknown")`,
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
    });
    const { plan, excluded, state } = prepared;
    io.out(formatPlanSummary(plan, excluded, { fleet: state.fleet, tenants: state.tenants }));
    io.out("");
    if (plan.targets.length === 0) {
      if (flags["allow-empty"]) {
        io.out("Nothing to do: no bot needs this digest; no plan written.");
        return 0;
      }
      io.err(
        `no bot is a target of ${plan.image}@${plan.digest}; nothing written (pass --allow-empty to make this exit 0)`,
      );
      return 1;
    }
    if (flags["dry-run"]) {
      io.out(
        `Dry run: nothing written (the plan would be ${prepared.fileName} in the fleet-state directory).`,
      );
      return 0;
    }
    const path = await writePlanFile(stateDir, prepared);
    const shown = relative(io.cwd, path);
    io.out(`Wrote ${shown.startsWith("..") ? path : shown.split(sep).join("/")}`);
    return 0;
  },
};
