import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { pinBot } from "#fleetwave/agent/fleet-edits.ts";
import { formatActionCommit } from "#fleetwave/audit/commit-message.ts";
import { readAuditLog } from "#fleetwave/audit/git-log.ts";
import { historyRows } from "#fleetwave/audit/history.ts";
import { chooseRollbackTarget, type RollbackWant } from "#fleetwave/audit/rollback-target.ts";
import { FleetwaveError, UsageError } from "#fleetwave/errors.ts";
import { shortDigest } from "#fleetwave/text/digest.ts";
import { cliActor, commitInClone } from "../clone-commit.ts";
import { type Command, parseFlags } from "../command.ts";
import { loadFleetRepo } from "../fleet-repo.ts";

const flagsSchema = z.strictObject({
  repo: z.string().default("."),
  to: z.string().min(1).optional(),
  previous: z.boolean().default(false),
  actor: z.string().optional(),
  reason: z.string().optional(),
  "dry-run": z.boolean().default(false),
});

export const rollbackCommand: Command = {
  name: "rollback",
  summary: "pin one bot back to a digest it ran before (from the audit history), as a commit",
  usage: `Usage: fleetwave rollback <bot> (--previous | --to DIGEST) [--repo PATH] [--actor NAME]
                          [--reason TEXT] [--dry-run]

Pins the bot to a digest it ran before: pinnedDigest in its tenants/<tenant>.yaml, committed in
the fleet repository at --repo (default: the current directory) with the Fleetwave-Action and
Fleetwave-Actor trailers. Push the commit (or open a pull request); the bot's agent then moves
it to the pin with the same volume snapshot and health gate as a rollout, and no rollout
touches it until pinnedDigest is set back to null.

  --previous      the last digest the bot ran healthily before the one it runs now
  --to DIGEST     a digest the bot ran before (full, or at least its first 12 hex digits)
  --actor NAME    who rolls back, for the audit (default: git's user.name)
  --reason TEXT   why, written in the commit and beside the pin
  --dry-run       print the choice, change nothing

Reads the audit history from the repository's git log: pull first so it is current.`,
  async run(argv, io) {
    const { flags, positionals } = parseFlags(argv, flagsSchema, true);
    if (positionals.length !== 1) throw new UsageError("name exactly one bot: fleetwave rollback <bot> …");
    const bot = positionals[0]!;
    if (flags.previous === (flags.to !== undefined))
      throw new UsageError("give either --previous or --to DIGEST");
    const want: RollbackWant = flags.to !== undefined ? { to: flags.to } : { previous: true };
    const { repo, state } = await loadFleetRepo(flags.repo, io.cwd);
    const declared = state.bots.find((b) => b.id === bot);
    if (!declared) throw new FleetwaveError(`bot ${bot} is not declared in any fleet-state/tenants/*.yaml`);
    const current = state.statuses.find((s) => s.host === declared.host)?.bots[bot]?.digest ?? null;
    const target = chooseRollbackTarget(historyRows(await readAuditLog(repo)), bot, current, want);
    const file = `fleet-state/tenants/${declared.tenant}.yaml`;
    io.out(
      `${bot} (${declared.tenant} on ${declared.host}): ${current ? shortDigest(current) : "unknown"} -> ${shortDigest(target.digest)}, ${target.because}`,
    );
    if (declared.pinnedDigest === target.digest)
      throw new FleetwaveError(`${file} already pins ${bot} to ${shortDigest(target.digest)}; nothing to do`);
    if (flags["dry-run"]) {
      io.out(`Dry run: nothing written (would pin ${bot} in ${file}).`);
      return 0;
    }
    const actor = await cliActor(repo, flags.actor);
    const reason = flags.reason?.trim();
    const note = `rolled back by ${actor}${reason ? `: ${reason}` : ""}; set to null to follow rollouts again`;
    const text = pinBot(await readFile(join(repo, file), "utf8"), file, bot, target.digest, note);
    const message = formatActionCommit({
      subject: `roll back ${bot} to ${shortDigest(target.digest)}`,
      actor,
      action: { kind: "bot.rollback", bot, digest: target.digest },
      body: [
        `${bot}: pinned to ${target.digest} (${target.because})${current ? `; it ran ${current}` : ""}`,
        ...(reason ? [`reason: ${reason}`] : []),
      ],
    });
    const { commit, branch } = await commitInClone(repo, { [file]: text }, message);
    io.out(
      `Committed ${commit.slice(0, 10)} on ${branch}: ${file} pins ${bot} to ${shortDigest(target.digest)}.
Push it (git push, or open a pull request); agent ${declared.host} then rolls the bot back with a
volume snapshot and the health gate. Follow it with \`fleetwave history --bot ${bot}\`.`,
    );
    return 0;
  },
};
