/**
 * A 30-bot rollout in waves under maxParallel 4, the agent killed with SIGKILL mid-way (after a seeded
 * number of bots reached the new digest, with updates in flight), then `agent --once`: the rollout must
 * finish, every bot on the new digest or, where its update failed, on the old one with its volume as it
 * was, and the status file and the rollout's progress must say so.
 *
 * Three bots are made to fail: their health check expects version 1.0.0, so 2.0.0 rolls back.
 *
 * Reproduce: FLEETWAVE_ROLLOUT_KILL_SEED=<seed from the test name> npx vitest run --project faults
 * test/faults/rollout-kill.test.ts
 */
import { randomInt } from "node:crypto";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { DockerAdapter, dockerFromEnv } from "#fleetwave/docker/docker.ts";
import { buildTestImage, type TestImage } from "#scripts/local-env/bot-image.ts";
import { freePort } from "#scripts/local-env/engine.ts";
import { eventually, fleetRepo, fleetYaml, openHour } from "../support/agent-harness.ts";
import { createTrickyTree, type TreeManifest, treeManifest } from "../support/tree-manifest.ts";
import { agentAuthor, OPERATOR, planInProcess, spawnAgent } from "./support/agent-process.ts";
import { createDeclaredBots } from "./support/declared-bots.ts";
import { checkInvariants, type DeclaredBot } from "./support/invariants.ts";
import { mulberry32 } from "./support/random.ts";
import { removeScope } from "./support/scope.ts";
import { copyTree } from "./support/tricky-volume.ts";

const SEED = Number(process.env.FLEETWAVE_ROLLOUT_KILL_SEED ?? randomInt(1, 2 ** 31));
const HOST = "host-a";
const PREFIX = `rk-${process.pid}`;
const COUNT = 30;
const FAILING = new Set([5, 17, 26]);
const docker = new DockerAdapter(dockerFromEnv());

let repository: string;
let v1: TestImage;
let v2: TestImage;
let templateDir: string;
let template: TreeManifest;
let root: string | undefined;

beforeAll(async () => {
  repository = `${process.env.FLEETWAVE_REGISTRY}/fleetwave-rollout-kill/bot`;
  v1 = await buildTestImage({ version: "1.0.0", repository, tag: "managed" });
  v2 = await buildTestImage({ version: "2.0.0", repository });
  templateDir = await mkdtemp(join(tmpdir(), "fleetwave-rk-template-"));
  await createTrickyTree(templateDir);
  template = await treeManifest(templateDir, { xattrs: true });
});

afterAll(async () => {
  await removeScope(PREFIX);
  await rm(templateDir, { recursive: true, force: true });
  if (root) await rm(root, { recursive: true, force: true });
});

interface RkBot {
  id: string;
  port: number;
  failing: boolean;
}

function tenantFile(tenant: string, image: string, bots: RkBot[]): string {
  return stringify({
    tenant,
    update: { mode: "auto", preferredHourUtc: openHour() },
    contacts: [],
    bots: bots.map((b) => ({
      id: b.id,
      host: HOST,
      image,
      volumes: [{ name: `${b.id}-data`, path: "/data" }],
      env: { PORT: String(b.port) },
      network: "host",
      health: {
        url: `http://127.0.0.1:${b.port}/health`,
        expectJson: b.failing ? { status: "ok", version: "1.0.0" } : { status: "ok" },
      },
    })),
  });
}

const onV2 = async (ids: Set<string>) =>
  (await docker.listManaged()).filter((c) => ids.has(c.name) && c.labels["fleetwave.digest"] === v2.digest)
    .length;

