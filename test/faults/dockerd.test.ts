/**
 * dockerd goes away (SIGTERM: a restart for an upgrade; SIGKILL: a crash) at each step of an
 * update, on an engine of this file's own. One fault per case hits five updates at once, each held
 * at a different step (stopping, snapshotting, starting, health gate, rolling back), so a case
 * costs one dockerd restart. After it both the same process (which waits for the Engine and
 * finishes from its journal) and a restarted agent (`agent --once`, after the updating processes
 * died with the Engine) must converge: every declared bot running and healthy on the old or new
 * digest, volumes exactly as before, no `.fleetwave-old` container, no snapshot or partial left,
 * no journal entry, and a status file that tells the truth.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { asideName, containerCreateOptions } from "#fleetwave/docker/container-spec.ts";
import { containerDigest, type DockerAdapter } from "#fleetwave/docker/docker.ts";
import { ensureBot } from "#fleetwave/engine/ensure-bot.ts";
import { Journal, type Phase } from "#fleetwave/engine/journal.ts";
import { type EngineOptions, updateBot } from "#fleetwave/engine/update-bot.ts";
import { MountpointSnapshotter } from "#fleetwave/engine/volume-snapshots.ts";
import type { FleetBot } from "#fleetwave/model/fleet-state.ts";
import { splitImageRef } from "#fleetwave/model/primitives.ts";
import { statusSchema } from "#fleetwave/model/status.ts";
import { SnapshotStore } from "#fleetwave/snapshot/index.ts";
import { buildTestImage, type TestImage } from "#scripts/local-env/bot-image.ts";
import { freePort, registryHost } from "#scripts/local-env/engine.ts";
import { type FleetRepo, fleetRepo, openHour, remoteStatusFile } from "../support/agent-harness.ts";
import { waitForHttp } from "../support/docker.ts";
import { type PrivateEngine, startPrivateEngine } from "../support/private-engine.ts";
import { createTrickyTree, type TreeManifest, treeManifest } from "../support/tree-manifest.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const HOST = "host-f";
const TENANT = "faults";

type Signal = "SIGTERM" | "SIGKILL";
const SIGNALS: Signal[] = ["SIGTERM", "SIGKILL"];
/** The steps of the fault suite, by the journal phase during which dockerd goes away. */
const STEPS: [label: string, phase: Phase][] = [
  ["stopping", "stopping"],
  ["snapshotting", "snapshotting"],
  ["starting", "starting"],
  ["health gate", "health-gate"],
  ["rolling back", "rolling-back"],
];

let engine: PrivateEngine;
let v1: TestImage;
let v2: TestImage;
let corrupt: TestImage;
let counter = 0;

beforeAll(async () => {
  v1 = await buildTestImage({ version: "1.0.0" });
  v2 = await buildTestImage({ version: "2.0.0" });
  corrupt = await buildTestImage({ version: "2.0.4", behaviour: "corrupt" });
  engine = await startPrivateEngine("dockerd");
});

afterAll(async () => {
  await engine?.destroy();
});

type Engine = EngineOptions & { store: SnapshotStore; dataDir: string; docker: DockerAdapter };

function engineOn(dataDir: string, extra: Partial<Omit<EngineOptions, "docker">> = {}): Engine {
  const docker = engine.adapter();
  const store = new SnapshotStore({ dataDir });
  return {
    docker,
    journal: new Journal(dataDir),
    snapshots: new MountpointSnapshotter(docker, store),
    allowlist: [`${registryHost()}/`],
    healthCheckTimeoutSeconds: 10,
    minHealthySeconds: 1,
    keepSnapshots: 0,
    stopTimeoutSeconds: 5,
    engineWaitSeconds: 120,
    ...extra,
    store,
    dataDir,
  };
}

/** A bot exactly as fleet-state declares it (test/support/agent-harness.ts tenantYaml). */
function declared(id: string, port: number): FleetBot {
  return {
    id,
    tenant: TENANT,
    host: HOST,
    image: `${v1.repository}:${v1.tag}`,
    pinnedDigest: null,
    volumes: [{ name: `${id}-data`, path: "/data" }],
    env: { PORT: String(port) },
    command: null,
    network: "host",
    ports: [],
    health: { url: `http://127.0.0.1:${port}/health`, expectStatus: 200, expectJson: { status: "ok" } },
  };
}

