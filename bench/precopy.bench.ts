/**
 * Downtime of an update (stop → first healthy answer) of a bot with a 1 GiB volume of mixed files,
 * with two-phase snapshots (pair) and with one full snapshot after the stop, against the same update
 * of a bot with no volume; GNU tar of the same volume; the level-0's cost to the running bot; and how
 * late the health gate notices bots that become healthy 1, 3 and 10 s after their start. One run.
 *
 *   bash scripts/test-env.sh up && eval "$(bash scripts/test-env.sh env)"
 *   npx tsx bench/precopy.bench.ts [--rounds 3] [--health-only | --stop-only]
 *
 * Each round runs four arms in an order rotated from round to round; the bots flip between two
 * healthy images (bench-1, bench-2), minHealthySeconds 0, durable snapshot store (fsyncs on):
 *   no-volume  updateBot of a bot without volumes (no snapshot at all): the baseline.
 *   pair       updateBot of the 1 GiB bot, precopy on. While its level-0 runs, 1% of the volume's
 *              bytes change (8 medium files rewritten, 100 small files appended to, 20 deleted, 20
 *              created), so the level-1 has real work.
 *   full       the same bot, precopy off: the same 1% changes just before the stop, then one full
 *              snapshot inside the downtime.
 *   tar        `tar -cf` of the volume's Mountpoint into the data dir + `sync -f` (the full
 *              snapshot's baseline, see bench/snapshot.bench.ts for the whole comparison).
 * Downtime is the engine's own outcome.downtimeMs (stop → first healthy probe).
 * A worker thread (its own event loop) probes the 1 GiB bot's /health every 10 ms: latency during
 * each level-0 against the 3 s before it. A second worker polls the no-volume bot every 2 ms during
 * the slow-start updates: the gate's detection delay is the engine's first OK minus the worker's.
 */
import { execFileSync } from "node:child_process";
import { mkdtemp, readdir, rm, unlink, writeFile } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { ensureBot } from "../agent/src/engine/ensure-bot.ts";
import type { Phase } from "../agent/src/engine/journal.ts";
import type { UpdateOutcome } from "../agent/src/engine/outcome.ts";
import { updateBot } from "../agent/src/engine/update-bot.ts";
import type { FleetBot } from "../agent/src/model/fleet-state.ts";
import { buildTestImage, type TestImage } from "../scripts/local-env/bot-image.ts";
import { freePort } from "../scripts/local-env/engine.ts";
import { engineFor, testBot } from "../test/support/engine-harness.ts";
import { seededBytes, writeSeededFile } from "../test/support/tree-manifest.ts";
import { generate } from "./mixed-volume.ts";

const roundsArg = process.argv.indexOf("--rounds");
const ROUNDS = roundsArg > 0 ? Number(process.argv[roundsArg + 1]) : 3;
/** `--health-only`: only the slow-start detection delays (no 1 GiB volume). */
const HEALTH_ONLY = process.argv.includes("--health-only");
/**
 * `--stop-only`: what data waiting for writeback on the Engine's disk costs a container's stop (the
 * stop unmounts the container's rootfs overlay, which syncs that filesystem), and what a `sync -f`
 * just before the stop saves: why a pair's level-0 ends with one.
 */
const STOP_ONLY = process.argv.includes("--stop-only");
const DIRTY_BYTES = 512 << 20;
const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
};

/** Probes a URL every `interval` ms; reports [start, latency ms, ok] of every probe. */
const PROBER = `
const { parentPort } = require("node:worker_threads");
let timer; let run = 0; const log = [];
const now = () => performance.timeOrigin + performance.now();
parentPort.on("message", async (m) => {
  run += 1;
  clearTimeout(timer);
  if (m.cmd === "start") {
    // A probe still in flight when its run is stopped neither logs nor schedules the next one.
    const mine = run;
    const tick = async () => {
      const t = now(); let ok = false;
      try { const r = await fetch(m.url, { signal: AbortSignal.timeout(2000) }); await r.text(); ok = r.status === 200; } catch {}
      if (mine !== run) return;
      log.push([t, now() - t, ok]);
      timer = setTimeout(tick, m.interval);
    };
    tick();
  } else parentPort.postMessage(log.splice(0));
});`;

