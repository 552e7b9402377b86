import { advance, type EngineOptions, errorText, withEngine } from "./engine-options.ts";
import { EngineUnavailableError } from "./engine-wait.ts";
import { faultPoint } from "./faults.ts";
import { waitHealthy } from "./health-gate.ts";
import type { JournalEntry } from "./journal.ts";
import type { MakeOutcome, PhaseTimer, UpdateOutcome } from "./outcome.ts";
import { botProbe } from "./probes.ts";

export const short = (digest: string | null) => (digest ? digest.slice(0, 19) : "none");

export interface RollBackOptions {
  /**
   * The result when the old version is back: "rolled-back" when the new version failed, "failed"
   * when the world interrupted the update (an Engine restart says nothing about the new version,
   * so its digest must not be quarantined).
   */
  result?: "rolled-back" | "failed";
}

/**
 * 7. Unhealthy or interrupted: the new container goes, every volume is restored from its
 * snapshot, the old container comes back under its name and must prove healthy. Each step is
 * safe to repeat, so an absent Engine is waited for and the whole sequence runs again, and
 * recover() can run it again after a crash half way through.
 */
export async function rollBack(
  start: JournalEntry,
  reason: string,
  o: EngineOptions,
  timer: PhaseTimer,
  outcome: MakeOutcome,
  options: RollBackOptions = {},
): Promise<UpdateOutcome> {
  const entry = start.phase === "rolling-back" ? start : await advance(o, start, "rolling-back", { reason });
  const { bot } = entry;
  try {
    await timer.time("rollback", () =>
      withEngine(o, `the rollback of ${bot.id}`, async () => {
        if (entry.newContainerId) await o.docker.remove(entry.newContainerId);
        const named = await o.docker.inspect(bot.id);
        if (named && named.Id !== entry.oldContainerId) await o.docker.remove(named.Id);
        faultPoint("after-remove-new");
        const old = await o.docker.inspect(entry.oldContainerId);
        if (!old) throw new Error(`the old container ${entry.oldContainerId.slice(0, 12)} no longer exists`);
        if (old.State.Running) await o.docker.stop(old.Id, o.stopTimeoutSeconds ?? 10);
        for (const snapshot of entry.snapshots) await o.snapshots.restore(snapshot.id, snapshot.volume);
        faultPoint("after-restore");
        if (old.Name !== `/${bot.id}`) await o.docker.rename(old.Id, bot.id);
        await o.docker.start(old.Id);
        const gate = await waitHealthy(await botProbe(o.docker, old.Id, bot.health), {
          timeoutMs: o.healthCheckTimeoutSeconds * 1000,
          minHealthyMs: o.minHealthySeconds * 1000,
        });
        if (!gate.healthy) throw new Error(`the old version did not come back healthy: ${gate.reason}`);
      }),
    );
  } catch (error) {
    const kept = entry.snapshots.map((s) => s.id);
    // An Engine that stays away is no verdict on the rollback: the journal keeps it for the next try.
    if (!(error instanceof EngineUnavailableError)) await o.journal.finish(bot.id);
    o.log?.error({ bot: bot.id, step: "rollback" }, `ROLLBACK FAILED: ${errorText(error)}`);
    return outcome(
      "rollback-failed",
      entry.fromDigest,
      `${reason}; rollback failed: ${errorText(error)}; snapshots kept: ${kept.join(", ") || "none"}`,
      { snapshots: kept },
    );
  }
  // The old version runs healthy again; failing to tidy up must not turn that into a failure.
  try {
    await o.snapshots.release(
      entry.snapshots.map((s) => s.id),
      entry.keepSnapshots,
    );
    await o.journal.finish(bot.id);
  } catch (error) {
    o.log?.warn(
      { bot: bot.id, step: "rollback" },
      `rolled back, but cleaning up failed: ${errorText(error)}`,
    );
  }
  const restored = bot.volumes.length > 0 ? "; volumes restored" : "";
  return outcome(
    options.result ?? "rolled-back",
    entry.fromDigest,
    `rolled back to ${short(entry.fromDigest)}: ${reason}${restored}`,
  );
}
