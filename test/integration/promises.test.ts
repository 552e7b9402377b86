/**
 * What the README promises about one bot's update and had no test of its own: the gate's
 * fallbacks when a bot has no health URL, the allowlist refusal, snapshots kept after success
 * and restored with the CLI, and ACLs carried through a snapshot.
 */
import { execFileSync } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "#fleetwave/cli/testing.ts";
import { containerDigest } from "#fleetwave/docker/docker.ts";
import { ensureBot } from "#fleetwave/engine/ensure-bot.ts";
import { updateBot } from "#fleetwave/engine/update-bot.ts";
import type { FleetBot } from "#fleetwave/model/fleet-state.ts";
import { buildTestImage, type TestImage } from "#scripts/local-env/bot-image.ts";
import { freePort } from "#scripts/local-env/engine.ts";
import { removeContainersByLabel } from "../support/docker.ts";
import { engineFor, testBot } from "../support/engine-harness.ts";
import { treeManifest } from "../support/tree-manifest.ts";

type Engine = Awaited<ReturnType<typeof engineFor>>;

let v1: TestImage;
const created: FleetBot[] = [];

beforeAll(async () => {
  v1 = await buildTestImage({ version: "1.0.0" });
});

afterAll(async () => {
  await removeContainersByLabel("fleetwave.managed=true");
  const engine = await engineFor();
  for (const bot of created)
    for (const volume of bot.volumes)
      await engine.docker.docker
        .getVolume(volume.name)
        .remove()
        .catch(() => undefined);
});

async function botOn(engine: Engine, image: TestImage, change: Partial<FleetBot> = {}): Promise<FleetBot> {
  const bot = { ...testBot(await freePort()), ...change };
  created.push(bot);
  const ensured = await ensureBot(bot, image.digest, engine);
  expect(ensured.action).toBe("created");
  if (ensured.action === "created") expect(ensured.outcome.result, ensured.outcome.reason).toBe("updated");
  return bot;
}

async function runningDigest(engine: Engine, bot: FleetBot): Promise<string | undefined> {
  const info = await engine.docker.inspect(bot.id);
  return info?.State.Running ? containerDigest(info) : undefined;
}

describe("the health gate without a health URL", () => {
  it("lets the image's Docker HEALTHCHECK decide: healthy passes, unhealthy rolls back", async () => {
    const engine = await engineFor({ healthCheckTimeoutSeconds: 15, minHealthySeconds: 1 });
    const base = await buildTestImage({ version: "1.0.0", dockerHealthcheck: true });
    const good = await buildTestImage({ version: "2.0.0", dockerHealthcheck: true });
    const bad = await buildTestImage({ version: "2.0.0", behaviour: "unhealthy", dockerHealthcheck: true });
    const bot = await botOn(engine, base, { health: null });

    const failed = await updateBot(bot, bad.digest, engine);
    expect(failed.result, failed.reason).toBe("rolled-back");
    expect(failed.reason).toMatch(/HEALTHCHECK|unhealthy/i);
    expect(await runningDigest(engine, bot)).toBe(base.digest);

    const passed = await updateBot(bot, good.digest, engine);
    expect(passed.result, passed.reason).toBe("updated");
    expect(await runningDigest(engine, bot)).toBe(good.digest);
  });

  it("without a HEALTHCHECK either, asks for running without restarts for minHealthySeconds", async () => {
    const engine = await engineFor({ healthCheckTimeoutSeconds: 15, minHealthySeconds: 2 });
    const crashing = await buildTestImage({ version: "2.0.0", behaviour: "crash-after 1" });
    const good = await buildTestImage({ version: "2.0.0" });
    const bot = await botOn(engine, v1, { health: null });

    const failed = await updateBot(bot, crashing.digest, engine);
    expect(failed.result, failed.reason).toBe("rolled-back");
    expect(await runningDigest(engine, bot)).toBe(v1.digest);

    const passed = await updateBot(bot, good.digest, engine);
    expect(passed.result, passed.reason).toBe("updated");
    expect(await runningDigest(engine, bot)).toBe(good.digest);
  });
});

