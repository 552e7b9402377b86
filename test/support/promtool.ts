/**
 * `promtool check metrics` (Debian's prometheus package, installed by scripts/test-env.sh) on an
 * exposition: it parses it and lints names, types, units and help. A missing promtool fails the
 * test that asks: a check that silently did not run proves nothing.
 */
import { spawnSync } from "node:child_process";

export function promtoolCheck(exposition: string): { code: number | null; output: string } {
  const run = spawnSync("promtool", ["check", "metrics"], { input: exposition, encoding: "utf8" });
  if (run.error)
    throw new Error(
      `promtool could not run (${run.error.message}); install Debian's prometheus package (scripts/test-env.sh up does)`,
    );
  return { code: run.status, output: `${run.stdout}${run.stderr}` };
}
