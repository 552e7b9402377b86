/**
 * Runs one update in its own process and holds it at a journaled phase, so a test can break the
 * world there (kill dockerd) and then kill this process too, as a host crash or reboot would.
 * Prints `HOLD <phase>` when it gets there. DOCKER_HOST names the engine.
 * Usage: node --import tsx test/support/hold-child.ts '<json>'
 */
import { updateBot } from "#fleetwave/engine/update-bot.ts";
import type { FleetBot } from "#fleetwave/model/fleet-state.ts";
import { engineFor } from "./engine-harness.ts";

interface ChildInput {
  dataDir: string;
  bot: FleetBot;
  digest: string;
  holdAt: string;
}

const input = JSON.parse(process.argv[2] ?? "{}") as ChildInput;
const engine = await engineFor({
  dataDir: input.dataDir,
  healthCheckTimeoutSeconds: 10,
  minHealthySeconds: 1,
  onPhase: async (phase) => {
    if (phase !== input.holdAt) return;
    process.stdout.write(`HOLD ${phase}\n`);
    // Until the test kills this process; the interval keeps the event loop from running dry.
    await new Promise(() => setInterval(() => undefined, 60_000));
  },
});
const outcome = await updateBot(input.bot, input.digest, engine);
process.stdout.write(`DONE ${JSON.stringify(outcome)}\n`);
