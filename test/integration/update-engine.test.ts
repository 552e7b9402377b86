import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { asideName } from "#fleetwave/docker/container-spec.ts";
import { containerDigest } from "#fleetwave/docker/docker.ts";
import { ensureBot } from "#fleetwave/engine/ensure-bot.ts";
import { updateBot } from "#fleetwave/engine/update-bot.ts";
import type { FleetBot } from "#fleetwave/model/fleet-state.ts";
import { buildTestImage, type TestImage } from "#scripts/local-env/bot-image.ts";
import { freePort } from "#scripts/local-env/engine.ts";
import { CHURN_SCRIPT } from "../support/churn.ts";
import { removeContainersByLabel, waitForHttp } from "../support/docker.ts";
import { engineFor, testBot } from "../support/engine-harness.ts";
import {
  createTrickyTree,
  type TreeManifest,
  treeManifest,
  writeSeededFile,
} from "../support/tree-manifest.ts";

type Engine = Awaited<ReturnType<typeof engineFor>>;

let v1: TestImage;
let v2: TestImage;
const created: FleetBot[] = [];

beforeAll(async () => {
  v1 = await buildTestImage({ version: "1.0.0" });
  v2 = await buildTestImage({ version: "2.0.0" });
});

afterAll(async () => {
  await removeContainersByLabel("fleetwave.managed=true");
  const engine = await engineFor();
  for (const bot of created) {
    for (const volume of bot.volumes)
      await engine.docker.docker
        .getVolume(volume.name)
        .remove()
        .catch(() => undefined);
  }
});

/** A bot running v1, its volumes filled with the tricky tree (first volume) and a marker (others). */
async function runningBot(engine: Engine, volumes: string[] = ["data"]): Promise<FleetBot> {
  const bot = testBot(await freePort(), volumes);
  created.push(bot);
  const ensured = await ensureBot(bot, v1.digest, engine);
  expect(ensured.action).toBe("created");
  if (ensured.action === "created") expect(ensured.outcome.result, ensured.outcome.reason).toBe("updated");
  for (const [i, volume] of bot.volumes.entries()) {
    const path = await engine.docker.volumeMountpoint(volume.name);
    if (i === 0) await createTrickyTree(path);
    else await writeFile(join(path, "second-volume.txt"), `volume ${volume.name}\n`);
  }
  return bot;
}

async function volumeManifests(engine: Engine, bot: FleetBot) {
  const out = [];
  for (const volume of bot.volumes)
    out.push(await treeManifest(await engine.docker.volumeMountpoint(volume.name)));
  return out;
}

/** The bot runs `image` under its own name, healthy, with no container left aside. */
async function expectRunning(engine: Engine, bot: FleetBot, image: TestImage) {
  const info = await engine.docker.inspect(bot.id);
  expect(info?.State.Running).toBe(true);
  expect(containerDigest(info!)).toBe(image.digest);
  expect(await engine.docker.inspect(asideName(bot.id))).toBeUndefined();
  const answer = await waitForHttp(bot.health!.url, 5000);
  expect(answer.status).toBe(200);
  expect(JSON.parse(answer.body)).toEqual({ status: "ok", version: image.version });
  expect(await engine.journal.list()).toEqual([]);
}

