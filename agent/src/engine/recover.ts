import { waitHealthy } from "./health-gate.ts";
import type { JournalEntry } from "./journal.ts";
import { outcomeMaker, PhaseTimer, type UpdateOutcome } from "./outcome.ts";
import { botProbe } from "./probes.ts";
import { type EngineOptions, rollBack } from "./update-bot.ts";

/**
 * Finishes every update a previous agent process left in its journal. The rule: an update not
 * confirmed healthy is rolled back; a confirmed one is completed. Safe to run twice.
 */
export async function recover(o: EngineOptions): Promise<UpdateOutcome[]> {
  const outcomes: UpdateOutcome[] = [];
  for (const entry of await o.journal.list()) {
    o.log?.(`${entry.bot.id}: recovering an update interrupted at "${entry.phase}"`);
    try {
      outcomes.push(await recoverOne(entry, o));
    } catch (error) {
      // One bot that cannot be recovered must not keep the others stopped.
      o.log?.(`${entry.bot.id}: RECOVERY FAILED: ${(error as Error).message}`);
      outcomes.push({
        bot: entry.bot.id,
        result: "rollback-failed",
        from: entry.fromDigest,
        to: entry.toDigest,
        reason: `recovering the update interrupted at "${entry.phase}" failed: ${(error as Error).message}; the journal is kept for the next start`,
        durationMs: 0,
        timings: {},
        snapshots: entry.snapshots.map((s) => s.id),
      });
    }
  }
  return outcomes;
}

async function recoverOne(entry: JournalEntry, o: EngineOptions): Promise<UpdateOutcome> {
  const timer = new PhaseTimer();
  const outcome = outcomeMaker(entry.bot.id, entry.toDigest, timer);
  const interrupted = `the agent stopped during "${entry.phase}"`;

  switch (entry.phase) {
    case "pulling":
    case "stopping":
    case "snapshotting": {
      // The old container was at most stopped: its volumes were never written by the new version.
      await o.snapshots.release(
        entry.snapshots.map((s) => s.id),
        0,
      );
      try {
        await o.docker.start(entry.oldContainerId);
        const gate = await waitHealthy(await botProbe(o.docker, entry.oldContainerId, entry.bot.health), {
          timeoutMs: o.healthCheckTimeoutSeconds * 1000,
          minHealthyMs: o.minHealthySeconds * 1000,
        });
        if (!gate.healthy) throw new Error(gate.reason);
      } catch (error) {
        await o.journal.finish(entry.bot.id);
        return outcome(
          "rollback-failed",
          entry.fromDigest,
          `${interrupted}; restarting the old container failed: ${(error as Error).message}`,
        );
      }
      await o.journal.finish(entry.bot.id);
      return outcome(
        "failed",
        entry.fromDigest,
        `${interrupted}, before the new version ran; the old container was restarted`,
      );
    }
    case "confirmed": {
      await o.docker.remove(entry.oldContainerId);
      await o.snapshots.release(
        entry.snapshots.map((s) => s.id),
        entry.keepSnapshots,
      );
      const current = await o.docker.inspect(entry.bot.id);
      if (current && !current.State.Running) await o.docker.start(current.Id);
      await o.journal.finish(entry.bot.id);
      return outcome(
        "updated",
        entry.fromDigest,
        `${interrupted} after the new version was confirmed healthy; the update was completed`,
      );
    }
    default:
      return rollBack(
        entry,
        `${interrupted} before the new version was confirmed healthy`,
        o,
        timer,
        outcome,
      );
  }
}
