import { resolve } from "node:path";
import { z } from "zod";
import { DockerAdapter, dockerFromEnv } from "#fleetwave/docker/docker.ts";
import { type ImageChoice, pruneImages } from "#fleetwave/engine/image-cleanup.ts";
import { FleetwaveError, UsageError } from "#fleetwave/errors.ts";
import { loadFleetState } from "#fleetwave/model/load.ts";
import { splitImageRef } from "#fleetwave/model/primitives.ts";
import { formatProblem } from "#fleetwave/model/problems.ts";
import { SnapshotStore } from "#fleetwave/snapshot/index.ts";
import { type Command, parseFlags } from "../command.ts";
import { resolveStateDir } from "../state-dir.ts";

const flagsSchema = z.strictObject({
  "data-dir": z.string({
    message:
      "--data-dir is required: the agent's data dir, e.g. /var/lib/fleetwave/host-a (its snapshots are kept)",
  }),
  host: z.string({ message: "--host is required: the host whose bots' repositories are cleaned" }),
  state: z.string().optional(),
  "dry-run": z.boolean().default(false),
  format: z.enum(["table", "json"]).default("table"),
});

const usage = `Usage: fleetwave images prune --host ID --data-dir DIR [--state DIR] [--dry-run] [--format table|json]

For every repository a bot of host ID follows (from fleet-state, default ./fleet-state), removes
the local images that no container uses, that no kept snapshot in DIR/snapshots would roll back
to, and that are not among the newest images.keepOnHost (fleet.yaml, default 2). The agent does
the same after every successful update. --dry-run only shows the choice.`;

export const imagesCommand: Command = {
  name: "images",
  summary: "show or remove the old images of the bots' repositories on this host",
  usage,
  async run(argv, io) {
    const [action, ...rest] = argv;
    if (action !== "prune") throw new UsageError(`unknown action "${action ?? ""}"; use: images prune`);
    const { flags } = parseFlags(rest, flagsSchema);
    const stateDir = await resolveStateDir(flags.state, io.cwd);
    const loaded = await loadFleetState(stateDir, io.cwd);
    if (!loaded.ok) {
      throw new FleetwaveError(
        `fleet-state is invalid, nothing was removed:\n${loaded.problems.map(formatProblem).join("\n")}`,
      );
    }
    const { fleet, bots } = loaded.state;
    const repositories = [
      ...new Set(bots.filter((b) => b.host === flags.host).map((b) => splitImageRef(b.image).repository)),
    ].sort();
    if (repositories.length === 0)
      throw new FleetwaveError(`no bot in ${stateDir} runs on host ${flags.host}`);
    const docker = new DockerAdapter(dockerFromEnv(io.env));
    const store = new SnapshotStore({ dataDir: resolve(io.cwd, flags["data-dir"]) });
    const rows: (ImageChoice & { repository: string })[] = [];
    const failed: string[] = [];
    for (const repository of repositories) {
      const result = await pruneImages(docker, store, repository, fleet.images.keepOnHost, flags["dry-run"]);
      rows.push(...result.choices.map((c) => ({ ...c, repository })));
      failed.push(...result.failed);
    }
    if (flags.format === "json") {
      io.out(JSON.stringify({ dryRun: flags["dry-run"], images: rows, failed }, null, 2));
    } else {
      const verb = flags["dry-run"] ? "would remove" : "removed";
      io.out(
        [
          "ACTION\tIMAGE\tID\tCREATED\tWHY",
          ...rows.map((r) =>
            [
              r.remove ? verb : "keep",
              r.refs[0] ?? r.repository,
              r.id.slice(7, 19),
              new Date(r.created * 1000).toISOString(),
              r.why,
            ].join("\t"),
          ),
        ].join("\n"),
      );
      for (const f of failed) io.err(`could not remove ${f}`);
    }
    return failed.length > 0 ? 1 : 0;
  },
};
