import type { ContainerInspectInfo } from "dockerode";
import { asideName, containerCreateOptions } from "../docker/container-spec.ts";
import { containerDigest } from "../docker/docker.ts";
import type { FleetBot } from "../model/fleet-state.ts";
import { splitImageRef } from "../model/primitives.ts";
import { type EngineOptions, errorText } from "./engine-options.ts";
import { waitHealthy } from "./health-gate.ts";
import { botProbe } from "./probes.ts";
import { DEFAULT_SECRETS_DIR, readBotSecrets } from "./secrets.ts";

/** What reconcile found for a declared bot that no update owns, and what it did about it. */
export type HealResult =
  /** Runs under its name; nothing to do. `container` is what the Engine said of it just now. */
  | { action: "running"; digest: string | null; container: ContainerInspectInfo }
  /** Neither `<bot>` nor `<bot>.fleetwave-old` exists: the caller creates it. */
  | { action: "missing" }
  /** The journal holds an update of it: recover() owns the bot, reconcile does not touch it. */
  | { action: "in-update" }
  /** It was not running and was started, revived or recreated; `healthy` says how that ended. */
  | {
      action: "started" | "revived" | "recreated";
      healthy: boolean;
      /** For the status file: running and healthy, running but not healthy ("failed"), or stopped. */
      state: "running" | "failed" | "stopped";
      digest: string | null;
      /** Why it was down and what was done, for the status and the alert. */
      reason: string;
    };

/**
 * Brings a declared bot that exists but does not run back to running and healthy:
 *
 * - `<bot>` exited, created or stopped: started again and health-gated, whoever stopped it (a
 *   dockerd restart that did not restart it, an OOM kill, a person: a bot that must stay down is
 *   taken out of fleet-state, not stopped by hand).
 * - `<bot>` dead: removed and recreated from the same digest, volumes untouched (never seeded).
 * - `<bot>.fleetwave-old` with no journal entry is the real old container of an update whose
 *   journal is gone: renamed back, started and gated. When a `<bot>` exists beside it, that one
 *   was never confirmed (a confirmed update removes the old container before it forgets its
 *   journal), or it is a fresh container created beside the real one: it is removed. Volumes are
 *   shared by name, so no data goes with it.
 */
export async function healBot(bot: FleetBot, o: EngineOptions): Promise<HealResult> {
  if (await o.journal.read(bot.id)) return { action: "in-update" };
  const aside = await o.docker.inspect(asideName(bot.id));
  const named = await o.docker.inspect(bot.id);
  if (aside) return revive(bot, aside, named, o);
  if (!named) return { action: "missing" };
  // A container Fleetwave did not create (one `fleetwave import` described) was started by tag:
  // its digest is the image's, and knowing it is what lets the agent adopt it as it is.
  const digest =
    containerDigest(named) ??
    (await o.docker.runningDigest(named, splitImageRef(bot.image).repository)) ??
    null;
  if (named.State.Running) return { action: "running", digest, container: named };
  const was = describeState(named);
  if (named.State.Status === "dead") {
    if (!digest) return failed("recreated", digest, `${was}, and it carries no digest to recreate it from`);
    let secrets: Record<string, string>;
    try {
      secrets = await readBotSecrets(bot, o.secretsDir ?? DEFAULT_SECRETS_DIR);
    } catch (error) {
      return failed("recreated", digest, `${was}; it was left as it is: ${(error as Error).message}`);
    }
    await o.docker.remove(named.Id);
    const { repository } = splitImageRef(bot.image);
    if (!(await o.docker.imageExists(`${repository}@${digest}`))) await o.docker.pull(repository, digest);
    const id = await o.docker.create(
      containerCreateOptions(bot, repository, digest, { seedVolumes: false, secrets }),
    );
    return startAndGate(bot, id, digest, "recreated", `${was}; it was recreated from the same digest`, o);
  }
  return startAndGate(bot, named.Id, digest, "started", `${was}; it was started again`, o);
}