interface Tracked {
  bot: FleetBot;
  before: TreeManifest;
}

/** Creates the bot on v1 in the private engine and fills its volume. */
async function running(e: Engine, port?: number): Promise<Tracked> {
  counter += 1;
  const bot = declared(`fwf-${process.pid}-${counter}`, port ?? (await freePort()));
  const ensured = await ensureBot(bot, v1.digest, e);
  if (ensured.action !== "created" || ensured.outcome.result !== "updated")
    throw new Error(`could not create ${bot.id}: ${JSON.stringify(ensured)}`);
  const mount = await e.docker.volumeMountpoint(bot.volumes[0]!.name);
  await createTrickyTree(mount);
  await writeFile(join(mount, "owner.txt"), `${bot.id}\n`);
  return { bot, before: await treeManifest(mount) };
}

/**
 * dockerd dies once every update has journaled its own step (each waits at its step until then),
 * and is brought up again in the background while the updates go on without it.
 */
function breakWhenAllAt(signal: Signal) {
  let arrived = 0;
  let release: () => void = () => undefined;
  const everyone = new Promise<void>((done) => {
    release = done;
  });
  let restarted: Promise<void> | undefined;
  return {
    at: (phase: Phase) => {
      let held = false;
      return async (reached: Phase) => {
        if (reached !== phase || held) return;
        held = true;
        arrived += 1;
        if (arrived === STEPS.length) {
          await engine.kill(signal);
          restarted = engine.up();
          release();
        }
        await everyone;
      };
    },
    async restarted(): Promise<void> {
      if (!restarted) throw new Error(`only ${arrived} of ${STEPS.length} updates reached their step`);
      await restarted;
    },
  };
}

const targetOf = (phase: Phase) => (phase === "rolling-back" ? corrupt : v2);

/** The invariants every case ends with. */
async function expectConverged(e: Engine, bots: Tracked[]): Promise<void> {
  const images = [v1, v2];
  for (const { bot, before } of bots) {
    const info = await e.docker.inspect(bot.id);
    expect(info?.State.Running, `${bot.id} runs`).toBe(true);
    const image = images.find((i) => i.digest === containerDigest(info!));
    expect(image, `${bot.id} runs v1 or v2, not ${containerDigest(info!)}`).toBeDefined();
    const answer = await waitForHttp(bot.health!.url, 10_000);
    expect(JSON.parse(answer.body)).toEqual({ status: "ok", version: image!.version });
    expect(await treeManifest(await e.docker.volumeMountpoint(bot.volumes[0]!.name))).toEqual(before);
  }
  const aside = (await e.docker.listManaged()).filter((c) => c.name.endsWith(".fleetwave-old"));
  expect(aside.map((c) => c.name)).toEqual([]);
  expect(await e.journal.list()).toEqual([]);
  expect(await e.store.list()).toEqual([]);
  await e.store.settled();
  const dir = join(e.dataDir, "snapshots");
  const left: string[] = await readdir(dir).catch(() => []);
  const restoreArea = left.includes(".restore") ? await readdir(join(dir, ".restore")) : [];
  expect(
    [...left.filter((name) => name !== ".restore"), ...restoreArea],
    "no snapshot, partial, staging or temp file left",
  ).toEqual([]);
}

/** Removes this case's containers and volumes, so later dockerd restarts stay quick. */
async function cleanUp(e: Engine, bots: Tracked[]): Promise<void> {
  for (const { bot } of bots) {
    for (const name of [bot.id, asideName(bot.id)]) {
      const info = await e.docker.inspect(name);
      if (info) await e.docker.remove(info.Id);
    }
    for (const volume of bot.volumes) await e.docker.docker.getVolume(volume.name).remove();
  }
}