class Prober {
  private readonly worker = new Worker(PROBER, { eval: true });
  start(url: string, interval: number) {
    this.worker.postMessage({ cmd: "start", url, interval });
  }
  stop(): Promise<[number, number, boolean][]> {
    return new Promise((resolve) => {
      this.worker.once("message", resolve);
      this.worker.postMessage({ cmd: "stop" });
    });
  }
  close() {
    return this.worker.terminate();
  }
}

/** 1% of the generated volume's bytes: rewrites, appends, deletions and creations. */
async function changeOnePercent(root: string, round: number, arm: string): Promise<void> {
  for (let f = 0; f < 8; f += 1)
    await writeFile(join(root, `medium/m${f * 29}.bin`), seededBytes(`${arm}-${round}-m${f}`, 1 << 20));
  const small = join(root, "small/007");
  const names = (await readdir(small)).sort();
  for (const name of names.slice(0, 100)) await writeFile(join(small, name), "appended\n", { flag: "a" });
  for (const name of names.slice(-20)) await unlink(join(small, name));
  for (let f = 0; f < 20; f += 1)
    await writeFile(join(small, `new-${arm}-${round}-${f}.dat`), seededBytes(`new-${f}`, 8192));
}

async function main(): Promise<void> {
  console.log(
    `cpus ${cpus().length}, load ${loadavg()
      .map((l) => l.toFixed(1))
      .join(" ")}`,
  );
  const phases: { phase: Phase; at: number }[] = [];
  let during: Promise<void> | undefined;
  let onPreCopy: (() => Promise<void>) | undefined;
  /** Called at "stopping": the pair arm stops its prober there, so the downtime has no extra load. */
  let onStopping: (() => Promise<void>) | undefined;
  const engine = await engineFor({
    healthCheckTimeoutSeconds: 60,
    minHealthySeconds: 0,
    onPhase: async (phase) => {
      phases.push({ phase, at: now() });
      if (phase === "pre-copying" && onPreCopy) during = onPreCopy();
      if (phase === "stopping" && during) await during;
      if (phase === "stopping" && onStopping) await onStopping();
    },
  });
  const images: TestImage[] = [
    await buildTestImage({ version: "bench-1" }),
    await buildTestImage({ version: "bench-2" }),
  ];
  const plain = testBot(await freePort(), [], `fwbench-plain-${process.pid}`);
  const heavy = testBot(await freePort(), ["data"], `fwbench-heavy-${process.pid}`);
  const bots: FleetBot[] = [plain, heavy];
  const work = await mkdtemp(join(tmpdir(), "fleetwave-precopy-bench-"));
  const prober = new Prober();
  try {
    for (const bot of bots) await ensureBot(bot, images[0]!.digest, engine);
    const on = new Map<string, number>(bots.map((b) => [b.id, 0]));
    if (STOP_ONLY) {
      await stopRounds();
      return;
    }
    if (!HEALTH_ONLY) await volumeRounds();
    async function stopRounds() {
      const file = join(work, "dirty.bin");
      const arms = ["clean", "512 MiB dirty", "512 MiB dirty, sync -f first"] as const;
      const stops: Record<string, number[]> = Object.fromEntries(arms.map((a) => [a, []]));
      const container = (await engine.docker.inspect(plain.id))!.Id;
      for (let round = 0; round < ROUNDS; round += 1) {
        for (let k = 0; k < arms.length; k += 1) {
          const arm = arms[(k + round) % arms.length]!;
          execFileSync("sync");
          // Not in the bot's volume: any file on the filesystem of the Engine's data root will do.
          if (arm !== "clean") await writeSeededFile(file, `dirty-${round}`, DIRTY_BYTES);
          if (arm === "512 MiB dirty, sync -f first") execFileSync("sync", ["-f", file]);
          const start = now();
          await engine.docker.stop(container, 10);
          stops[arm]!.push(now() - start);
          await engine.docker.start(container);
          await rm(file, { force: true });
          console.log(`round ${round + 1} ${arm}: stop ${stops[arm]!.at(-1)!.toFixed(0)} ms`);
        }
      }
      console.log(`\nstop of the bot without volumes, medians of ${ROUNDS} rounds:`);
      for (const arm of arms)
        console.log(`  ${arm.padEnd(30)} ${median(stops[arm]!).toFixed(0).padStart(6)} ms`);
    }
    async function volumeRounds() {
      const mount = await engine.docker.volumeMountpoint(heavy.volumes[0]!.name);
      const t0 = now();
      const generated = await generate(mount);
      console.log(
        `generated ${generated.files} files, ${generated.bytes} bytes in ${((now() - t0) / 1000).toFixed(1)} s`,
      );
      const flip = async (bot: FleetBot, precopy: boolean): Promise<UpdateOutcome> => {
        const next = (on.get(bot.id)! + 1) % 2;
        const outcome = await updateBot(bot, images[next]!.digest, { ...engine, precopy });
        if (outcome.result !== "updated") throw new Error(`${bot.id}: ${outcome.result}: ${outcome.reason}`);
        on.set(bot.id, next);
        return outcome;
      };

      const results: Record<string, number[]> = { "no-volume": [], pair: [], full: [], tar: [] };
      const snapshotPhase: Record<string, number[]> = { pair: [], full: [] };
      const precopyPhase: number[] = [];
      /** Each arm's engine timers (stop, snapshot, recreate, health), to tell where its downtime goes. */
      const timers: Record<string, Record<string, number[]>> = {};
      const keep = (arm: string, outcome: UpdateOutcome) => {
        const mine = timers[arm] ?? {};
        timers[arm] = mine;
        for (const [phase, ms] of Object.entries(outcome.timings)) mine[phase] = [...(mine[phase] ?? []), ms];
        return outcome;
      };
      const idleLatency: number[] = [];
      const level0Latency: number[] = [];
      const arms = ["no-volume", "pair", "full", "tar"] as const;
      for (let round = 0; round < ROUNDS; round += 1) {
        for (let k = 0; k < arms.length; k += 1) {
          const arm = arms[(k + round) % arms.length]!;
          phases.length = 0;
          during = undefined;
          onPreCopy = undefined;
          onStopping = undefined;
          // Every arm starts with nothing of the earlier arms left to write back (the tar arm's 1 GiB
          // file and its deletion, the full snapshot's tar, the generated volume), so no arm's downtime
          // pays for another's I/O.
          execFileSync("sync");
          if (arm === "no-volume") {
            results[arm]!.push(keep(arm, await flip(plain, true)).downtimeMs!);
          } else if (arm === "pair") {
            prober.start(heavy.health!.url, 10);
            const idleFrom = now();
            await sleep(3000);
            onPreCopy = () => changeOnePercent(mount, round, arm);
            let log: [number, number, boolean][] = [];
            // The latency is measured up to the stop; probing on through the downtime would load the
            // two cores and the new container (one shell per answer) in this arm only.
            onStopping = async () => {
              log = await prober.stop();
            };
            const outcome = keep(arm, await flip(heavy, true));
            onStopping = undefined;
            const from = phases.find((p) => p.phase === "pre-copying")!.at;
            const to = phases.find((p) => p.phase === "stopping")!.at;
            idleLatency.push(...log.filter(([t, , ok]) => ok && t >= idleFrom && t < from).map(([, l]) => l));
            level0Latency.push(
              ...log.filter(([t, l, ok]) => ok && t >= from && t + l <= to).map(([, l]) => l),
            );
            results[arm]!.push(outcome.downtimeMs!);
            snapshotPhase.pair!.push(outcome.timings.snapshot ?? 0);
            precopyPhase.push(outcome.timings.precopy ?? 0);
          } else if (arm === "full") {
            await changeOnePercent(mount, round, arm);
            const outcome = keep(arm, await flip(heavy, false));
            results[arm]!.push(outcome.downtimeMs!);
            snapshotPhase.full!.push(outcome.timings.snapshot ?? 0);
          } else {
            const file = join(engine.dataDir, "bench.tar");
            const start = now();
            execFileSync("tar", ["-cf", file, "-C", mount, "."]);
            execFileSync("sync", ["-f", file]);
            results[arm]!.push(now() - start);
            await rm(file);
          }
          console.log(`round ${round + 1} ${arm}: ${results[arm]!.at(-1)!.toFixed(0)} ms`);
        }
      }

      const base = median(results["no-volume"]!);
      console.log(`\nmedians of ${ROUNDS} rounds (ms):`);
      for (const arm of arms) {
        const m = median(results[arm]!);
        console.log(
          `  ${arm.padEnd(10)} ${m.toFixed(0).padStart(7)}  ×${(m / base).toFixed(2)} of no-volume`,
        );
      }
      console.log(
        `  pair: level-0 (before the stop) ${median(precopyPhase).toFixed(0)} ms, level-1 (in the downtime) ${median(snapshotPhase.pair!).toFixed(0)} ms; full snapshot ${median(snapshotPhase.full!).toFixed(0)} ms; tar -cf + sync ${median(results.tar!).toFixed(0)} ms`,
      );
      for (const [arm, phases] of Object.entries(timers))
        console.log(
          `  ${arm} timers (median ms): ${["stop", "snapshot", "recreate", "health"].map((p) => `${p} ${median(phases[p] ?? [0]).toFixed(0)}`).join(", ")}`,
        );
      const row = (xs: number[]) =>
        `p50 ${pct(xs, 50).toFixed(1)} p95 ${pct(xs, 95).toFixed(1)} p99 ${pct(xs, 99).toFixed(1)} max ${Math.max(...xs).toFixed(1)} (n=${xs.length})`;
      console.log(`  /health latency idle:      ${row(idleLatency)}`);
      console.log(`  /health latency level-0:   ${row(level0Latency)}`);
    }

    // Slow starters: how long after the app answers does the gate notice?
    console.log("\nhealth detection (engine's first OK − a 2 ms poller's first 200):");
    for (const seconds of [1, 3, 10]) {
      const slow = await buildTestImage({
        version: `bench-slow-${seconds}`,
        behaviour: `slow-start ${seconds}`,
      });
      phases.length = 0;
      prober.start(plain.health!.url, 2);
      const outcome = await updateBot(plain, slow.digest, { ...engine, precopy: true });
      const log = await prober.stop();
      if (outcome.result !== "updated") throw new Error(`slow ${seconds}: ${outcome.reason}`);
      const stoppedAt = phases.find((p) => p.phase === "stopping")!.at;
      const engineOk = stoppedAt + outcome.downtimeMs!;
      // The old container answers until its stop completes: the new one's first 200 follows a failure.
      const down = log.findIndex(([t, , ok]) => !ok && t > stoppedAt);
      const firstOk = log.slice(down).find(([, , ok]) => ok);
      const detection = firstOk ? engineOk - (firstOk[0] + firstOk[1]) : Number.NaN;
      console.log(
        `  healthy after ${seconds} s: downtime ${outcome.downtimeMs} ms, detection delay ${detection.toFixed(1)} ms`,
      );
      // Back to a regular image for the next one.
      await updateBot(plain, images[on.get(plain.id)!]!.digest, { ...engine, precopy: true });
    }
  } finally {
    await prober.close();
    for (const bot of bots) {
      const info = await engine.docker.inspect(bot.id);
      if (info)
        await engine.docker.docker
          .getContainer(info.Id)
          .remove({ force: true })
          .catch(() => undefined);
      for (const v of bot.volumes)
        await engine.docker.docker
          .getVolume(v.name)
          .remove()
          .catch(() => undefined);
    }
    await rm(work, { recursive: true, force: true });
    await rm(engine.dataDir, { recursive: true, force: true });
  }
}

await main();
