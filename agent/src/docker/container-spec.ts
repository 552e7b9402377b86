import type { ContainerCreateOptions, MountSettings } from "dockerode";
import { FleetwaveError } from "../errors.ts";
import type { FleetBot } from "../model/fleet-state.ts";

export const LABEL_MANAGED = "fleetwave.managed";
export const LABEL_BOT = "fleetwave.bot";
export const LABEL_TENANT = "fleetwave.tenant";
export const LABEL_DIGEST = "fleetwave.digest";
/**
 * Names of the env variables whose values came from secret files, comma-separated: whoever
 * compares a container's `Config.Env` with fleet-state (or shows it) must neither print these
 * values nor call them drift (fleet-state holds only the file's path).
 */
export const LABEL_SECRET_ENV = "fleetwave.secret-env";

/** A bot's env references a secret that was not read before its container was made. */
export class UnreadSecretError extends FleetwaveError {
  override name = "UnreadSecretError";
}

/** Names of the env variables of `bot` that come from secret files. */
export function secretEnvNames(bot: Pick<FleetBot, "env">): string[] {
  return Object.entries(bot.env)
    .filter(([, value]) => typeof value !== "string")
    .map(([name]) => name);
}

/** The name the old container carries while its replacement proves itself. */
export const asideName = (botId: string) => `${botId}.fleetwave-old`;

export const pinnedRef = (repository: string, digest: string) => `${repository}@${digest}`;

export interface CreateSpecOptions {
  /**
   * Docker copies the image's files into an empty named volume on first mount. That is wanted
   * only when a bot is created for the first time; during an update or a rollback the volume
   * holds the tenant's data (or was just emptied by a restore) and must never be seeded.
   */
  seedVolumes: boolean;
  /** The values of the bot's secret env variables (engine/secrets.ts reads them), by name. */
  secrets?: Readonly<Record<string, string>>;
}

/** The Engine's create request for a bot, pinned by digest. Pure, so it is tested without Docker. */
export function containerCreateOptions(
  bot: FleetBot,
  repository: string,
  digest: string,
  options: CreateSpecOptions,
): ContainerCreateOptions {
  const exposed: Record<string, object> = {};
  const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const port of bot.ports) {
    const [mapping, proto = "tcp"] = port.split("/");
    const parts = mapping!.split(":");
    const containerPort = parts.pop()!;
    const hostPort = parts.pop()!;
    const hostIp = parts.pop() ?? "127.0.0.1";
    const key = `${containerPort}/${proto}`;
    exposed[key] = {};
    bindings[key] = [...(bindings[key] ?? []), { HostIp: hostIp, HostPort: hostPort }];
  }
  const secretNames = secretEnvNames(bot);
  const env = Object.entries(bot.env).map(([key, value]) => {
    if (typeof value === "string") return `${key}=${value}`;
    const secret = options.secrets?.[key];
    if (secret === undefined)
      throw new UnreadSecretError(
        `bot ${bot.id}: env ${key} comes from ${value.fromFile}, which was not read`,
      );
    return `${key}=${secret}`;
  });
  return {
    name: bot.id,
    Image: pinnedRef(repository, digest),
    Env: env,
    ...(bot.command ? { Cmd: bot.command } : {}),
    Labels: {
      [LABEL_MANAGED]: "true",
      [LABEL_BOT]: bot.id,
      [LABEL_TENANT]: bot.tenant,
      [LABEL_DIGEST]: digest,
      ...(secretNames.length > 0 ? { [LABEL_SECRET_ENV]: secretNames.join(",") } : {}),
    },
    ExposedPorts: exposed,
    HostConfig: {
      NetworkMode: bot.network,
      PortBindings: bot.network === "host" ? {} : bindings,
      Mounts: bot.volumes.map((volume) => volumeMount(volume.name, volume.path, options.seedVolumes)),
      RestartPolicy: { Name: "unless-stopped" },
      // Without an init, a PID 1 that ignores SIGTERM (busybox httpd, many apps) holds every stop
      // for the full timeout and turns each update into seconds of extra downtime.
      Init: true,
    },
  };
}

function volumeMount(name: string, target: string, seed: boolean): MountSettings {
  // @types/dockerode marks Labels and DriverConfig as required; the Engine treats them as optional
  // and an empty DriverConfig would name a driver that does not exist.
  const volumeOptions = { NoCopy: !seed } as MountSettings["VolumeOptions"];
  return { Type: "volume", Source: name, Target: target, VolumeOptions: volumeOptions };
}
