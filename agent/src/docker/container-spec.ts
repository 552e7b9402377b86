import type { ContainerCreateOptions, MountSettings } from "dockerode";
import type { FleetBot } from "../model/fleet-state.ts";

export const LABEL_MANAGED = "fleetwave.managed";
export const LABEL_BOT = "fleetwave.bot";
export const LABEL_TENANT = "fleetwave.tenant";
export const LABEL_DIGEST = "fleetwave.digest";

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
  return {
    name: bot.id,
    Image: pinnedRef(repository, digest),
    Env: Object.entries(bot.env).map(([key, value]) => `${key}=${value}`),
    ...(bot.command ? { Cmd: bot.command } : {}),
    Labels: {
      [LABEL_MANAGED]: "true",
      [LABEL_BOT]: bot.id,
      [LABEL_TENANT]: bot.tenant,
      [LABEL_DIGEST]: digest,
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