describe("dockerd goes away during updates; the same process waits and converges", () => {
  it.each(SIGNALS)("dockerd %s at every step", async (signal) => {
    const e = engineOn(await mkdtemp(join(tmpdir(), "fleetwave-faults-")));
    const tracked = await Promise.all(STEPS.map(() => running(e)));
    const fault = breakWhenAllAt(signal);
    const outcomes = await Promise.all(
      STEPS.map(([, phase], i) =>
        updateBot(tracked[i]!.bot, targetOf(phase).digest, { ...e, onPhase: fault.at(phase) }),
      ),
    );
    await fault.restarted();
    for (const [i, [label, phase]] of STEPS.entries()) {
      const outcome = outcomes[i]!;
      // The corrupt image failed its gate before dockerd went away: a true rollback. The others
      // were interrupted by the world: the old version is back and the new digest is not judged.
      expect(outcome.result, `${label}: ${outcome.reason}`).toBe(
        phase === "rolling-back" ? "rolled-back" : "failed",
      );
      if (phase !== "rolling-back")
        expect(outcome.reason, label).toMatch(/the Docker Engine went away during/);
    }
    await expectConverged(e, tracked);
    await cleanUp(e, tracked);
  });
});

/** Starts test/support/hold-child.ts on the private engine and waits until it holds at `phase`. */
async function holdAt(dataDir: string, bot: FleetBot, digest: string, phase: Phase): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      "test/support/hold-child.ts",
      JSON.stringify({ dataDir, bot, digest, holdAt: phase }),
    ],
    { cwd: ROOT, env: { ...process.env, DOCKER_HOST: engine.dockerHost }, stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  await new Promise<void>((done, fail) => {
    const timer = setTimeout(
      () => fail(new Error(`the update did not reach "${phase}": ${output}`)),
      120_000,
    );
    const watch = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes(`HOLD ${phase}`)) {
        clearTimeout(timer);
        done();
      }
    };
    child.stdout!.on("data", watch);
    child.stderr!.on("data", watch);
    child.once("exit", (code) => {
      clearTimeout(timer);
      fail(new Error(`the update exited (${code}) before "${phase}": ${output}`));
    });
  });
  return child;
}

async function killChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((done) => child.once("exit", done));
  child.kill("SIGKILL");
  await exited;
}

/** The real CLI, as a restarted agent: `fleetwave agent --once` on the private engine. */
function agentOnce(repo: FleetRepo, dataDir: string): Promise<{ code: number; output: string }> {
  return new Promise((done) => {
    const child = spawn(
      process.execPath,
      [
        join(ROOT, "agent/bin/fleetwave.js"),
        "agent",
        "--repo",
        repo.bare,
        "--host",
        HOST,
        "--data-dir",
        dataDir,
        "--once",
      ],
      { cwd: ROOT, env: { ...process.env, DOCKER_HOST: engine.dockerHost, SMTP_URL: "" } },
    );
    let output = "";
    child.stdout.on("data", (d: Buffer) => {
      output += d;
    });
    child.stderr.on("data", (d: Buffer) => {
      output += d;
    });
    child.on("close", (code) => done({ code: code ?? 1, output }));
  });
}

function repoFor(bots: Tracked[]): Promise<FleetRepo> {
  return fleetRepo({
    image: `${v1.repository}:${v1.tag}`,
    tenants: [
      {
        tenant: TENANT,
        mode: "auto",
        hour: openHour(),
        contacts: [],
        bots: bots.map(({ bot }) => ({ id: bot.id, host: HOST, port: Number(bot.env.PORT) })),
      },
    ],
  });
}

/** The status file on the remote says each bot runs, on the digest it really runs. */
async function expectTruthfulStatus(e: Engine, repo: FleetRepo, bots: Tracked[]): Promise<void> {
  const status = statusSchema.parse(parseYaml(await remoteStatusFile(repo.bare, HOST)));
  expect(status.engine).toBeUndefined();
  for (const { bot } of bots) {
    const info = await e.docker.inspect(bot.id);
    expect(status.bots[bot.id], bot.id).toMatchObject({ state: "running", digest: containerDigest(info!) });
  }
}