describe("updateBot", () => {
  it("moves a healthy v1 to healthy v2, pinned by digest, data untouched, snapshots dropped", async () => {
    const engine = await engineFor();
    const bot = await runningBot(engine);
    const before = await volumeManifests(engine, bot);
    const outcome = await updateBot(bot, v2.digest, engine);
    expect(outcome.result, outcome.reason).toBe("updated");
    expect(outcome.from).toBe(v1.digest);
    expect(outcome.downtimeMs).toBeGreaterThan(0);
    await expectRunning(engine, bot, v2);
    expect((await engine.docker.inspect(bot.id))?.Config.Image).toBe(`${v2.repository}@${v2.digest}`);
    expect(await volumeManifests(engine, bot)).toEqual(before);
    expect(await engine.store.list({ bot: bot.id })).toEqual([]);
  });

  it("updates an adopted container (started by tag, without Fleetwave's labels) from its image's digest", async () => {
    const engine = await engineFor();
    const bot = testBot(await freePort());
    created.push(bot);
    const container = await engine.docker.docker.createContainer({
      name: bot.id,
      Image: v1.ref,
      Env: [`PORT=${bot.env.PORT}`],
      HostConfig: {
        NetworkMode: "host",
        Mounts: [{ Type: "volume", Source: bot.volumes[0]!.name, Target: "/data" }],
      },
    });
    await container.start();
    await waitForHttp(bot.health!.url, 10_000);
    expect((await updateBot(bot, v1.digest, engine)).result).toBe("skipped");
    const outcome = await updateBot(bot, v2.digest, engine);
    expect(outcome.result, outcome.reason).toBe("updated");
    expect(outcome.from).toBe(v1.digest);
    await expectRunning(engine, bot, v2);
  });

  it("keeps a migration's changes when the new version is healthy", async () => {
    const engine = await engineFor();
    const migrate = await buildTestImage({ version: "2.1.0", behaviour: "migrate" });
    const bot = await runningBot(engine);
    const outcome = await updateBot(bot, migrate.digest, engine);
    expect(outcome.result, outcome.reason).toBe("updated");
    const path = await engine.docker.volumeMountpoint(bot.volumes[0]!.name);
    expect(await readdir(path)).toContain(".fleetwave-migrated-2.1.0");
    expect(await readFile(join(path, "schema-version"), "utf8")).toContain("2.1.0");
  });

  const bad: [string, Parameters<typeof buildTestImage>[0], RegExp][] = [
    ["unhealthy", { version: "2.0.1", behaviour: "unhealthy" }, /answered 500, expected 200/],
    ["never-listens", { version: "2.0.2", behaviour: "never-listens" }, /health check timed out after 4s/],
    ["crash-after 2", { version: "2.0.3", behaviour: "crash-after 2" }, /exited|restarted/],
    ["corrupt", { version: "2.0.4", behaviour: "corrupt" }, /answered 500/],
  ];

  it.each(bad)(
    "rolls back from %s: v1 runs healthy, every volume exactly as before",
    async (_name, image, reason) => {
      const engine = await engineFor({ healthCheckTimeoutSeconds: 4, minHealthySeconds: 3 });
      const broken = await buildTestImage(image);
      const bot = await runningBot(engine, ["data", "home"]);
      const before = await volumeManifests(engine, bot);
      const outcome = await updateBot(bot, broken.digest, engine);
      expect(outcome.result, outcome.reason).toBe("rolled-back");
      expect(outcome.reason).toMatch(reason);
      expect(outcome.reason).toMatch(/volumes restored/);
      await expectRunning(engine, bot, v1);
      const after = await volumeManifests(engine, bot);
      expect(after).toEqual(before);
      expect(after[0]!.entries.map((e) => e.path)).not.toContain(".a");
      expect(after[0]!.entries.map((e) => e.path)).not.toContain("..b");
      expect(await engine.store.list({ bot: bot.id })).toEqual([]);
    },
  );

  it.each([
    ["a pair (level-0 while it writes, level-1 after the stop)", true],
    ["one full snapshot after the stop (precopy off)", false],
  ])(
    "a writer inside the old container never stops: the rollback restores the volume as it was at the stop, through %s",
    async (_name, precopy) => {
      let path = "";
      let atStop: TreeManifest | undefined;
      const rounds: Record<string, number> = {};
      const pairs: boolean[] = [];
      const round = async () => Number(await readFile(join(path, "churn/round"), "utf8").catch(() => "0"));
      const engine = await engineFor({
        healthCheckTimeoutSeconds: 3,
        minHealthySeconds: 1,
        precopy,
        onPhase: async (phase, botId) => {
          rounds[phase] = await round();
          // Journaled after the stop, before the level-1 (or the full snapshot): the state to come back to.
          if (phase === "snapshotting") atStop = await treeManifest(path, { xattrs: true });
          if (phase === "renaming")
            for (const m of await engine.store.list({ bot: botId })) pairs.push(m.level1 !== undefined);
        },
      });
      const corrupt = await buildTestImage({ version: "2.0.4", behaviour: "corrupt" });
      const bot = await runningBot(engine);
      path = await engine.docker.volumeMountpoint(bot.volumes[0]!.name);
      // Enough data that the level-0 takes a while, so the writer is caught in the middle of it.
      await writeSeededFile(join(path, "bulk.bin"), "bulk", 24 << 20);
      const exec = await engine.docker.docker.getContainer(bot.id).exec({
        Cmd: ["sh", "-c", CHURN_SCRIPT, "churn", "/data"],
      });
      await exec.start({ Detach: true });
      for (;;) {
        if ((await round()) >= 3) break;
        await new Promise((r) => setTimeout(r, 10));
      }

      const outcome = await updateBot(bot, corrupt.digest, engine);
      expect(outcome.result, outcome.reason).toBe("rolled-back");
      expect(pairs).toEqual([precopy]);
      if (precopy) expect(rounds.stopping).toBeGreaterThan(rounds["pre-copying"]!);
      expect(await treeManifest(path, { xattrs: true })).toEqual(atStop);
      expect(atStop?.entries.map((e) => e.path)).toContain("churn/back");
      await expectRunning(engine, bot, v1);
      expect((await readdir(engine.store.dir)).filter((n) => n !== ".restore")).toEqual([]);
    },
  );

  it("fails without touching the bot when the digest cannot be pulled", async () => {
    const engine = await engineFor();
    const bot = await runningBot(engine);
    const startedAt = (await engine.docker.inspect(bot.id))!.State.StartedAt;
    const outcome = await updateBot(bot, `sha256:${"0".repeat(64)}`, engine);
    expect(outcome.result).toBe("failed");
    expect(outcome.reason).toMatch(/pull of .* failed/);
    expect(outcome.reason).toMatch(/not stopped/);
    const info = await engine.docker.inspect(bot.id);
    expect(info?.State.StartedAt).toBe(startedAt);
    await expectRunning(engine, bot, v1);
  });

  it("waits out a slow start within the timeout", async () => {
    const engine = await engineFor({ healthCheckTimeoutSeconds: 10, minHealthySeconds: 1 });
    const slow = await buildTestImage({ version: "2.2.0", behaviour: "slow-start 3" });
    const bot = await runningBot(engine);
    const outcome = await updateBot(bot, slow.digest, engine);
    expect(outcome.result, outcome.reason).toBe("updated");
    expect(outcome.timings.health).toBeGreaterThanOrEqual(3000);
  });

  it("fails before stopping anything when the snapshots would not fit", async () => {
    const small = join("/tmp", `fleetwave-tiny-${process.pid}`);
    await mkdir(small, { recursive: true });
    const { execFileSync } = await import("node:child_process");
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=2m", "tmpfs", small]);
    try {
      const engine = await engineFor({ dataDir: small });
      const bot = await runningBot(engine);
      const startedAt = (await engine.docker.inspect(bot.id))!.State.StartedAt;
      const outcome = await updateBot(bot, v2.digest, engine);
      expect(outcome.result).toBe("failed");
      expect(outcome.reason).toMatch(/space|InsufficientSpace|not enough/i);
      expect((await engine.docker.inspect(bot.id))?.State.StartedAt).toBe(startedAt);
      await expectRunning(engine, bot, v1);
    } finally {
      execFileSync("umount", [small]);
      await rm(small, { recursive: true, force: true });
    }
  });

  it("reports rollback-failed, keeping the snapshots, when the old container vanished", async () => {
    const engine = await engineFor({ healthCheckTimeoutSeconds: 3, minHealthySeconds: 1 });
    const unhealthy = await buildTestImage({ version: "2.0.1", behaviour: "unhealthy" });
    const bot = await runningBot(engine);
    const sabotage = setInterval(() => {
      // Racing the engine (and this interval itself) on one container: losing the race is fine.
      void engine.docker
        .inspect(asideName(bot.id))
        .then((old) => (old ? engine.docker.remove(old.Id) : undefined))
        .catch(() => undefined);
    }, 50);
    let outcome: Awaited<ReturnType<typeof updateBot>>;
    try {
      outcome = await updateBot(bot, unhealthy.digest, engine);
    } finally {
      clearInterval(sabotage);
    }
    expect(outcome.result).toBe("rollback-failed");
    expect(outcome.reason).toMatch(/answered 500/);
    expect(outcome.reason).toMatch(/rollback failed: the old container \w+ no longer exists/);
    expect(outcome.snapshots.length).toBe(1);
    expect((await engine.store.list({ bot: bot.id })).map((m) => m.id)).toEqual(outcome.snapshots);
    // The data is still recoverable from the kept snapshot.
    const restored = await engine.store.get(outcome.snapshots[0]!);
    expect(restored?.volume).toBe(bot.volumes[0]!.name);
  });
});
