import { type EngineOptions, errorText, waitOptions, withEngine } from "./engine-options.ts";
import { EngineUnavailableError, isEngineOutage } from "./engine-wait.ts";
import { waitHealthy } from "./health-gate.ts";
import type { JournalEntry } from "./journal.ts";
import { type MakeOutcome, outcomeMaker, PhaseTimer, type UpdateOutcome } from "./outcome.ts";
import { botProbe } from "./probes.ts";
import { rollBack } from "./rollback.ts";

export interface RecoverOptions {
  /**
   * Takes a bot for recovery; returns a release function, or undefined when the bot is busy (an
   * update of this process owns its journal entry). Without it every entry is recovered.
   */
  claim?: (botId: string) => (() => void) | undefined;
}

/**
 * Finishes every update a previous agent process (or an attempt that outwaited the Engine) left
 * in its journal. The rule: an update not confirmed healthy is rolled back; a confirmed one is
 * completed. Safe to run twice.
 */
export async function recover(o: EngineOptions, options: RecoverOptions = {}): Promise<UpdateOutcome[]> {
  const outcomes: UpdateOutcome[] = [];
  for (const listed of await o.journal.list()) {
    const release = options.claim ? options.claim(listed.bot.id) : () => undefined;
    if (!release) continue;
    try {
      // Read again under the claim: an update that finished meanwhile removed its entry.
      const entry = await o.journal.read(listed.bot.id);
      if (!entry) continue;
      o.log?.warn(
        { bot: entry.bot.id, step: entry.phase },
        `recovering an update interrupted at "${entry.phase}"`,
      );
      outcomes.push(await recoverEntry(entry, o));
    } finally {
      release();
    }
  }
  return outcomes;
}

async function recoverEntry(entry: JournalEntry, o: EngineOptions): Promise<UpdateOutcome> {
  try {
    return await resumeFromJournal(entry, `the agent stopped during "${entry.phase}"`, o);
  } catch (error) {
    // One bot that cannot be recovered must not keep the others stopped.
    o.log?.error({ bot: entry.bot.id, step: "recover" }, `RECOVERY FAILED: ${errorText(error)}`);
    return {
      bot: entry.bot.id,
      result: "rollback-failed",
      from: entry.fromDigest,
      to: entry.toDigest,
      reason: `recovering the update interrupted at "${entry.phase}" failed: ${errorText(error)}; the journal is kept for the next start`,
      durationMs: 0,
      timings: {},
      snapshots: entry.snapshots.map((s) => s.id),
    };
  }
}

/**
 * Ends an interrupted update from what its journal says: `interrupted` tells why it stopped.
 * Waits out an absent Engine; throws EngineUnavailableError when it stays away, with the journal
 * entry kept.
 */
export async function resumeFromJournal(
  entry: JournalEntry,
  interrupted: string,
  o: EngineOptions,
  timer = new PhaseTimer(),
  outcome: MakeOutcome = outcomeMaker(entry.bot.id, entry.toDigest, timer),
  byTheWorld = false,
): Promise<UpdateOutcome> {
  switch (entry.phase) {
    case "pulling":
    case "pre-copying":
    case "stopping":
    case "snapshotting": {
      // The old container was at most stopped: its volumes were never written by the new version.
      // Level-0s without their level-1 go with the snapshots: a pair is complete or it is nothing.
      const ids = [...entry.snapshots, ...entry.precopies].map((s) => s.id);
      try {
        await withEngine(o, `restarting the old container of ${entry.bot.id}`, async () => {
          await o.docker.start(entry.oldContainerId);
          const gate = await waitHealthy(await botProbe(o.docker, entry.oldContainerId, entry.bot.health), {
            timeoutMs: o.healthCheckTimeoutSeconds * 1000,
            minHealthyMs: o.minHealthySeconds * 1000,
          });
          if (!gate.healthy) throw new Error(gate.reason);
        });
      } catch (error) {
        if (error instanceof EngineUnavailableError) throw error;
        await o.snapshots.release(ids, 0);
        await o.journal.finish(entry.bot.id);
        return outcome(
          "rollback-failed",
          entry.fromDigest,
          `${interrupted}; restarting the old container failed: ${errorText(error)}`,
        );
      }
      await o.snapshots.release(ids, 0);
      await o.journal.finish(entry.bot.id);
      return outcome(
        "failed",
        entry.fromDigest,
        `${interrupted}, before the new version ran; the old container was restarted`,
      );
    }
    case "confirmed": {
      await withEngine(o, `completing the update of ${entry.bot.id}`, async () => {
        await o.docker.remove(entry.oldContainerId);
        await o.snapshots.release(
          entry.snapshots.map((s) => s.id),
          entry.keepSnapshots,
        );
        const current = await o.docker.inspect(entry.bot.id);
        if (current && !current.State.Running) await o.docker.start(current.Id);
      });
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
        byTheWorld ? { result: "failed" } : {},
      );
  }
}

/** True when `error` came from the Engine going away (checked by a ping when its shape does not say). */
export function isOutage(error: unknown, o: EngineOptions): Promise<boolean> {
  return isEngineOutage(error, waitOptions(o).ping);
}
