import { asideName, containerCreateOptions } from "../docker/container-spec.ts";
import { containerDigest } from "../docker/docker.ts";
import { imageAllowed } from "../model/allowlist.ts";
import type { FleetBot } from "../model/fleet-state.ts";
import { splitImageRef } from "../model/primitives.ts";
import { advance, type EngineOptions, errorText, withEngine } from "./engine-options.ts";
import { EngineUnavailableError } from "./engine-wait.ts";
import { faultPoint } from "./faults.ts";
import { waitHealthy } from "./health-gate.ts";
import type { JournalEntry } from "./journal.ts";
import { type MakeOutcome, outcomeMaker, PhaseTimer, type UpdateOutcome } from "./outcome.ts";
import { botProbe } from "./probes.ts";
import { isOutage, resumeFromJournal } from "./recover.ts";
import { rollBack, short } from "./rollback.ts";
import { DEFAULT_SECRETS_DIR, readBotSecrets } from "./secrets.ts";

export type { EngineOptions } from "./engine-options.ts";
export { rollBack } from "./rollback.ts";

/**
 * Moves one bot to `digest` (docs/contracts.md "One bot's update"): it ends healthy on the new image, or back on the old
 * one with its volumes exactly as they were. Every step is journaled before it is taken.
 */
export async function updateBot(bot: FleetBot, digest: string, o: EngineOptions): Promise<UpdateOutcome> {
  const timer = new PhaseTimer();
  const { repository } = splitImageRef(bot.image);
  const outcome = outcomeMaker(bot.id, digest, timer);

  // 1. Preflight: nothing is touched when any of this fails.
  if (!imageAllowed(o.allowlist, bot.image)) {
    return outcome(
      "failed",
      null,
      `image ${bot.image} is outside the allowlist (${o.allowlist.join(", ")}); nothing was changed`,
    );
  }
  const current = await timer.time("preflight", () => o.docker.inspect(bot.id));
  if (!current)
    return outcome("failed", null, `no container named ${bot.id} exists; it must be created first`);
  // An adopted container (started by tag, without Fleetwave's labels) runs its image's digest.
  const from =
    containerDigest(current) ??
    (await timer.time("preflight", () => o.docker.runningDigest(current, repository))) ??
    null;
  if (from === digest && !o.recreate) return outcome("skipped", from, `already on ${digest}`);
  let secrets: Record<string, string>;
  let pairs: boolean;
  try {
    // A missing secret is found before anything is stopped: the bot keeps running as it is.
    secrets = await readBotSecrets(bot, o.secretsDir ?? DEFAULT_SECRETS_DIR);
    pairs = await timer.time("preflight", () =>
      o.snapshots.ensureSpace(
        bot.volumes.map((v) => v.name),
        (o.precopy ?? true) && bot.volumes.length > 0,
      ),
    );
  } catch (error) {
    return outcome("failed", from, `${errorText(error)}; the bot was not stopped`);
  }

  // 2. Pull while the old container still serves.
  try {
    await timer.time("pull", () => o.docker.pull(repository, digest));
  } catch (error) {
    return outcome("failed", from, `${errorText(error)}; the bot was not stopped`);
  }
  faultPoint("after-pull");

  let entry: JournalEntry = {
    bot,
    repository,
    fromDigest: from,
    toDigest: digest,
    oldContainerId: current.Id,
    snapshots: [],
    precopies: [],
    keepSnapshots: o.keepSnapshots,
    phase: pairs ? "pre-copying" : "stopping",
    startedAt: new Date().toISOString(),
    steps: [{ phase: pairs ? "pre-copying" : "stopping", at: new Date().toISOString() }],
  };
  await o.journal.write(entry);
  await o.onPhase?.(entry.phase, bot.id);

  // 3. While the old container still serves: a level-0 of every volume (it may be torn; the
  // level-1 after the stop completes it). One that fails only costs its volume the full snapshot.
  if (pairs) {
    const precopies = await timer.time("precopy", () => precopyVolumes(entry, o));
    entry = await advance(o, entry, "stopping", { precopies });
    faultPoint("after-precopy");
  }

  // 4. Stop, then snapshot every volume while nothing writes to it: the level-1 of its pair, or a full tar.
  const stoppedAt = performance.now();
  try {
    await timer.time("stop", () => o.docker.stop(current.Id, o.stopTimeoutSeconds ?? 10));
    faultPoint("after-stop");
    entry = await advance(o, entry, "snapshotting");
  } catch (error) {
    if (await isOutage(error, o)) return afterOutage(entry, error, o, timer, outcome);
    const restarted = await restartOld(entry, o);
    await releaseAll(entry, o);
    await o.journal.finish(bot.id);
    const reason = `stopping the old container failed: ${errorText(error)}; ${restarted ?? "the old container was restarted"}`;
    return outcome(restarted ? "rollback-failed" : "failed", from, reason);
  }
  try {
    await timer.time("snapshot", async () => {
      for (const volume of bot.volumes) {
        const level0 = entry.precopies.find((p) => p.volume === volume.name);
        const taken = await o.snapshots.snapshot(volume.name, bot.id, from, level0?.id);
        if (taken.fallback)
          o.log?.info(
            { bot: bot.id, step: "snapshot" },
            `volume ${volume.name}: full snapshot, ${taken.fallback}`,
          );
        entry = await o.journal.advance(entry, "snapshotting", {
          snapshots: [...entry.snapshots, { id: taken.id, volume: volume.name }],
          precopies: entry.precopies.filter((p) => p !== level0),
        });
      }
    });
  } catch (error) {
    if (await isOutage(error, o)) return afterOutage(entry, error, o, timer, outcome);
    const restarted = await restartOld(entry, o);
    await releaseAll(entry, o);
    await o.journal.finish(bot.id);
    const reason = `snapshot failed: ${errorText(error)}; ${restarted ?? "the old container was restarted"}`;
    return outcome(restarted ? "rollback-failed" : "failed", from, reason);
  }
  faultPoint("after-snapshot");

  // 5. Keep the old container aside (rollback needs no pull), create and start the new one.
  let gate: Awaited<ReturnType<typeof waitHealthy>>;
  try {
    entry = await advance(o, entry, "renaming");
    await timer.time("recreate", () => o.docker.rename(current.Id, asideName(bot.id)));
    faultPoint("after-rename");
    entry = await advance(o, entry, "creating");
    const newId = await timer.time("recreate", () =>
      o.docker.create(containerCreateOptions(bot, repository, digest, { seedVolumes: false, secrets })),
    );
    entry = await advance(o, entry, "starting", { newContainerId: newId });
    faultPoint("after-create");
    await timer.time("recreate", () => o.docker.start(newId));
    faultPoint("after-start");
    entry = await advance(o, entry, "health-gate");

    // 6. Health gate.
    gate = await timer.time("health", async () =>
      waitHealthy(await botProbe(o.docker, newId, bot.health), {
        timeoutMs: o.healthCheckTimeoutSeconds * 1000,
        minHealthyMs: o.minHealthySeconds * 1000,
      }),
    );
    if (gate.healthy) entry = await advance(o, entry, "confirmed");
  } catch (error) {
    if (await isOutage(error, o)) return afterOutage(entry, error, o, timer, outcome);
    return rollBack(entry, `update step "${entry.phase}" failed: ${errorText(error)}`, o, timer, outcome);
  }
  if (!gate.healthy) return rollBack(entry, gate.reason, o, timer, outcome);
  const downtimeMs = Math.round(performance.now() - stoppedAt - (gate.elapsedMs - gate.firstOkAfterMs));

  // 7. Confirmed: the new version stays whatever happens next. A failed clean-up is left in the
  // journal at "confirmed" for recover() to finish; it never turns into a rollback.
  faultPoint("after-confirm");
  const done = `updated ${short(from)} -> ${short(digest)} in ${(timer.elapsed() / 1000).toFixed(1)}s`;
  try {
    const kept = await withEngine(o, `completing the update of ${bot.id}`, () => complete(entry, o));
    return outcome("updated", from, done, { downtimeMs, snapshots: kept });
  } catch (error) {
    o.log?.warn(
      { bot: bot.id, step: "complete" },
      `updated, but cleaning up failed (the next start finishes it): ${errorText(error)}`,
    );
    return outcome("updated", from, `${done}; clean-up pending: ${errorText(error)}`, { downtimeMs });
  }
}

