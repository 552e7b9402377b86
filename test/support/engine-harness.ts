import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DockerAdapter, dockerFromEnv } from "#fleetwave/docker/docker.ts";
import { Journal } from "#fleetwave/engine/journal.ts";
import type { EngineOptions } from "#fleetwave/engine/update-bot.ts";
import { MountpointSnapshotter } from "#fleetwave/engine/volume-snapshots.ts";
import type { FleetBot } from "#fleetwave/model/fleet-state.ts";
import { SnapshotStore } from "#fleetwave/snapshot/index.ts";

export const TEST_REPOSITORY = () => `${process.env.FLEETWAVE_REGISTRY}/fleetwave-test/bot`;

/** The pieces of the update engine, wired to the test engine and a fresh data dir. */
export async function engineFor(
  options: Partial<Omit<EngineOptions, "docker">> & { docker?: DockerAdapter; dataDir?: string } = {},
): Promise<EngineOptions & { docker: DockerAdapter; dataDir: string; store: SnapshotStore }> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), "fleetwave-engine-")));
  const docker = new DockerAdapter(dockerFromEnv());
  const store = new SnapshotStore({ dataDir });
  return {
    docker,
    journal: new Journal(dataDir),
    snapshots: new MountpointSnapshotter(docker, store),
    allowlist: [`${process.env.FLEETWAVE_REGISTRY}/`],
    healthCheckTimeoutSeconds: 10,
    minHealthySeconds: 1,
    keepSnapshots: 0,
    stopTimeoutSeconds: 5,
    ...options,
    dataDir,
    store,
  };
}

let counter = 0;

/** A bot spec as it would come from git, on the host network with its own port and volumes. */
export function testBot(port: number, volumes: string[] = ["data"], id?: string): FleetBot {
  counter += 1;
  const name = id ?? `fwtest-${process.pid}-${counter}`;
  return {
    id: name,
    tenant: "test",
    host: "host-a",
    image: `${TEST_REPOSITORY()}:managed`,
    pinnedDigest: null,
    volumes: volumes.map((v, i) => ({ name: `${name}-${v}`, path: i === 0 ? "/data" : `/${v}` })),
    env: { PORT: String(port) },
    command: null,
    network: "host",
    ports: [],
    health: { url: `http://127.0.0.1:${port}/health`, expectStatus: 200, expectJson: { status: "ok" } },
  };
}