describe(`a 30-bot rollout under maxParallel 4, the agent killed mid-way (seed ${SEED})`, () => {
  it("converges after a restart: every bot on the new digest or back where it failed, status truthful", async () => {
    const next = mulberry32(SEED);
    // Kill once this many bots reached 2.0.0 (and an update is in flight): anywhere from wave 1 to 4.
    const killAfter = 2 + Math.floor(next() * (COUNT - 8));
    const bots: RkBot[] = [];
    for (let i = 1; i <= COUNT; i++)
      bots.push({
        id: `${PREFIX}-${String(i).padStart(2, "0")}`,
        port: await freePort(),
        failing: FAILING.has(i),
      });
    const image = `${repository}:managed`;
    const files: Record<string, string> = {
      "fleet-state/fleet.yaml": fleetYaml({
        image,
        tenants: [],
        strategy: {
          batchPercent: 25,
          maxParallel: 4,
          pauseSeconds: 0,
          maxRetries: 0,
          failureThreshold: 10,
          healthCheckTimeoutSeconds: 3,
          minHealthySeconds: 1,
        },
      }),
    };
    for (let t = 0; t < 3; t++)
      files[`fleet-state/tenants/rk${t}.yaml`] = tenantFile(`rk${t}`, image, bots.slice(t * 10, t * 10 + 10));
    const repo = await fleetRepo({ image, tenants: [] });
    root = dirname(repo.bare);
    await repo.commit(files, "fleet-state: 30 bots on host-a");

    for (const b of bots) {
      await docker.docker.createVolume({ Name: `${b.id}-data` });
      await copyTree(templateDir, await docker.volumeMountpoint(`${b.id}-data`));
    }
    await createDeclaredBots(join(repo.work, "fleet-state"), HOST, v1.digest);
    const id = await planInProcess(repo, image, v2.digest);

    const dataDir = await mkdtemp(join(tmpdir(), "fleetwave-rk-"));
    const ids = new Set(bots.map((b) => b.id));
    const agent = spawnAgent({
      repo: repo.bare,
      host: HOST,
      dataDir,
      once: false,
      extra: ["--listen", `127.0.0.1:${await freePort()}`, "--interval", "1h"],
    });
    await eventually(
      async () => {
        const journal = await readdir(join(dataDir, "journal")).catch(() => [] as string[]);
        return journal.some((n) => n.endsWith(".json")) && (await onV2(ids)) >= killAfter ? true : undefined;
      },
      600_000,
      `${killAfter} bots on 2.0.0 with an update in flight`,
    );
    const inFlight = (await readdir(join(dataDir, "journal"))).filter((n) => n.endsWith(".json")).length;
    const updatedBeforeKill = await onV2(ids);
    await agent.kill();

    const restart = spawnAgent({ repo: repo.bare, host: HOST, dataDir });
    const after = await restart.exited;
    const log = `killed after ${updatedBeforeKill} bots on 2.0.0, ${inFlight} in flight\nfirst agent:\n${agent.output()}\nrestart (${after.code}):\n${restart.output()}`;

    const declared: DeclaredBot[] = bots.map((b) => ({
      id: b.id,
      allowed: {
        [v1.digest]: { [`${b.id}-data`]: template },
        ...(b.failing ? {} : { [v2.digest]: { [`${b.id}-data`]: template } }),
      },
      health: {
        url: `http://127.0.0.1:${b.port}/health`,
        expectJson: b.failing ? { status: "ok", version: "1.0.0" } : { status: "ok" },
      },
    }));
    const report = await checkInvariants({
      host: HOST,
      docker,
      scope: PREFIX,
      dataDir,
      bots: declared,
      remote: { url: repo.bare, agentAuthor: agentAuthor(HOST), otherAuthors: [OPERATOR] },
      rollouts: [{ id, to: v2.digest, targets: bots.map((b) => b.id), waves: 4 }],
    });
    const onOld = bots
      .filter((b) => !b.failing && report.containers[b.id]?.digest !== v2.digest)
      .map((b) => b.id);
    console.log(
      `rollout kill, seed ${SEED}: killed after ${updatedBeforeKill} of ${COUNT} bots on 2.0.0 with ${inFlight} ` +
        `in flight; restart exited ${after.code}; bots left down ${report.botsDown.length}, bytes lost ` +
        `${report.bytesLost}, commits resurrected or foreign ${report.foreignCommits.length}; healthy bots left ` +
        `on 1.0.0: ${onOld.length}`,
    );
    expect(after.signal, log).toBeNull();
    expect(report.violations, log).toEqual([]);
    // A bot whose update was cut short is rolled back and then updated again by the same rollout.
    expect(onOld, log).toEqual([]);
    await rm(dataDir, { recursive: true, force: true });
  }, 900_000);
});
