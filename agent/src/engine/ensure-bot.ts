import { asideName, containerCreateOptions } from "../docker/container-spec.ts";
import { containerDigest } from "../docker/docker.ts";
import { imageAllowed } from "../model/allowlist.ts";
import type { FleetBot } from "../model/fleet-state.ts";
import { splitImageRef } from "../model/primitives.ts";
import type { EngineOptions } from "./engine-options.ts";
import { waitHealthy } from "./health-gate.ts";
import { PhaseTimer, type UpdateOutcome } from "./outcome.ts";
import { botProbe } from "./probes.ts";
import { DEFAULT_SECRETS_DIR, readBotSecrets } from "./secrets.ts";

export type EnsureResult =
  | { action: "exists"; containerId: string; digest: string | null }
  | { action: "created"; outcome: UpdateOutcome };

/**
 * Creates a declared bot that has no container yet, at `digest`. An existing container (ours or
 * one to adopt) is left alone: replacing it is an update, which snapshots first. `why` (why this
 * digest) is added to the outcome's reason.
 */
export async function ensureBot(
  bot: FleetBot,
  digest: string,
  o: EngineOptions,
  why?: string,
): Promise<EnsureResult> {
  const existing = await o.docker.inspect(bot.id);
  if (existing)
    return { action: "exists", containerId: existing.Id, digest: containerDigest(existing) ?? null };
  const aside = await o.docker.inspect(asideName(bot.id));
  const timer = new PhaseTimer();
  const { repository } = splitImageRef(bot.image);
  const make = (result: UpdateOutcome["result"], reason: string): EnsureResult => ({
    action: "created",
    outcome: {
      bot: bot.id,
      result,
      from: null,
      to: digest,
      reason,
      durationMs: timer.elapsed(),
      timings: timer.timings,
      snapshots: [],
    },
  });
  // The real old container of an interrupted update: reviving it is healBot's job, never shadowing it.
  if (aside) {
    return make(
      "failed",
      `${asideName(bot.id)} exists (the old container of an interrupted update); it is revived, not replaced by a new container`,
    );
  }
  if (!imageAllowed(o.allowlist, bot.image)) {
    return make("failed", `image ${bot.image} is outside the allowlist; the bot was not created`);
  }
  let secrets: Record<string, string>;
  try {
    secrets = await readBotSecrets(bot, o.secretsDir ?? DEFAULT_SECRETS_DIR);
  } catch (error) {
    return make("failed", `${(error as Error).message}; the bot was not created`);
  }
  try {
    await timer.time("pull", () => o.docker.pull(repository, digest));
    // A bot created for the first time may take the image's initial files into its new volumes.
    const id = await timer.time("recreate", () =>
      o.docker.create(containerCreateOptions(bot, repository, digest, { seedVolumes: true, secrets })),
    );
    await timer.time("recreate", () => o.docker.start(id));
    const gate = await timer.time("health", async () =>
      waitHealthy(await botProbe(o.docker, id, bot.health), {
        timeoutMs: o.healthCheckTimeoutSeconds * 1000,
        minHealthyMs: o.minHealthySeconds * 1000,
      }),
    );
    if (!gate.healthy) return make("failed", `created, but not healthy: ${gate.reason}`);
    return make("updated", `created at ${digest.slice(0, 19)}${why ? ` (${why})` : ""}`);
  } catch (error) {
    return make("failed", `creating the container failed: ${(error as Error).message}`);
  }
}
