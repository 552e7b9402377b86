import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import type { AuthConfig } from "dockerode";
import { z } from "zod";
import { FleetwaveError } from "../errors.ts";

interface DockerConfigFile {
  auths?: Record<string, { auth?: string; identitytoken?: string }>;
  /** A credential helper for every registry (`docker-credential-<name>`). */
  credsStore?: string;
  /** A credential helper per registry, ahead of credsStore. */
  credHelpers?: Record<string, string>;
}

/** A credential helper that failed for another reason than "no credentials for this registry". */
export class CredentialHelperError extends FleetwaveError {}

/** What `docker-credential-<name> get` prints (the docker-credential-helpers protocol). */
const helperAnswer = z.object({ Username: z.string(), Secret: z.string() });

/** The helpers' own wording for "nothing stored for this server"; Docker then pulls anonymously. */
const NOT_FOUND = /credentials not found/i;
const HELPER_TIMEOUT_MS = 30_000;

/** The registry host of a repository, as Docker decides it: a first part with a dot, colon or "localhost". */
export function registryHost(repository: string): string {
  const first = repository.split("/")[0] ?? "";
  if (repository.includes("/") && (first.includes(".") || first.includes(":") || first === "localhost"))
    return first;
  return "docker.io";
}

/**
 * Credentials for pulling `repository`, found as the Docker CLI finds them in its config file
 * ($DOCKER_CONFIG/config.json, else ~/.docker/config.json): the registry's `credHelpers` entry,
 * else `credsStore`, runs `docker-credential-<name> get`; without a helper, `auths` is read.
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
  const helper = candidates.map((key) => config.credHelpers?.[key]).find(Boolean) ?? config.credsStore;
  if (helper) return fromHelper(helper, candidates[0]!, host, env);
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

/** Runs `docker-credential-<helper> get` with the server address on stdin, as the Docker CLI does. */
async function fromHelper(
  helper: string,
  server: string,
  host: string,
  env: NodeJS.ProcessEnv,
): Promise<AuthConfig | undefined> {
  const program = `docker-credential-${helper}`;
  const run = await new Promise<{ code: number | null; stdout: string; error?: Error }>((done) => {
    const child = spawn(program, ["get"], {
      env,
      timeout: HELPER_TIMEOUT_MS,
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString("utf8");
    });
    child.stderr.resume();
    child.on("error", (error) => done({ code: null, stdout, error }));
    child.on("close", (code) => done({ code, stdout }));
    child.stdin.on("error", () => undefined);
    child.stdin.end(server);
  });
  const where = `the Docker config's credential helper ${program} (for ${host})`;
  if (run.error)
    throw new CredentialHelperError(
      `${where} could not run: ${run.error.message}; install it on the agent's PATH or remove it from the Docker config`,
    );
  if (run.code !== 0) {
    if (NOT_FOUND.test(run.stdout)) return undefined;
    throw new CredentialHelperError(
      `${where} exited with ${run.code ?? "a signal"}: ${run.stdout.trim() || "no output"}; check it with: echo ${server} | ${program} get`,
    );
  }
  let answer: z.infer<typeof helperAnswer>;
  try {
    answer = helperAnswer.parse(JSON.parse(run.stdout));
  } catch {
    throw new CredentialHelperError(`${where} did not print {"Username", "Secret"} JSON`);
  }
  if (answer.Username === "" && answer.Secret === "") return undefined;
  return { serveraddress: host, username: answer.Username, password: answer.Secret };
}
