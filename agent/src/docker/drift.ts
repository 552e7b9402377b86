/**
 * How a bot's container differs from what fleet-state declares (pure). The declared side is the
 * Engine request Fleetwave itself would send (`containerCreateOptions`), so whatever that request
 * puts into a container (resolved values included) is by definition not drift. What the image
 * brings (its Env, Cmd and Labels) is not drift either.
 */
import type { ContainerCreateOptions, ContainerInspectInfo } from "dockerode";

export interface ImageDefaults {
  env: readonly string[];
  cmd: readonly string[] | null;
  labels: Readonly<Record<string, string>>;
}

/** One line per difference, e.g. `env PORT is 9999, fleet-state says 8080`; empty when none. */
export function containerDrift(
  want: ContainerCreateOptions,
  have: ContainerInspectInfo,
  image: ImageDefaults,
): string[] {
  const out: string[] = [];
  if (have.Config.Image !== want.Image)
    out.push(`image is ${have.Config.Image}, fleet-state says ${want.Image}`);

  const wantEnv = envMap(want.Env ?? []);
  const haveEnv = envMap(have.Config.Env ?? []);
  const imageEnv = envMap(image.env);
  for (const [key, value] of wantEnv) {
    const got = haveEnv.get(key);
    if (got === undefined) out.push(`env ${key} is missing`);
    else if (got !== value) out.push(`env ${key} differs from fleet-state`);
  }
  for (const [key, value] of haveEnv) {
    // The Engine gives a container a default PATH when its image sets none.
    if (key === "PATH" && !imageEnv.has(key)) continue;
    if (!wantEnv.has(key) && imageEnv.get(key) !== value) out.push(`env ${key} is not in fleet-state`);
  }

  const wantCmd = want.Cmd ?? image.cmd ?? null;
  if (JSON.stringify(have.Config.Cmd ?? null) !== JSON.stringify(wantCmd))
    out.push(
      `command is ${JSON.stringify(have.Config.Cmd ?? null)}, fleet-state says ${JSON.stringify(wantCmd)}`,
    );

  const ports = (
    bindings: Record<string, { HostIp?: string; HostPort?: string }[] | null | undefined> = {},
  ) =>
    Object.entries(bindings ?? {})
      .flatMap(([key, list]) => (list ?? []).map((b) => `${b.HostIp || "0.0.0.0"}:${b.HostPort}->${key}`))
      .sort();
  const wantPorts = ports(want.HostConfig?.PortBindings);
  const havePorts = ports(have.HostConfig.PortBindings);
  if (JSON.stringify(wantPorts) !== JSON.stringify(havePorts))
    out.push(`ports are [${havePorts.join(", ")}], fleet-state says [${wantPorts.join(", ")}]`);

  const wantVolumes = (want.HostConfig?.Mounts ?? []).map((m) => `${m.Source}:${m.Target}`).sort();
  const haveVolumes = (have.Mounts ?? [])
    .filter((m) => m.Type === "volume")
    .map((m) => `${m.Name}:${m.Destination}`)
    .sort();
  const extraMounts = (have.Mounts ?? [])
    .filter((m) => m.Type !== "volume")
    .map((m) => `${m.Type} ${m.Destination}`);
  if (JSON.stringify(wantVolumes) !== JSON.stringify(haveVolumes) || extraMounts.length > 0)
    out.push(
      `volumes are [${[...haveVolumes, ...extraMounts].join(", ")}], fleet-state says [${wantVolumes.join(", ")}]`,
    );

  const wantLabels = want.Labels ?? {};
  const haveLabels = have.Config.Labels ?? {};
  for (const [key, value] of Object.entries(wantLabels))
    if (haveLabels[key] !== value)
      out.push(`label ${key} is ${haveLabels[key] ?? "missing"}, fleet-state says ${value}`);
  for (const [key, value] of Object.entries(haveLabels))
    if (!(key in wantLabels) && image.labels[key] !== value) out.push(`label ${key} is not in fleet-state`);
  return out;
}

function envMap(list: readonly string[]): Map<string, string> {
  const map = new Map<string, string>();
  for (const entry of list) {
    const at = entry.indexOf("=");
    if (at > 0) map.set(entry.slice(0, at), entry.slice(at + 1));
  }
  return map;
}
