import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { liftQuarantine } from "#fleetwave/agent/fleet-edits.ts";
import { formatActionCommit } from "#fleetwave/audit/commit-message.ts";
import { FleetwaveError, UsageError } from "#fleetwave/errors.ts";
import { type QuarantineEntry, quarantineEntries } from "#fleetwave/plan/quarantine.ts";
import { digestCell, digestMatches, shortDigest } from "#fleetwave/text/digest.ts";
import { formatTable } from "#fleetwave/text/table.ts";
import { cliActor, commitInClone } from "../clone-commit.ts";
import { type Command, parseFlags } from "../command.ts";
import { loadFleetRepo } from "../fleet-repo.ts";

const flagsSchema = z.strictObject({
  repo: z.string().default("."),
  image: z.string().optional(),
  all: z.boolean().default(false),
  actor: z.string().optional(),
  reason: z.string().optional(),
  format: z.enum(["table", "json"]).default("table"),
});

const usage = `Usage: fleetwave quarantine list [--all] [--repo PATH] [--format table|json]
       fleetwave quarantine lift <digest> [--image REPO:TAG] [--repo PATH] [--actor NAME] [--reason TEXT]

A digest whose rollout was aborted or rolled back is quarantined for its image (in the status
file of the host that saw it) and never planned again. list shows the quarantines in force
(--all: also the lifted ones). lift records in fleet.yaml (quarantine.lifted) that the digest
may be planned again, committed in the fleet repository at --repo (default: the current
directory) with the Fleetwave-Action and Fleetwave-Actor trailers; push it or open a pull
request. The agents then drop the lifted records from their status files.

  <digest>        the quarantined digest (full, or at least its first 12 hex digits)
  --image REPO:TAG  needed only when the digest is quarantined for more than one image
  --actor NAME    who lifts it, for the audit (default: git's user.name)
  --reason TEXT   why it is safe again`;

function table(entries: QuarantineEntry[]): string {
  return formatTable(
    ["IMAGE", "DIGEST", "HOST", "ROLLOUT", "AT", "REASON", "LIFTED"],
    entries.map((q) => [
      q.image,
      digestCell(q.digest),
      q.host,
      q.rollout,
      q.at,
      q.reason,
      q.liftedBy ? `by ${q.liftedBy.by} at ${q.liftedBy.at}` : "-",
    ]),
  );
}

export const quarantineCommand: Command = {
  name: "quarantine",
  summary: "list quarantined digests, or lift one so it may be planned again (as a commit)",
  usage,
  async run(argv, io) {
    const [action, ...rest] = argv;
    if (action !== "list" && action !== "lift")
      throw new UsageError(`unknown action "${action ?? ""}"; use list or lift`);
    const { flags, positionals } = parseFlags(rest, flagsSchema, true);
    const { repo, state } = await loadFleetRepo(flags.repo, io.cwd);
    const entries = quarantineEntries(state.statuses, state.fleet.quarantine.lifted);
    if (action === "list") {
      if (positionals.length > 0) throw new UsageError("list takes no arguments");
      const shown = flags.all ? entries : entries.filter((q) => !q.liftedBy);
      if (flags.format === "json") io.out(JSON.stringify(shown, null, 2));
      else if (shown.length === 0) io.out("No digest is quarantined.");
      else io.out(table(shown));
      return 0;
    }
    const wanted = positionals[0];
    if (positionals.length !== 1 || !wanted)
      throw new UsageError("lift needs the digest (see `fleetwave quarantine list`)");
    const active = entries.filter(
      (q) => !q.liftedBy && digestMatches(q.digest, wanted) && (!flags.image || q.image === flags.image),
    );
    const pairs = [...new Map(active.map((q) => [`${q.image} ${q.digest}`, q])).values()];
    if (pairs.length === 0)
      throw new FleetwaveError(
        `${wanted}${flags.image ? ` is not quarantined for ${flags.image}` : " is not quarantined"}; see \`fleetwave quarantine list\``,
      );
    if (pairs.length > 1)
      throw new UsageError(
        `${wanted} is quarantined for ${pairs.map((q) => `${q.image} (${shortDigest(q.digest)})`).join(", ")}; name one with --image`,
      );
    const { image, digest } = pairs[0]!;
    const actor = await cliActor(repo, flags.actor);
    const reason = flags.reason?.trim();
    const file = "fleet-state/fleet.yaml";
    const text = liftQuarantine(await readFile(join(repo, file), "utf8"), {
      image,
      digest,
      by: actor,
      at: new Date(),
      ...(reason ? { reason } : {}),
    });
    const hosts = active.map((q) => `${q.host} (rollout ${q.rollout}: ${q.reason})`);
    const message = formatActionCommit({
      subject: `lift the quarantine of ${shortDigest(digest)} for ${image}`,
      actor,
      action: { kind: "quarantine.lift", image, digest },
      body: [
        `${image} ${digest} may be planned again; it was quarantined on ${hosts.join(", ")}`,
        ...(reason ? [`reason: ${reason}`] : []),
      ],
    });
    const { commit, branch } = await commitInClone(repo, { [file]: text }, message);
    io.out(
      `Committed ${commit.slice(0, 10)} on ${branch}: ${shortDigest(digest)} may be planned again for ${image}.
Push it (git push, or open a pull request); \`fleetwave plan\` then targets it again.`,
    );
    return 0;
  },
};
