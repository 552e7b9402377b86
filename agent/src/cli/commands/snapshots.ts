import { resolve } from "node:path";
import { z } from "zod";
import { DockerAdapter, dockerFromEnv } from "#fleetwave/docker/docker.ts";
import { FleetwaveError, UsageError } from "#fleetwave/errors.ts";
import { type IncompleteFile, SnapshotStore } from "#fleetwave/snapshot/index.ts";
import { type CliIO, type Command, parseFlags } from "../command.ts";

const flagsSchema = z.strictObject({
  "data-dir": z.string({
    message: "--data-dir is required: the agent's data dir, e.g. /var/lib/fleetwave/host-a",
  }),
  bot: z.string().optional(),
  keep: z.coerce.number().int().min(0).default(0),
  format: z.enum(["table", "json"]).default("table"),
});

const usage = `Usage: fleetwave snapshots list    --data-dir DIR [--bot ID] [--format table|json]
       fleetwave snapshots restore ID --data-dir DIR
       fleetwave snapshots prune   --data-dir DIR [--bot ID] [--keep N]

Volume snapshots live in DIR/snapshots as <id>.tar plus <id>.json; a pair (PARTS 2: a
level-0 taken while the bot ran and the level-1 after its stop) adds <id>.l1.tar. restore
verifies the sha256 of every part, empties the volume and extracts the snapshot into it
(a pair: level-0, then level-1); every container using the volume must be stopped first
(docker stop <bot>). prune removes the files that interrupted snapshots left (*.tar.partial,
*.json.tmp, *.snar, tars without a manifest; never one being written) and, with --bot,
keeps the newest N snapshots per volume of that bot.`;

function printIncomplete(io: CliIO, files: IncompleteFile[]): void {
  if (files.length === 0) return;
  io.out("");
  io.out("INCOMPLETE (left by interrupted snapshots; `fleetwave snapshots prune` removes them)");
  io.out(
    [
      "FILE\tKIND\tBYTES\tMODIFIED\tSTATE",
      ...files.map((f) =>
        [f.name, f.kind, f.bytes, f.modifiedAt, f.inUse ? "being-written" : "leftover"].join("\t"),
      ),
    ].join("\n"),
  );
}

export const snapshotsCommand: Command = {
  name: "snapshots",
  summary: "list, restore or prune the volume snapshots in an agent's data dir",
  usage,
  async run(argv, io) {
    const [action, ...rest] = argv;
    const { flags, positionals } = parseFlags(rest, flagsSchema, true);
    const store = new SnapshotStore({ dataDir: resolve(io.cwd, flags["data-dir"]) });
    switch (action) {
      case "list": {
        const list = await store.list(flags.bot ? { bot: flags.bot } : {});
        // Leftovers are listed whatever --bot says: they take the whole data dir's space.
        const incomplete = await store.incomplete();
        if (flags.format === "json") {
          io.out(JSON.stringify({ snapshots: list, incomplete }, null, 2));
          return 0;
        }
        io.out(
          [
            "ID\tBOT\tVOLUME\tCREATED\tBYTES\tENTRIES\tMETHOD\tPARTS",
            ...list.map((m) =>
              [
                m.id,
                m.bot,
                m.volume,
                m.createdAt,
                m.bytes + (m.level1?.bytes ?? 0),
                m.entries + (m.level1?.entries ?? 0),
                m.method,
                m.level1 ? 2 : 1,
              ].join("\t"),
            ),
          ].join("\n"),
        );
        printIncomplete(io, incomplete);
        return 0;
      }
      case "restore": {
        const id = positionals[0];
        if (!id) throw new UsageError("restore needs the snapshot id (see `fleetwave snapshots list`)");
        const manifest = await store.get(id);
        if (!manifest) throw new FleetwaveError(`no snapshot ${id} in ${store.dir}`);
        if (manifest.method !== "mountpoint") {
          throw new FleetwaveError(
            `snapshot ${id} was taken through the Engine archive API; restore it with the agent, which recreates the volume`,
          );
        }
        const docker = new DockerAdapter(dockerFromEnv(io.env));
        const users = await docker.docker.listContainers({
          filters: { volume: [manifest.volume], status: ["running", "restarting"] },
        });
        if (users.length > 0) {
          throw new FleetwaveError(
            `volume ${manifest.volume} is in use by running containers (${users.map((c) => c.Names[0]).join(", ")}); stop them first`,
          );
        }
        await store.restoreVolume(id, {
          kind: "mountpoint",
          path: await docker.volumeMountpoint(manifest.volume),
        });
        const parts = manifest.level1
          ? `level-0 ${manifest.sha256.slice(0, 12)} and level-1 ${manifest.level1.sha256.slice(0, 12)} verified`
          : `sha256 ${manifest.sha256.slice(0, 12)} verified`;
        io.out(
          `restored ${manifest.volume} from ${id} (${manifest.entries + (manifest.level1?.entries ?? 0)} entries, ${parts})`,
        );
        return 0;
      }
      case "prune": {
        const lines = (await store.removeIncomplete()).map((name) => `removed leftover ${name}`);
        for (const file of await store.incomplete()) {
          if (file.inUse) lines.push(`kept ${file.name}: a snapshot is being written`);
        }
        if (flags.bot) {
          const volumes = new Set((await store.list({ bot: flags.bot })).map((m) => m.volume));
          for (const volume of volumes) {
            const removed = await store.prune({ bot: flags.bot, volume, keep: flags.keep });
            lines.push(...removed.map((id) => `removed ${id}`));
          }
        }
        io.out(lines.length === 0 ? "nothing to prune" : lines.join("\n"));
        return 0;
      }
      default:
        throw new UsageError(`unknown action "${action ?? ""}"; use list, restore or prune`);
    }
  },
};
