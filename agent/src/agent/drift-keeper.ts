import type { ContainerInspectInfo } from "dockerode";
import { containerCreateOptions, secretEnvNames } from "../docker/container-spec.ts";
import { containerDrift, type ImageDefaults } from "../docker/drift.ts";
import type { UpdateOutcome } from "../engine/outcome.ts";
import { updateBot } from "../engine/update-bot.ts";
import type { FleetBot, FleetState } from "../model/fleet-state.ts";
import { splitImageRef } from "../model/primitives.ts";
import type { BotUpdater } from "./bot-updater.ts";
import type { AgentRuntime } from "./runtime.ts";

/**
 * A running bot whose container differs from fleet-state (changed by hand: another image, env,
 * command, ports, volumes or labels). `drift.policy: report` notes it once per agent run;
 * `correct` recreates the container from fleet-state through the update path (snapshot, health
 * gate, rollback) and commits the reason. A correction that was rolled back is not retried for
 * the same difference in this agent run, so a bad hand edit never turns into a restart loop.
 */
export class DriftKeeper {
  private readonly reported = new Map<string, string>();
  private readonly failed = new Map<string, string>();
  /** By image id: an image's config never changes, and asking for it was one request per bot per tick. */
  private readonly imageDefaults = new Map<string, ImageDefaults>();

  constructor(
    private readonly rt: AgentRuntime,
    private readonly updater: BotUpdater,
  ) {}

  /**
   * Returns the correction's outcome when one ran; notes go into the reconcile commit. `seen` is
   * the container as the caller inspected it a moment ago.
   */
  async check(
    bot: FleetBot,
    state: FleetState,
    digest: string,
    notes: string[],
    seen?: ContainerInspectInfo,
  ): Promise<UpdateOutcome | undefined> {
    const docker = this.rt.o.docker;
    const have = seen ?? (await docker.inspect(bot.id));
    if (!have) return undefined;
    const { repository } = splitImageRef(bot.image);
    // Secret values are never read for a comparison: the container's own values stand in for
    // them, so a secret is drift only when the container lacks the variable.
    const running = new Map(
      (have.Config.Env ?? []).map((line) => [
        line.slice(0, line.indexOf("=")),
        line.slice(line.indexOf("=") + 1),
      ]),
    );
    const secrets = Object.fromEntries(secretEnvNames(bot).map((name) => [name, running.get(name) ?? ""]));
    const want = containerCreateOptions(bot, repository, digest, { seedVolumes: false, secrets });
    const diffs = containerDrift(want, have, await this.defaultsOf(have.Image));
    const key = diffs.join("; ");
    if (diffs.length === 0) {
      this.reported.delete(bot.id);
      this.failed.delete(bot.id);
      return undefined;
    }
    const correct = state.fleet.drift.policy === "correct" && this.failed.get(bot.id) !== key;
    if (!correct) {
      if (this.reported.get(bot.id) !== key) {
        this.reported.set(bot.id, key);
        notes.push(`drift: ${bot.id}: ${key}`);
        this.rt.log.warn({ bot: bot.id }, `drift: ${key}`);
      }
      return undefined;
    }
    this.rt.updating.add(bot.id);
    let outcome: UpdateOutcome;
    try {
      outcome = await updateBot(bot, digest, {
        ...this.rt.engineOptions(state.fleet, state.fleet.strategy),
        recreate: true,
      });
    } finally {
      this.rt.updating.delete(bot.id);
    }
    const why = `corrected drift (${key})`;
    outcome = { ...outcome, reason: `${why}: ${outcome.reason}` };
    this.updater.countOutcome(outcome);
    this.rt.book.recordOutcome(outcome, this.rt.now(), { actor: "drift" });
    this.rt.report.outcomes.push(outcome);
    if (outcome.result === "updated") {
      notes.push(`drift corrected: ${bot.id}: ${key}`);
      this.reported.delete(bot.id);
    } else {
      this.failed.set(bot.id, key);
      this.rt.report.failed.push(`${bot.id}: ${outcome.reason}`);
      notes.push(`drift not corrected: ${bot.id}: ${key}; ${outcome.result}: ${outcome.reason}`);
    }
    return outcome;
  }

  private async defaultsOf(image: string): Promise<ImageDefaults> {
    const known = this.imageDefaults.get(image);
    if (known) return known;
    const defaults = await this.rt.o.docker.imageDefaults(image);
    // A host runs a handful of images at a time; the ones it ran before are forgotten now and then.
    if (this.imageDefaults.size >= 64) this.imageDefaults.clear();
    this.imageDefaults.set(image, defaults);
    return defaults;
  }
}