describe("the engine's own checks", () => {
  it("refuses an image outside the allowlist before touching the bot", async () => {
    const engine = await engineFor({ allowlist: ["ghcr.io/acme/"] });
    const bot = await botOn(await engineFor(), v1);
    const startedAt = (await engine.docker.inspect(bot.id))!.State.StartedAt;
    const v2 = await buildTestImage({ version: "2.0.0" });
    const outcome = await updateBot(bot, v2.digest, engine);
    expect(outcome.result).toBe("failed");
    expect(outcome.reason).toMatch(/allowlist/);
    expect((await engine.docker.inspect(bot.id))!.State.StartedAt).toBe(startedAt);
    expect(await runningDigest(engine, bot)).toBe(v1.digest);
  });
});

describe("snapshots kept after a successful update", () => {
  it("keeps snapshots.keepAfterSuccess per volume; `fleetwave snapshots` lists, restores and prunes them", async () => {
    const engine = await engineFor({ keepSnapshots: 1 });
    const bot = await botOn(engine, v1);
    const mountpoint = await engine.docker.volumeMountpoint(bot.volumes[0]!.name);
    await writeFile(join(mountpoint, "notes.txt"), "before the update\n");
    const before = await treeManifest(mountpoint);

    const v2 = await buildTestImage({ version: "2.0.0" });
    expect((await updateBot(bot, v2.digest, engine)).result).toBe("updated");
    const listed = await runCli(["snapshots", "list", "--data-dir", engine.dataDir, "--format", "json"], "/");
    expect(listed.code, listed.err).toBe(0);
    const { snapshots } = JSON.parse(listed.out) as { snapshots: Array<{ id: string; volume: string }> };
    expect(snapshots.map((s) => s.volume)).toEqual([bot.volumes[0]!.name]);

    // A second update keeps only the newest one.
    expect((await updateBot(bot, v1.digest, engine)).result).toBe("updated");
    const kept = await engine.store.list({ bot: bot.id });
    expect(kept).toHaveLength(1);
    expect(kept[0]!.id).not.toBe(snapshots[0]!.id);

    // The admin's recovery steps from the rollback-failed email: stop, restore, start.
    await writeFile(join(mountpoint, "notes.txt"), "scribbled over\n");
    await engine.docker.docker.getContainer(bot.id).stop({ t: 1 });
    const restored = await runCli(
      ["snapshots", "restore", snapshots[0]!.id, "--data-dir", engine.dataDir],
      "/",
    );
    expect(restored.code, restored.err).toBe(1);
    expect(restored.err).toMatch(/not found|no snapshot/i);
    const restoredKept = await runCli(
      ["snapshots", "restore", kept[0]!.id, "--data-dir", engine.dataDir],
      "/",
    );
    expect(restoredKept.code, restoredKept.err).toBe(0);
    expect(await treeManifest(mountpoint)).toEqual(before);

    const pruned = await runCli(
      ["snapshots", "prune", "--data-dir", engine.dataDir, "--bot", bot.id, "--keep", "0"],
      "/",
    );
    expect(pruned.code, pruned.err).toBe(0);
    expect(pruned.out).toContain(kept[0]!.id);
    expect(await engine.store.list({ bot: bot.id })).toEqual([]);
  });
});

describe("ACLs", () => {
  it("survive a snapshot and a rollback on the direct path", async () => {
    const engine = await engineFor({ healthCheckTimeoutSeconds: 5, minHealthySeconds: 1 });
    const bot = await botOn(engine, v1);
    const mountpoint = await engine.docker.volumeMountpoint(bot.volumes[0]!.name);
    const file = join(mountpoint, "shared.txt");
    await writeFile(file, "shared with uid 1234\n");
    execFileSync("setfacl", ["-m", "u:1234:rw,g:2345:r", file]);
    execFileSync("setfacl", ["-d", "-m", "u:1234:rwx", mountpoint]);
    const acls = () => execFileSync("getfacl", ["-R", "--absolute-names", mountpoint], { encoding: "utf8" });
    const before = acls();
    expect(before).toContain("user:1234:rw-");

    const corrupt = await buildTestImage({ version: "2.0.0", behaviour: "corrupt" });
    const outcome = await updateBot(bot, corrupt.digest, engine);
    expect(outcome.result, outcome.reason).toBe("rolled-back");
    expect(acls()).toBe(before);
  });
});
