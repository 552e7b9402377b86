import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { containerCreateOptions } from "#fleetwave/docker/container-spec.ts";
import { containerDigest } from "#fleetwave/docker/docker.ts";
import { Journal } from "#fleetwave/engine/journal.ts";
import { updateBot } from "#fleetwave/engine/update-bot.ts";
import { MountpointSnapshotter } from "#fleetwave/engine/volume-snapshots.ts";
import type { FleetBot } from "#fleetwave/model/fleet-state.ts";
import { SnapshotStore } from "#fleetwave/snapshot/index.ts";
import { SimulatedEngine, type StepTimings } from "../../bench/sim/simulated-engine.ts";

const REPOSITORY = "registry.sim.invalid/fleet/bot";
const OLD = `sha256:${"a".repeat(64)}`;
const NEW = `sha256:${"b".repeat(64)}`;
const FAST: StepTimings = {
  pull: 1,
  stop: 1,
  rename: 1,
  create: 1,
  start: 1,
  healthy: 30,
  remove: 1,
  request: 0,
};
const bot: FleetBot = {
  id: "sim-bot",
  tenant: "t0",
  host: "host-000",
  image: `${REPOSITORY}:stable`,
  pinnedDigest: null,
  volumes: [],
  env: { PORT: "8080" },
  command: null,
  network: "host",
  ports: [],
  health: null,
};

const dirs: string[] = [];
afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

describe("SimulatedEngine (the benches' engine)", () => {
  it("takes the real update engine from one digest to the next, healthy by its HEALTHCHECK", async () => {
    const engine = new SimulatedEngine({ tags: new Map([[`${REPOSITORY}:stable`, OLD]]) }, FAST, 0);
    expect(await engine.resolveTag(REPOSITORY, "stable")).toBe(OLD);
    const id = await engine.create(containerCreateOptions(bot, REPOSITORY, OLD, { seedVolumes: false }));
    await engine.start(id);
    expect((await engine.inspect(bot.id))?.State.Health?.Status).toBe("starting");

    const dataDir = await mkdtemp(join(tmpdir(), "fleetwave-sim-engine-"));
    dirs.push(dataDir);
    const outcome = await updateBot(bot, NEW, {
      docker: engine,
      journal: new Journal(dataDir),
      // As the agent wires it; with no volumes it takes no snapshot.
      snapshots: new MountpointSnapshotter(engine, new SnapshotStore({ dataDir })),
      allowlist: ["registry.sim.invalid/"],
      healthCheckTimeoutSeconds: 5,
      minHealthySeconds: 0,
      keepSnapshots: 0,
    });

    expect(outcome.result, outcome.reason).toBe("updated");
    const now = await engine.inspect(bot.id);
    expect(now && containerDigest(now)).toBe(NEW);
    expect(now?.State.Health?.Status).toBe("healthy");
    expect((await engine.listManaged()).map((c) => c.name)).toEqual([bot.id]);
    // stop, rename, create, start and the healthy delay of the update; the old container's removal.
    expect(engine.stepMsByBot.get(bot.id)).toBeGreaterThanOrEqual(30);
  });

  it("refuses a bot with volumes: the simulation has none to snapshot", async () => {
    const engine = new SimulatedEngine({ tags: new Map() }, FAST, 0);
    await engine.pull(REPOSITORY, OLD);
    const withVolume = { ...bot, volumes: [{ name: "sim-data", path: "/data" }] };
    await expect(
      engine.create(containerCreateOptions(withVolume, REPOSITORY, OLD, { seedVolumes: false })),
    ).rejects.toThrow(/no volumes/);
  });
});
