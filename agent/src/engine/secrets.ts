/**
 * Reads the secret files a bot's env references (`env: { NAME: { fromFile: PATH } }`). A file
 * must resolve (symlinks followed) inside `<secrets dir>/<tenant>/`, so fleet-state cannot make the
 * agent hand a tenant another tenant's secret or any other file of the host. Errors name the
 * file, never its content; values go only into the container's create request.
 */
import { open, realpath } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { FleetwaveError } from "../errors.ts";
import type { FleetBot } from "../model/fleet-state.ts";

export const DEFAULT_SECRETS_DIR = "/etc/fleetwave/secrets";

/** Largest secret file read (an env value, not a bundle of files). */
export const MAX_SECRET_BYTES = 64 * 1024;

/** A secret file is missing, unreadable, too large or outside the tenant's secrets directory. */
export class SecretFileError extends FleetwaveError {
  override name = "SecretFileError";
}

function inside(dir: string, path: string): boolean {
  const rel = relative(dir, path);
  return rel !== "" && !rel.startsWith(`..${sep}`) && rel !== ".." && !rel.startsWith(sep);
}

/** One file's value: its text without one trailing newline (files written by `echo` end in one). */
async function readSecret(bot: FleetBot, name: string, file: string, secretsDir: string): Promise<string> {
  const where = `bot ${bot.id}: env ${name}: secret file ${file}`;
  const tenantDir = join(secretsDir, bot.tenant);
  const realDir = await realpath(tenantDir).catch(() => undefined);
  if (!realDir)
    throw new SecretFileError(`${where}: the tenant's secrets directory ${tenantDir} does not exist`);
  const real = await realpath(file).catch((error: NodeJS.ErrnoException) => {
    throw new SecretFileError(
      error.code === "ENOENT"
        ? `${where} does not exist; create it (readable by the agent only) or remove the variable`
        : `${where} cannot be read: ${error.code ?? error.message}`,
    );
  });
  if (!inside(realDir, real))
    throw new SecretFileError(
      `${where} is outside ${tenantDir}; secrets of tenant ${bot.tenant} must be under it`,
    );
  const handle = await open(real, "r").catch((error: NodeJS.ErrnoException) => {
    throw new SecretFileError(`${where} cannot be read: ${error.code ?? error.message}`);
  });
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new SecretFileError(`${where} is not a regular file`);
    if (stat.size > MAX_SECRET_BYTES)
      throw new SecretFileError(
        `${where} is ${stat.size} bytes, more than the ${MAX_SECRET_BYTES} an env value may be`,
      );
    const text = await handle.readFile("utf8");
    return text.replace(/\r?\n$/, "");
  } finally {
    await handle.close();
  }
}

/** The values of every secret env variable of `bot`, by name; throws SecretFileError naming the file. */
export async function readBotSecrets(bot: FleetBot, secretsDir: string): Promise<Record<string, string>> {
  const values: Record<string, string> = {};
  for (const [name, value] of Object.entries(bot.env))
    if (typeof value !== "string") values[name] = await readSecret(bot, name, value.fromFile, secretsDir);
  return values;
}