describe("dockerd goes away during updates and the agent dies with it; agent --once converges", () => {
  it.each(SIGNALS)("dockerd %s at every step, and an idle bot the Engine did not restart", async (signal) => {
    const e = engineOn(await mkdtemp(join(tmpdir(), "fleetwave-faults-")));
    const tracked = await Promise.all(STEPS.map(() => running(e)));
    const idle = await running(e);
    const repo = await repoFor([...tracked, idle]);
    const children = await Promise.all(
      STEPS.map(([, phase], i) => holdAt(e.dataDir, tracked[i]!.bot, targetOf(phase).digest, phase)),
    );
    await engine.kill(signal);
    for (const child of children) await killChild(child);
    await engine.up();
    // The Engine may or may not have restarted the idle bot; one it did not is reconcile's to start.
    await e.docker.stop(idle.bot.id, 5);

    const once = await agentOnce(repo, e.dataDir);
    expect(once.code, once.output).toBe(0);
    await expectConverged(e, [...tracked, idle]);
    await expectTruthfulStatus(e, repo, [...tracked, idle]);
    await cleanUp(e, [...tracked, idle]);
  });
});

describe("the issue's leftovers, healed by agent --once", () => {
  it("revives the real <bot>.fleetwave-old and removes the fresh container created beside it", async () => {
    const e = engineOn(await mkdtemp(join(tmpdir(), "fleetwave-faults-")));
    const tracked = await running(e);
    const { bot } = tracked;
    const real = (await e.docker.inspect(bot.id))!;
    // What an older agent left after "rollback-failed … database not open": the old container
    // stopped and aside, its journal entry gone, and a fresh container at the old digest.
    await e.docker.stop(real.Id, 5);
    await e.docker.rename(real.Id, asideName(bot.id));
    const { repository } = splitImageRef(bot.image);
    const fresh = await e.docker.create(
      containerCreateOptions(bot, repository, v1.digest, { seedVolumes: false }),
    );
    const repo = await repoFor([tracked]);

    const once = await agentOnce(repo, e.dataDir);
    expect(once.code, once.output).toBe(0);
    expect((await e.docker.inspect(bot.id))?.Id, "the real old container runs under the bot's name").toBe(
      real.Id,
    );
    expect(await e.docker.inspect(fresh)).toBeUndefined();
    await expectConverged(e, [tracked]);
    await expectTruthfulStatus(e, repo, [tracked]);
    await cleanUp(e, [tracked]);
  });

  it("exits non-zero while a declared bot cannot be brought back, and says which", async () => {
    const e = engineOn(await mkdtemp(join(tmpdir(), "fleetwave-faults-")));
    const tracked = await running(e);
    await e.docker.stop(tracked.bot.id, 5);
    // fleet-state declares another health port than the one the container listens on.
    const repo = await repoFor([
      { ...tracked, bot: { ...tracked.bot, env: { PORT: String(await freePort()) } } },
    ]);

    const once = await agentOnce(repo, e.dataDir);
    expect(once.code, once.output).toBe(1);
    expect(once.output).toMatch(
      new RegExp(`down: ${tracked.bot.id}: the container had exited .*not healthy`),
    );
    expect(once.output).toMatch(/1 bots down/);
    const status = statusSchema.parse(parseYaml(await remoteStatusFile(repo.bare, HOST)));
    // It was started, but it does not answer where fleet-state says it must: not "running".
    expect(status.bots[tracked.bot.id]?.state).toBe("failed");
    await cleanUp(e, [tracked]);
  });
});

describe("the Engine is away when the agent runs", () => {
  it("touches no bot, says engine-unavailable since when in the status, and exits non-zero", async () => {
    const e = engineOn(await mkdtemp(join(tmpdir(), "fleetwave-faults-")));
    const tracked = await running(e);
    const repo = await repoFor([tracked]);
    await engine.kill("SIGTERM");
    try {
      const once = await agentOnce(repo, e.dataDir);
      expect(once.code, once.output).toBe(1);
      expect(once.output).toMatch(/error: the Docker Engine is unavailable since \S+; no bot was touched/);
      const status = statusSchema.parse(parseYaml(await remoteStatusFile(repo.bare, HOST)));
      expect(status.engine?.state).toBe("engine-unavailable");
      expect(Date.parse(status.engine!.since)).not.toBeNaN();
    } finally {
      await engine.up();
    }
    const again = await agentOnce(repo, e.dataDir);
    expect(again.code, again.output).toBe(0);
    await expectConverged(e, [tracked]);
    await expectTruthfulStatus(e, repo, [tracked]);
    await cleanUp(e, [tracked]);
  });
});