async function revive(
  bot: FleetBot,
  aside: ContainerInspectInfo,
  named: ContainerInspectInfo | undefined,
  o: EngineOptions,
): Promise<HealResult> {
  const digest = containerDigest(aside) ?? null;
  let reason = `${asideName(bot.id)} was left aside with no update in flight; it was renamed back`;
  if (named) {
    o.log?.warn(
      { bot: bot.id, step: "heal" },
      `removing container ${named.Id.slice(0, 12)} (${containerDigest(named) ?? "no digest"}) that stood beside ${asideName(bot.id)} with no journal entry`,
    );
    await o.docker.remove(named.Id);
    reason += `, replacing an unconfirmed container ${named.Id.slice(0, 12)} under its name`;
  }
  await o.docker.rename(aside.Id, bot.id);
  return startAndGate(bot, aside.Id, digest, "revived", `${reason} and started`, o);
}

async function startAndGate(
  bot: FleetBot,
  id: string,
  digest: string | null,
  action: "started" | "revived" | "recreated",
  reason: string,
  o: EngineOptions,
): Promise<HealResult> {
  try {
    await o.docker.start(id);
  } catch (error) {
    return failed(action, digest, `${reason}, but starting it failed: ${errorText(error)}`);
  }
  const gate = await waitHealthy(await botProbe(o.docker, id, bot.health), {
    timeoutMs: o.healthCheckTimeoutSeconds * 1000,
    minHealthyMs: o.minHealthySeconds * 1000,
  });
  if (!gate.healthy) {
    const runs = (await o.docker.inspect(id))?.State.Running ?? false;
    return failed(
      action,
      digest,
      `${reason}, but it is not healthy: ${gate.reason}`,
      runs ? "failed" : "stopped",
    );
  }
  o.log?.info({ bot: bot.id, step: "heal" }, `${reason}; healthy`);
  return { action, healthy: true, state: "running", digest, reason };
}

function failed(
  action: "started" | "revived" | "recreated",
  digest: string | null,
  reason: string,
  state: "failed" | "stopped" = "stopped",
): HealResult {
  return { action, healthy: false, state, digest, reason };
}

function describeState(info: ContainerInspectInfo): string {
  const status = info.State.Status;
  if (status === "created") return "the container was created but never started";
  if (status === "dead") return "the container is dead";
  return `the container had ${status === "exited" ? "exited" : `state "${status}"`} (exit code ${info.State.ExitCode})`;
}

/** What to tell the admins about one bot after a reconcile looked at it. */
export type IncidentNotice = { event: "bot.down" | "bot.recovered"; since: string } | undefined;

/**
 * One alert per bot and incident. An incident starts when a declared bot is found not running
 * and ends when it runs healthy again: a bot healed in the same reconcile gets one
 * `bot.recovered`; one that stays down gets one `bot.down`, then one `bot.recovered` when it is
 * back, however many reconciles that takes. Kept in memory: a restarted agent may say it again.
 */
export class IncidentBook {
  private readonly down = new Map<string, string>();

  /** `wasDown`: found not running this time; `up`: running and healthy after what reconcile did. */
  observe(bot: string, wasDown: boolean, up: boolean, now: Date): IncidentNotice {
    const open = this.down.get(bot);
    if (up) {
      if (open) {
        this.down.delete(bot);
        return { event: "bot.recovered", since: open };
      }
      return wasDown ? { event: "bot.recovered", since: now.toISOString() } : undefined;
    }
    if (open) return undefined;
    const since = now.toISOString();
    this.down.set(bot, since);
    return { event: "bot.down", since };
  }

  /** Bots no longer declared here have no incident to end. */
  retain(declared: ReadonlySet<string>): void {
    for (const bot of this.down.keys()) if (!declared.has(bot)) this.down.delete(bot);
  }

  since(bot: string): string | undefined {
    return this.down.get(bot);
  }
}
