import { spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { asideName } from "#fleetwave/docker/container-spec.ts";
import { containerDigest } from "#fleetwave/docker/docker.ts";
import { ensureBot } from "#fleetwave/engine/ensure-bot.ts";
import { type FaultPoint, faultPoints } from "#fleetwave/engine/faults.ts";
import type { UpdateOutcome } from "#fleetwave/engine/outcome.ts";
import type { FleetBot } from "#fleetwave/model/fleet-state.ts";
import { buildTestImage, type TestImage } from "#scripts/local-env/bot-image.ts";
import { freePort } from "#scripts/local-env/engine.ts";
import { removeContainersByLabel, waitForHttp } from "../support/docker.ts";
import { engineFor, testBot } from "../support/engine-harness.ts";
import { createTrickyTree, treeManifest } from "../support/tree-manifest.ts";

let v1: TestImage;
let v2: TestImage;
let corrupt: TestImage;
const bots: FleetBot[] = [];

beforeAll(async () => {
  v1 = await buildTestImage({ version: "1.0.0" });
  v2 = await buildTestImage({ version: "2.0.0" });
  corrupt = await buildTestImage({ version: "2.0.4", behaviour: "corrupt" });
});

afterAll(async () => {
  await removeContainersByLabel("fleetwave.managed=true");
  const engine = await engineFor();
  for (const bot of bots)
    for (const v of bot.volumes)
      await engine.docker.docker
        .getVolume(v.name)
        .remove()
        .catch(() => undefined);
});

function child(mode: "update" | "recover", input: object, fault?: FaultPoint) {
  const result = spawnSync(
    process.execPath,
    ["--import", "tsx", "test/support/update-child.ts", mode, JSON.stringify(input)],
    {
      env: { ...process.env, ...(fault ? { FLEETWAVE_FAULT: fault } : {}) },
      encoding: "utf8",
      timeout: 120_000,
    },
  );
  return result;
}

/** Where each fault point is reached, and where the bot must end up after recover(). */
const cases: [FaultPoint, "v2" | "corrupt", "v1" | "v2"][] = faultPoints.map((point) => {
  if (point === "after-remove-new" || point === "after-restore") return [point, "corrupt", "v1"];
  if (point === "after-confirm") return [point, "v2", "v2"];
  return [point, "v2", "v1"];
});

describe("crash recovery", () => {
  it.each(cases)(
    "killed %s while updating to %s: recover() leaves the bot healthy on %s",
    async (fault, target, expected) => {
      const engine = await engineFor({ healthCheckTimeoutSeconds: 4, minHealthySeconds: 1 });
      const bot = testBot(await freePort());
      bots.push(bot);
      const ensured = await ensureBot(bot, v1.digest, engine);
      expect(ensured.action).toBe("created");
      const mount = await engine.docker.volumeMountpoint(bot.volumes[0]!.name);
      await createTrickyTree(mount);
      const before = await treeManifest(mount);
      const input = {
        dataDir: engine.dataDir,
        bot,
        digest: target === "v2" ? v2.digest : corrupt.digest,
        healthCheckTimeoutSeconds: 4,
        minHealthySeconds: 1,
      };

      const killed = child("update", input, fault);
      expect(killed.signal, `the child should die at ${fault}: ${killed.stdout}${killed.stderr}`).toBe(
        "SIGKILL",
      );
      expect((await engine.journal.list()).length, "an update in flight is journaled").toBe(
        fault === "after-pull" ? 0 : 1,
      );

      const first = child("recover", input);
      expect(first.status, first.stderr).toBe(0);
      const outcomes = JSON.parse(first.stdout) as UpdateOutcome[];
      if (fault !== "after-pull") expect(outcomes).toHaveLength(1);
      const again = child("recover", input);
      expect(JSON.parse(again.stdout)).toEqual([]);

      const image = expected === "v2" ? v2 : v1;
      const info = await engine.docker.inspect(bot.id);
      expect(info?.State.Running).toBe(true);
      expect(containerDigest(info!)).toBe(image.digest);
      expect(await engine.docker.inspect(asideName(bot.id))).toBeUndefined();
      const answer = await waitForHttp(bot.health!.url, 5000);
      expect(JSON.parse(answer.body)).toEqual({ status: "ok", version: image.version });
      expect(await treeManifest(mount)).toEqual(before);
      expect(await engine.journal.list()).toEqual([]);
      expect(await engine.store.list({ bot: bot.id })).toEqual([]);
      // A level-0 without its level-1 is no snapshot: recover() drops its files with the journal entry.
      expect(await engine.store.incomplete()).toEqual([]);
    },
  );
});
