import { stat } from "node:fs/promises";
import { resolve } from "node:path";
import { UsageError } from "../errors.ts";

/** `--state DIR`, defaulting to ./fleet-state; a missing directory is a usage error, not a crash. */
export async function resolveStateDir(flag: string | undefined, cwd: string): Promise<string> {
  const dir = resolve(cwd, flag ?? "fleet-state");
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) {
    throw new UsageError(
      `no fleet-state directory at ${dir}; pass --state DIR or run from the repository root`,
    );
  }
  return dir;
}
