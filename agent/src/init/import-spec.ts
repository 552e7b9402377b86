/**
 * A running container as a bot of a tenant file, for `fleetwave import`. Pure: it reads what the
 * Engine said about the container and its image. What Fleetwave cannot reproduce when it
 * recreates the container (bind mounts, a container-level health check, capabilities, …) is
 * listed as a problem rather than dropped silently; secrets are left out with a note.
 */
import type { ContainerInspectInfo, ImageInspectInfo } from "dockerode";
import { repositoryOf } from "../model/allowlist.ts";
import { parsePort } from "../model/ports.ts";
import { splitImageRef } from "../model/primitives.ts";

/** The tenant file's bot, in the order the file shows its fields. */
export interface ImportedBot {
  id: string;
  host: string;
  image: string;
  pinnedDigest: string | null;
  volumes: { name: string; path: string }[];
  env: Record<string, string>;
  command: string[] | null;
  network: string;
  ports: string[];
  health: null;
}

export interface ImportResult {
  bot: ImportedBot;
  /** What the file does not say and a person must look at before the first update. */
  problems: string[];
  /** What was done on purpose (a secret left out, the image's HEALTHCHECK gating updates). */
  notes: string[];
}

/** Env names that usually hold secrets, which do not belong in git. */
const SECRET_NAME =
  /(TOKEN|SECRET|PASSWORD|PASSWD|PASSPHRASE|PRIVATE|CREDENTIAL|API_?KEY|ACCESS_?KEY|_KEY$|^KEY$|AUTH|DSN|COOKIE|SALT)/i;

export const isSecretName = (name: string) => SECRET_NAME.test(name);

/** `repository:tag` for the container's image, or undefined when only an id or digest names it. */
function imageReference(
  container: ContainerInspectInfo,
  image: ImageInspectInfo | undefined,
): string | undefined {
  const configured = container.Config.Image;
  const withoutDigest = configured.includes("@") ? configured.slice(0, configured.indexOf("@")) : configured;
  const candidates = [withoutDigest, ...(image?.RepoTags ?? [])];
  for (const candidate of candidates) {
    if (/^sha256:/.test(candidate) || /^[0-9a-f]{12,64}$/.test(candidate)) continue;
    const lastSlash = candidate.lastIndexOf("/");
    const tagged = candidate.lastIndexOf(":") > lastSlash ? candidate : `${candidate}:latest`;
    try {
      splitImageRef(tagged);
      return tagged;
    } catch {}
  }
  return undefined;
}

const sameList = (a: readonly string[] | null | undefined, b: readonly string[] | null | undefined) =>
  JSON.stringify(a ?? []) === JSON.stringify(b ?? []);

