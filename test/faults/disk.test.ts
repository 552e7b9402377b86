/**
 * A full data disk (issue 9, "full disk" row): the agent's data dir is a small tmpfs.
 * - Another writer fills the disk after the space check passed, so a snapshot hits ENOSPC: the bot ends
 *   running and healthy on its old digest, its volumes byte-for-byte as before, no snapshot and no
 *   partial left, and the outcome says the disk is full (not the space check's figures).
 * - An agent killed while writing a snapshot leaves a partial that, counted against the disk, would refuse
 *   every later update: the next attempt's space check removes it (killed again, one partial is left, not
 *   two), `snapshots list` shows it, and the next update removes it and goes through.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, statfs, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "#fleetwave/cli/testing.ts";
import { asideName } from "#fleetwave/docker/container-spec.ts";
import { containerDigest } from "#fleetwave/docker/docker.ts";
import { ensureBot } from "#fleetwave/engine/ensure-bot.ts";
import type { UpdateOutcome } from "#fleetwave/engine/outcome.ts";
import { updateBot } from "#fleetwave/engine/update-bot.ts";
import { MountpointSnapshotter } from "#fleetwave/engine/volume-snapshots.ts";
import type { FleetBot } from "#fleetwave/model/fleet-state.ts";
import { estimateVolumeBytes, SnapshotStore } from "#fleetwave/snapshot/index.ts";
import { buildTestImage, type TestImage } from "#scripts/local-env/bot-image.ts";
import { freePort } from "#scripts/local-env/engine.ts";
import { waitForHttp } from "../support/docker.ts";
import { engineFor, testBot } from "../support/engine-harness.ts";
import { createTrickyTree, treeManifest, writeSeededFile } from "../support/tree-manifest.ts";

type Engine = Awaited<ReturnType<typeof engineFor>>;

const MiB = 1 << 20;
let v1: TestImage;
let v2: TestImage;
let scratch: string;
const mounts: string[] = [];
const bots: FleetBot[] = [];

beforeAll(async () => {
  v1 = await buildTestImage({ version: "1.0.0" });
  v2 = await buildTestImage({ version: "2.0.0" });
  scratch = await mkdtemp(join(tmpdir(), "fleetwave-disk-fault-"));
});

afterAll(async () => {
  const engine = await engineFor({ dataDir: scratch });
  for (const bot of bots) {
    for (const name of [bot.id, asideName(bot.id)]) {
      const info = await engine.docker.inspect(name);
      if (info) await engine.docker.remove(info.Id).catch(() => undefined);
    }
    for (const volume of bot.volumes)
      await engine.docker.docker
        .getVolume(volume.name)
        .remove()
        .catch(() => undefined);
  }
  for (const mount of mounts) execFileSync("umount", [mount]);
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

/** A fresh tmpfs of `size` bytes as the agent's data dir. */
async function smallDisk(name: string, size: number): Promise<string> {
  const dir = join(scratch, name);
  await mkdir(dir);
  execFileSync("mount", ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir]);
  mounts.push(dir);
  return dir;
}

async function freeBytes(dir: string): Promise<number> {
  const fs = await statfs(dir);
  return fs.bavail * fs.bsize;
}

/**
 * A bot running v1 with two volumes: `bigBytes` of seeded data in one (the first when `bigFirst`) and
 * the tricky tree in the other.
 */
async function runningBot(engine: Engine, bigBytes: number, bigFirst = false): Promise<FleetBot> {
  const bot = testBot(await freePort(), ["data", "more"]);
  bots.push(bot);
  const ensured = await ensureBot(bot, v1.digest, engine);
  expect(ensured.action).toBe("created");
  const [big, tricky] = bigFirst ? [bot.volumes[0]!, bot.volumes[1]!] : [bot.volumes[1]!, bot.volumes[0]!];
  await createTrickyTree(await engine.docker.volumeMountpoint(tricky.name));
  await writeSeededFile(join(await engine.docker.volumeMountpoint(big.name), "big.bin"), "big", bigBytes);
  return bot;
}

