/**
 * Runs one update (or recover()) in its own process, so a test can kill it at a fault point
 * (FLEETWAVE_FAULT) and recover in a fresh process, as after a crash of the real agent.
 * Usage: node --import tsx test/support/update-child.ts update|recover '<json>'
 */
import { recover } from "#fleetwave/engine/recover.ts";
import { updateBot } from "#fleetwave/engine/update-bot.ts";
import type { FleetBot } from "#fleetwave/model/fleet-state.ts";
import { engineFor } from "./engine-harness.ts";

interface ChildInput {
  dataDir: string;
  bot: FleetBot;
  digest: string;
  healthCheckTimeoutSeconds: number;
  minHealthySeconds: number;
}

const [mode, json] = process.argv.slice(2);
const input = JSON.parse(json ?? "{}") as ChildInput;
const engine = await engineFor({
  dataDir: input.dataDir,
  healthCheckTimeoutSeconds: input.healthCheckTimeoutSeconds,
  minHealthySeconds: input.minHealthySeconds,
});
const result = mode === "recover" ? await recover(engine) : await updateBot(input.bot, input.digest, engine);
process.stdout.write(`${JSON.stringify(result)}\n`);
