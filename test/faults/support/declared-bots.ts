/**
 * Creates a host's declared bots in this process, in parallel, exactly as the agent would (the same
 * fleet-state loader and `ensureBot`), so a test with many bots does not wait for the agent to create
 * them one by one. The agent then adopts them.
 */

import { ensureBot } from "#fleetwave/engine/ensure-bot.ts";
import type { FleetBot } from "#fleetwave/model/fleet-state.ts";
import { loadFleetState } from "#fleetwave/model/load.ts";
import { engineFor } from "#test/support/engine-harness.ts";

export async function createDeclaredBots(
  stateDir: string,
  host: string,
  digest: string,
): Promise<FleetBot[]> {
  const loaded = await loadFleetState(stateDir);
  if (!loaded.ok) throw new Error(`invalid fleet-state: ${JSON.stringify(loaded.problems)}`);
  const bots = loaded.state.bots.filter((b) => b.host === host);
  const engine = await engineFor({ healthCheckTimeoutSeconds: 30, minHealthySeconds: 0 });
  await Promise.all(
    bots.map(async (bot) => {
      const result = await ensureBot(bot, digest, engine);
      if (result.action === "created" && result.outcome.result !== "updated")
        throw new Error(`creating ${bot.id}: ${result.outcome.reason}`);
    }),
  );
  return bots;
}
