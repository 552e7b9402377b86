/** Test helpers for CLI commands: run `main` in-process and work on a copy of the sample fleet. */
import { cp, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main } from "./main.ts";

const SAMPLE = join(import.meta.dirname, "../../../fleet-state");

export async function runCli(
  argv: string[],
  cwd: string,
): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l), cwd, env: {} });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

/** A temp dir holding a copy of the repository's sample fleet-state/. */
export async function copyOfSample(prefix: string): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), prefix));
  await cp(SAMPLE, join(root, "fleet-state"), { recursive: true });
  return root;
}