async function volumeManifests(engine: Engine, bot: FleetBot) {
  const out = [];
  for (const volume of bot.volumes)
    out.push(await treeManifest(await engine.docker.volumeMountpoint(volume.name), { xattrs: true }));
  return out;
}

/** The invariant after the fault: `image` runs under the bot's name, healthy, nothing aside or journaled. */
async function expectRunningHealthy(engine: Engine, bot: FleetBot, image: TestImage) {
  const info = await engine.docker.inspect(bot.id);
  expect(info?.State.Running).toBe(true);
  expect(containerDigest(info!)).toBe(image.digest);
  expect(await engine.docker.inspect(asideName(bot.id))).toBeUndefined();
  const answer = await waitForHttp(bot.health!.url, 10_000);
  expect(answer.status).toBe(200);
  expect(JSON.parse(answer.body)).toEqual({ status: "ok", version: image.version });
  expect(await engine.journal.list()).toEqual([]);
}

describe("the data dir's disk fills up during a snapshot", () => {
  it("keeps the bot healthy on its old digest with its volumes intact, and says the disk is full", async () => {
    const dataDir = await smallDisk("filled", 48 * MiB);
    const engine = await engineFor({ dataDir, healthCheckTimeoutSeconds: 10, minHealthySeconds: 1 });
    const bot = await runningBot(engine, 12 * MiB);
    const before = await volumeManifests(engine, bot);

    // Another writer takes the disk while the second volume's snapshot is written, leaving 1 MiB: a tar
    // that starts it (after every space check passed) and then runs the real GNU tar.
    const count = join(scratch, "tar-runs");
    const filler = join(dataDir, "other-writer.bin");
    const tar = join(scratch, "filling-tar");
    await writeFile(
      tar,
      `#!/bin/sh
n=$(($(cat '${count}' 2>/dev/null || echo 0) + 1)); echo $n > '${count}'
if [ $n = 2 ]; then fallocate -l $(($(df --output=avail -B1 '${dataDir}' | tail -1) - ${MiB})) '${filler}'; fi
exec /usr/bin/tar "$@"
`,
    );
    await chmod(tar, 0o755);
    const store = new SnapshotStore({ dataDir, tarCommand: tar });
    const snapshots = new MountpointSnapshotter(engine.docker, store);
    const outcome = await updateBot(bot, v2.digest, { ...engine, snapshots });

    expect(outcome.result, outcome.reason).toBe("failed");
    expect(outcome.reason).toMatch(/^snapshot failed: the disk of the agent's data dir is full \(ENOSPC\)/);
    expect(outcome.reason).toMatch(
      /failed after [\d.]+ (KiB|MiB) \(\d+ bytes\) and the partial file was removed/,
    );
    expect(outcome.reason).toMatch(/free space on that disk .* or move the data dir to a larger disk/);
    expect(outcome.reason).not.toMatch(/needed|available/);
    expect(outcome.reason).toMatch(/the old container was restarted$/);
    await expectRunningHealthy(engine, bot, v1);
    expect(await volumeManifests(engine, bot)).toEqual(before);
    // The first volume's snapshot was released, the second's partial removed: nothing is left.
    expect(await readFile(count, "utf8")).toBe("2\n");
    expect(await readdir(engine.store.dir)).toEqual([]);

    // Once the other writer's file is gone, the same update goes through.
    await rm(filler);
    const retry = await updateBot(bot, v2.digest, engine);
    expect(retry.result, retry.reason).toBe("updated");
    await expectRunningHealthy(engine, bot, v2);
    expect(await volumeManifests(engine, bot)).toEqual(before);
  });
});

describe("an agent killed while writing a snapshot, twice", () => {
  let gate: string;
  const running = new Set<ChildProcess>();

  beforeAll(async () => {
    // A tar that hands over the whole archive and then never exits: the update child is killed while
    // its snapshot is still being written, with a partial as large as the volume's tar on disk.
    gate = join(scratch, "bin");
    await mkdir(gate);
    await writeFile(join(gate, "tar"), `#!/bin/sh\n/usr/bin/tar "$@"\nexec sleep 600\n`);
    await chmod(join(gate, "tar"), 0o755);
  });

  afterAll(() => {
    for (const child of running) if (child.pid) process.kill(-child.pid, "SIGKILL");
  });

  /** Runs one update in its own process group and kills the group once its partial is complete. */
  async function killedWhileSnapshotting(
    engine: Engine,
    bot: FleetBot,
    bytes: number,
    earlier: string[],
  ): Promise<void> {
    const input = {
      dataDir: engine.dataDir,
      bot,
      digest: v2.digest,
      healthCheckTimeoutSeconds: 10,
      minHealthySeconds: 1,
    };
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "test/support/update-child.ts", "update", JSON.stringify(input)],
      {
        env: { ...process.env, PATH: `${gate}:${process.env.PATH}` },
        stdio: "ignore",
        detached: true,
      },
    );
    running.add(child);
    let stderr = "";
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    let ended = false;
    const exited = new Promise((resolve) => child.once("exit", resolve)).then(() => {
      ended = true;
    });
    const partialDone = async () => {
      const names = await readdir(engine.store.dir).catch(() => [] as string[]);
      for (const name of names.filter((n) => n.endsWith(".tar.partial") && !earlier.includes(n))) {
        const size = (await stat(join(engine.store.dir, name)).catch(() => undefined))?.size ?? 0;
        if (size >= bytes) return true;
      }
      return false;
    };
    while (!(await partialDone())) {
      if (ended) throw new Error(`the update child ended before its snapshot was written: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    process.kill(-child.pid!, "SIGKILL");
    await exited;
    running.delete(child);
  }

  it("lists the leftover, and the next update removes it and goes through", async () => {
    // The bot is made first, so the disk can be sized to fit the update only without the leftover.
    const bot = await runningBot(await engineFor(), 8 * MiB, true);
    const setup = await engineFor();
    const estimates = await Promise.all(
      bot.volumes.map(async (v) =>
        estimateVolumeBytes({ kind: "mountpoint", path: await setup.docker.volumeMountpoint(v.name) }),
      ),
    );
    const needed = estimates[0]! + estimates[1]! + 16 * MiB; // the engine's check: both volumes, the margin
    const dataDir = await smallDisk("leftovers", needed + 4 * MiB);
    const engine = await engineFor({ dataDir, healthCheckTimeoutSeconds: 10, minHealthySeconds: 1 });
    const before = await volumeManifests(engine, bot);

    let partials: string[] = [];
    for (let kill = 0; kill < 2; kill += 1) {
      // Killed while the first volume's tar (8 MiB) is written in full but not yet finished.
      await killedWhileSnapshotting(engine, bot, 8 * MiB, partials);
      const input = { dataDir, bot, digest: v2.digest, healthCheckTimeoutSeconds: 10, minHealthySeconds: 1 };
      const recovered = spawnSync(
        process.execPath,
        ["--import", "tsx", "test/support/update-child.ts", "recover", JSON.stringify(input)],
        { encoding: "utf8", timeout: 120_000 },
      );
      const [outcome] = JSON.parse(recovered.stdout || "[]") as UpdateOutcome[];
      expect(outcome?.result, outcome?.reason ?? recovered.stderr).toBe("failed");
      await expectRunningHealthy(engine, bot, v1);
      // Leftovers do not pile up: the second attempt's space check removed the first one's partial.
      const now = (await readdir(engine.store.dir)).filter((n) => n.endsWith(".tar.partial"));
      expect(now).toHaveLength(1);
      expect(now).not.toEqual(partials);
      partials = now;
    }
    // Counted against the disk, the leftover would refuse every later update.
    expect(await freeBytes(dataDir)).toBeLessThan(needed);

    const list = await runCli(["snapshots", "list", "--data-dir", dataDir], scratch);
    for (const name of partials)
      expect(list.out).toMatch(new RegExp(`^${name}\\tpartial\\t\\d+\\t\\S+\\tleftover$`, "m"));

    const outcome = await updateBot(bot, v2.digest, engine);
    expect(outcome.result, outcome.reason).toBe("updated");
    await expectRunningHealthy(engine, bot, v2);
    expect(await volumeManifests(engine, bot)).toEqual(before);
    expect(await readdir(engine.store.dir)).toEqual([]);
  });
});