export function importContainer(
  container: ContainerInspectInfo,
  image: ImageInspectInfo | undefined,
  host: string,
): ImportResult {
  const problems: string[] = [];
  const notes: string[] = [];
  const id = container.Name.replace(/^\//, "");

  const reference = imageReference(container, image);
  if (!reference)
    problems.push(
      `image: the container runs ${container.Config.Image}, which names no repository:tag; set the channel the bot should follow`,
    );
  const ref = reference ?? "set.me/repository:tag";
  const repository = repositoryOf(ref);
  const digest = image?.RepoDigests?.find((d) => d.startsWith(`${repository}@`))?.slice(
    repository.length + 1,
  );
  // No pinnedDigest: a pin would keep the bot out of every plan for good. The agent adopts the
  // container at the digest it runs and records it, so nothing moves the bot before the first
  // plan of its image, and a lost container is recreated at that recorded digest.
  if (!digest)
    problems.push(
      `image: ${ref} has no registry digest on this host (built locally, or pushed under another name); the agent can only recreate the bot from a registry`,
    );
  else notes.push(`runs ${digest} and stays on it until the first rollout plan of ${ref}`);

  const volumes: ImportedBot["volumes"] = [];
  for (const mount of container.Mounts) {
    if (mount.Type === "volume" && mount.Name) volumes.push({ name: mount.Name, path: mount.Destination });
    else
      problems.push(
        `volumes: a ${mount.Type} mount ${mount.Source ? `of ${mount.Source} ` : ""}at ${mount.Destination} cannot be reproduced (Fleetwave mounts and snapshots named volumes only); move its data into a named volume`,
      );
  }

  const imageEnv = new Set(image?.Config.Env ?? []);
  const env: Record<string, string> = {};
  for (const entry of container.Config.Env ?? []) {
    if (imageEnv.has(entry)) continue;
    const eq = entry.indexOf("=");
    const name = eq === -1 ? entry : entry.slice(0, eq);
    if (isSecretName(name)) {
      notes.push(`env: ${name} looks like a secret and was left out of git; set it from a file on the host`);
      continue;
    }
    env[name] = eq === -1 ? "" : entry.slice(eq + 1);
  }

  const command = sameList(container.Config.Cmd, image?.Config.Cmd) ? null : (container.Config.Cmd ?? null);
  if (!sameList(container.Config.Entrypoint as string[] | null, image?.Config.Entrypoint as string[] | null))
    problems.push(
      "entrypoint: the container overrides the image's ENTRYPOINT, which a tenant file cannot say",
    );

  const mode = container.HostConfig.NetworkMode ?? "default";
  let network = mode === "default" ? "bridge" : mode;
  if (mode.startsWith("container:")) {
    problems.push(
      `network: shares the network of ${mode.slice("container:".length)}, which Fleetwave cannot reproduce`,
    );
    network = "bridge";
  }

  const ports: string[] = [];
  for (const [key, bindings] of Object.entries(container.HostConfig.PortBindings ?? {})) {
    const [containerPort, protocol = "tcp"] = key.split("/");
    for (const binding of (bindings as { HostIp?: string; HostPort?: string }[] | null) ?? []) {
      // Docker's "" is every address; Fleetwave's default without an address is loopback only.
      const spec = `${binding.HostIp || "0.0.0.0"}:${binding.HostPort}:${containerPort}${protocol === "tcp" ? "" : `/${protocol}`}`;
      if (parsePort(spec)) ports.push(spec);
      else
        problems.push(
          `ports: ${key} published as ${JSON.stringify(binding)} cannot be written as a ports entry`,
        );
    }
  }

  const restart = container.HostConfig.RestartPolicy?.Name || "no";
  if (restart !== "unless-stopped")
    problems.push(
      `restart: the container restarts "${restart}"; Fleetwave recreates bots with "unless-stopped" at their first update`,
    );

  const imageCheck = image?.Config.Healthcheck;
  const containerCheck = container.Config.Healthcheck;
  if (containerCheck?.Test?.length && !sameList(containerCheck.Test, imageCheck?.Test))
    problems.push(
      "health: the container sets its own health check, which a tenant file cannot say; give it a health url, or put the HEALTHCHECK in the image",
    );
  else if (imageCheck?.Test?.length && imageCheck.Test[0] !== "NONE")
    notes.push("health: the image's HEALTHCHECK gates updates; a health url can be added instead");

  const host_ = container.HostConfig;
  const unreproducible: [boolean, string][] = [
    [Boolean(host_.Privileged), "privileged mode"],
    [(host_.CapAdd ?? []).length > 0, `added capabilities (${(host_.CapAdd ?? []).join(", ")})`],
    [(host_.Devices ?? []).length > 0, "devices"],
    [(host_.ExtraHosts ?? []).length > 0, "extra hosts"],
    [Boolean(host_.Memory) || Boolean(host_.NanoCpus) || Boolean(host_.CpuShares), "resource limits"],
    [(container.Config.User || "") !== (image?.Config.User || ""), `user ${container.Config.User}`],
    [
      (container.Config.WorkingDir || "") !== (image?.Config.WorkingDir || ""),
      `working directory ${container.Config.WorkingDir}`,
    ],
  ];
  for (const [present, what] of unreproducible)
    if (present)
      problems.push(
        `the container's ${what} cannot be written in a tenant file and is lost at its first update`,
      );

  return {
    bot: {
      id,
      host,
      image: ref,
      pinnedDigest: null,
      volumes,
      env,
      command,
      network,
      ports,
      health: null,
    },
    problems,
    notes,
  };
}

/** A tenant id from a container name: lowercase letters, digits and dashes. */
export function tenantIdFor(name: string): string {
  const id = name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 63);
  return id === "" ? "imported" : id;
}
