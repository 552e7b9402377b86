import { resolve } from "node:path";
import { FleetwaveError } from "../errors.ts";
import { checkoutStatusFiles } from "../git/status-refs.ts";
import type { FleetState } from "../model/fleet-state.ts";
import { loadFleetState } from "../model/load.ts";
import { resolveStateDir } from "./state-dir.ts";

/** The operator's clone of the fleet repository and its valid fleet-state (refused when invalid). */
export async function loadFleetRepo(
  repoFlag: string,
  cwd: string,
): Promise<{ repo: string; state: FleetState }> {
  const repo = resolve(cwd, repoFlag);
  const dir = await resolveStateDir(resolve(repo, "fleet-state"), cwd);
  // Hosts' status lives on their status refs (fetched as origin/fleetwave/status/*), not on main.
  const loaded = await loadFleetState(dir, cwd, { statusFiles: await checkoutStatusFiles(dir) });
  if (!loaded.ok)
    throw new FleetwaveError(
      `fleet-state in ${repo} is invalid; run \`fleetwave validate\` for the ${loaded.problems.length} problems and fix them first`,
    );
  return { repo, state: loaded.state };
}