/** The level-0 of each volume; a volume whose level-0 failed is left out (it gets a full snapshot). */
async function precopyVolumes(entry: JournalEntry, o: EngineOptions): Promise<JournalEntry["precopies"]> {
  const { bot } = entry;
  const precopies: JournalEntry["precopies"] = [];
  for (const volume of bot.volumes) {
    try {
      precopies.push({
        id: await o.snapshots.precopy(volume.name, bot.id, entry.fromDigest),
        volume: volume.name,
      });
    } catch (error) {
      o.log?.warn(
        { bot: bot.id, step: "pre-copying" },
        `volume ${volume.name}: no level-0, a full snapshot after the stop: ${errorText(error)}`,
      );
    }
  }
  return precopies;
}

/** Drops every snapshot and level-0 of an update that ends before the new version ran. */
async function releaseAll(entry: JournalEntry, o: EngineOptions): Promise<void> {
  const ids = [...entry.snapshots, ...entry.precopies].map((s) => s.id);
  await o.snapshots.release(ids, 0).catch(() => undefined);
}

/** Removes the old container and drops the snapshots beyond the ones kept. Idempotent. */
async function complete(entry: JournalEntry, o: EngineOptions): Promise<string[]> {
  await o.docker.remove(entry.oldContainerId);
  const ids = entry.snapshots.map((s) => s.id);
  await o.snapshots.release(ids, entry.keepSnapshots);
  await o.journal.finish(entry.bot.id);
  return entry.keepSnapshots > 0 ? ids.slice(-entry.keepSnapshots * entry.bot.volumes.length) : [];
}

/** Starts the old container where it stands; returns a problem description, or undefined when it runs. */
async function restartOld(entry: JournalEntry, o: EngineOptions): Promise<string | undefined> {
  try {
    await o.docker.start(entry.oldContainerId);
    return undefined;
  } catch (error) {
    return `the old container could not be restarted: ${errorText(error)}`;
  }
}

/**
 * The Engine went away in the middle of an update: wait for it, then end the update the way
 * recover() would, from the journal. The result says the world interrupted it, so the new digest
 * is not judged. When the Engine stays away the journal is kept for the next reconcile.
 */
async function afterOutage(
  entry: JournalEntry,
  error: unknown,
  o: EngineOptions,
  timer: PhaseTimer,
  outcome: MakeOutcome,
): Promise<UpdateOutcome> {
  const { bot } = entry;
  const why = `the Docker Engine went away during "${entry.phase}" (${errorText(error)})`;
  o.log?.warn({ bot: bot.id, step: entry.phase }, why);
  try {
    const current = (await o.journal.read(bot.id)) ?? entry;
    return await resumeFromJournal(current, why, o, timer, outcome, true);
  } catch (failure) {
    if (!(failure instanceof EngineUnavailableError)) throw failure;
    return outcome("rollback-failed", entry.fromDigest, `${why}; ${failure.message}`, {
      snapshots: entry.snapshots.map((s) => s.id),
    });
  }
}
