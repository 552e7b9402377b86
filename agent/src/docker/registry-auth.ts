import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import type { AuthConfig } from "dockerode";

interface DockerConfigFile {
  auths?: Record<string, { auth?: string; identitytoken?: string }>;
}

/** The registry host of a repository, as Docker decides it: a first part with a dot, colon or "localhost". */
export function registryHost(repository: string): string {
  const first = repository.split("/")[0] ?? "";
  if (repository.includes("/") && (first.includes(".") || first.includes(":") || first === "localhost"))
    return first;
  return "docker.io";
}

/**
 * Credentials for pulling `repository`, read from the usual Docker config file
 * ($DOCKER_CONFIG/config.json, else ~/.docker/config.json). Credential helpers are not run.
 */
export async function registryAuth(
  repository: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<AuthConfig | undefined> {
  const dir = env.DOCKER_CONFIG ?? join(homedir(), ".docker");
  let config: DockerConfigFile;
  try {
    config = JSON.parse(await readFile(join(dir, "config.json"), "utf8")) as DockerConfigFile;
  } catch {
    return undefined;
  }
  const host = registryHost(repository);
  const candidates =
    host === "docker.io"
      ? ["https://index.docker.io/v1/", "docker.io", "index.docker.io"]
      : [host, `https://${host}`, `http://${host}`];
  for (const key of candidates) {
    const entry = config.auths?.[key];
    if (!entry) continue;
    if (entry.identitytoken)
      return { serveraddress: host, username: "<token>", password: entry.identitytoken };
    if (entry.auth) {
      const decoded = Buffer.from(entry.auth, "base64").toString("utf8");
      const colon = decoded.indexOf(":");
      if (colon > 0)
        return { serveraddress: host, username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
    }
  }
  return undefined;
}
