/**
 * Snapshot + restore of a 1 GiB volume of mixed files, against GNU tar of the same directory, in one run.
 *
 *   eval "$(scripts/test-env.sh env)"    # DOCKER_HOST of the private test engine (unix socket)
 *   npx tsx bench/snapshot.bench.ts      # FLEETWAVE_BENCH_REPS=5 for more repetitions (default 3)
 *
 * Every repetition runs, in turn:
 *   (a) baseline: `tar -cf` of the volume's Mountpoint to a file, then `tar -xf` into an empty directory;
 *   (b) direct path: SnapshotStore.snapshotVolume via the Mountpoint, then restoreVolume into the volume
 *       (verify sha256, empty the volume, extract, syncfs), with the default durability (fsyncs on);
 *   (c) archive path: snapshotVolume through the Engine archive API of a stopped container, then remove
 *       that container and restoreVolume through a carrier container (volume recreated, PUT archive).
 * Medians are reported with the ratios b/a and c/a. Page cache is warm for all three (the data was just
 * written and is read again each time); nothing here drops caches on a shared machine.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import type Dockerode from "dockerode";
import { dockerFromEnv } from "../agent/src/docker/docker.ts";
import { SnapshotStore } from "../agent/src/snapshot/index.ts";
import { generate } from "./mixed-volume.ts";

const GiB = 1 << 30;
const REPS = Number(process.env.FLEETWAVE_BENCH_REPS ?? 3);
const CARRIER_IMAGE = "fleetwave-bench/snapshot-carrier:1";
const MOUNT_PATH = "/data";

function sh(command: string, args: string[]): string {
  return execFileSync(command, args, { encoding: "utf8", maxBuffer: 1 << 26 }).trim();
}

function run(command: string, args: string[]): void {
  const result = spawnSync(command, args, { stdio: ["ignore", "ignore", "inherit"] });
  if (result.status !== 0) throw new Error(`${command} ${args.join(" ")} exited ${result.status}`);
}

/** Cheap content fingerprint of a tree (every path, size and the sha256 of one file in 50). */
async function fingerprint(root: string): Promise<string> {
  const hash = createHash("sha256");
  const walk = async (rel: string, index: { n: number }) => {
    for (const name of (await readdir(join(root, rel))).sort()) {
      const path = rel ? `${rel}/${name}` : name;
      const info = await stat(join(root, path));
      hash.update(`${path}:${info.size}:${info.mode}:${info.uid}\n`);
      if (info.isDirectory()) {
        await walk(path, index);
        continue;
      }
      index.n += 1;
      if (index.n % 50 === 0)
        hash.update(
          createHash("sha256")
            .update(await readFile(join(root, path)))
            .digest(),
        );
    }
  };
  await walk("", { n: 0 });
  return hash.digest("hex");
}

async function ensureCarrierImage(docker: Dockerode, work: string): Promise<void> {
  const exists = await docker
    .getImage(CARRIER_IMAGE)
    .inspect()
    .then(() => true)
    .catch(() => false);
  if (exists) return;
  // A rootfs with only /data: the carrier and the "bot" container are never started.
  const rootfs = join(work, "carrier-rootfs");
  await mkdir(join(rootfs, "data"), { recursive: true });
  run("tar", ["-C", rootfs, "-cf", join(work, "carrier.tar"), "."]);
  const [repo, tag] = CARRIER_IMAGE.split(":") as [string, string];
  const stream = await docker.importImage(join(work, "carrier.tar"), { repo, tag });
  await new Promise<void>((resolve, reject) =>
    docker.modem.followProgress(stream, (error: Error | null) => (error ? reject(error) : resolve())),
  );
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

/** CPU seconds of this process and of its waited-for children (tar, du, rm, sync): /proc/self/stat. */
function cpuSeconds(): number {
  const own = process.cpuUsage();
  const fields = readFileSync("/proc/self/stat", "utf8").split(") ")[1]?.split(" ") ?? [];
  // After the command name: state is field 3, so cutime and cstime (16, 17) are at 13 and 14 here.
  const children = (Number(fields[13]) + Number(fields[14])) / 100;
  return (own.user + own.system) / 1e6 + children;
}

let cpuLog: number[] | undefined;

async function timed<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const start = performance.now();
  const cpu = cpuSeconds();
  const value = await fn();
  cpuLog?.push(cpuSeconds() - cpu);
  return [(performance.now() - start) / 1000, value];
}

function machineFacts(work: string, docker: string): string[] {
  const df = sh("df", ["-hT", work]).split("\n")[1]?.split(/\s+/) ?? [];
  return [
    `cpus: ${cpus().length} × ${cpus()[0]?.model ?? "?"}, memory ${(totalmem() / GiB).toFixed(0)} GiB`,
    `filesystem of the data dir and the volume: ${df[1]} on ${df[0]} (${df[2]}, ${df[4]} free)`,
    `kernel ${sh("uname", ["-r"])}, ${sh("tar", ["--version"]).split("\n")[0]}, Docker Engine ${docker}, Node ${process.version}`,
  ];
}

async function main(): Promise<void> {
  if (!process.env.DOCKER_HOST?.startsWith("unix://")) {
    throw new Error('DOCKER_HOST must be the test engine\'s unix socket: eval "$(scripts/test-env.sh env)"');
  }
  const docker = dockerFromEnv();
  const version = (await docker.version()).Version;
  const work = await mkdtemp(join(tmpdir(), "fleetwave-snapshot-bench-"));
  const volume = `fleetwave-bench-snapshot-${process.pid}`;
  const containerName = `${volume}-bot`;
  const phases: Record<string, number[]> = {};
  let prefix = "";
  const store = new SnapshotStore({
    dataDir: join(work, "agent"),
    onPhase: (name, seconds) => phase(`${prefix} ${name}`, seconds),
  });
  const createBot = () =>
    docker.createContainer({
      name: containerName,
      Image: CARRIER_IMAGE,
      Entrypoint: ["/never-started"],
      HostConfig: {
        Mounts: [{ Type: "volume", Source: volume, Target: MOUNT_PATH } as Dockerode.MountSettings],
      },
    });
  const times = { a: [] as number[], aSync: [] as number[], b: [] as number[], c: [] as number[] };
  const cpu = { a: [] as number[], b: [] as number[], c: [] as number[] };
  const sum = (xs: number[]) => xs.reduce((x, y) => x + y, 0);
  const loads: number[] = [loadavg()[0]!];
  const phase = (name: string, seconds: number) => {
    phases[name] ??= [];
    phases[name]!.push(seconds);
  };
  try {
    await ensureCarrierImage(docker, work);
    await docker.createVolume({ Name: volume });
    const mountpoint = (await docker.getVolume(volume).inspect()).Mountpoint;
    const [genSeconds, generated] = await timed(() => generate(mountpoint));
    run("sync", ["--file-system", mountpoint]);
    const expected = await fingerprint(mountpoint);
    console.log(
      `generated ${generated.files} files, ${(generated.bytes / GiB).toFixed(3)} GiB in ${genSeconds.toFixed(1)} s`,
    );
    let bot = await createBot();

    for (let rep = 1; rep <= REPS; rep += 1) {
      // (a) GNU tar baseline.
      cpuLog = [];
      const baseTar = join(work, "baseline.tar");
      const baseDir = join(work, "baseline-extract");
      await mkdir(baseDir);
      const [aCreate] = await timed(async () => run("tar", ["-cf", baseTar, "-C", mountpoint, "."]));
      const [aSync1] = await timed(async () => run("sync", ["--file-system", baseTar]));
      const [aExtract] = await timed(async () => run("tar", ["-xf", baseTar, "-C", baseDir]));
      const [aSync2] = await timed(async () => run("sync", ["--file-system", baseDir]));
      times.a.push(aCreate + aExtract);
      times.aSync.push(aCreate + aSync1 + aExtract + aSync2);
      phase("a tar -cf", aCreate);
      phase("a tar -xf", aExtract);
      phase("a sync after each", aSync1 + aSync2);
      // CPU of tar -cf and tar -xf (the 1st and 3rd timed steps), without the syncs.
      cpu.a.push(cpuLog[0]! + cpuLog[2]!);
      if (rep === 1 && (await fingerprint(baseDir)) !== expected) throw new Error("baseline extract differs");
      await rm(baseDir, { recursive: true });
      await rm(baseTar);

      // (b) direct path.
      prefix = "b";
      cpuLog = [];
      const [bSnap, bManifest] = await timed(() =>
        store.snapshotVolume({
          volume,
          bot: "bench",
          imageDigest: null,
          via: { kind: "mountpoint", path: mountpoint },
        }),
      );
      const [bRestore] = await timed(() =>
        store.restoreVolume(bManifest.id, { kind: "mountpoint", path: mountpoint }),
      );
      // The volume is exact when restoreVolume returns; its previous contents are deleted in the background.
      cpu.b.push(sum(cpuLog));
      cpuLog = undefined;
      const [bPurge] = await timed(() => store.settled());
      times.b.push(bSnap + bRestore);
      phase("b snapshot", bSnap);
      phase("b restore", bRestore);
      phase("b background delete of the previous contents (after restore returned)", bPurge);
      if ((await fingerprint(mountpoint)) !== expected) throw new Error("direct-path restore differs");
      await store.remove(bManifest.id);

      // (c) archive path.
      prefix = "c";
      cpuLog = [];
      const [cSnap, cManifest] = await timed(() =>
        store.snapshotVolume({
          volume,
          bot: "bench",
          imageDigest: null,
          via: { kind: "archive", docker, container: bot.id, mountPath: MOUNT_PATH },
        }),
      );
      const [cRestore] = await timed(async () => {
        await bot.remove();
        await store.restoreVolume(cManifest.id, { kind: "archive", docker, carrierImage: CARRIER_IMAGE });
      });
      times.c.push(cSnap + cRestore);
      cpu.c.push(sum(cpuLog));
      cpuLog = undefined;
      loads.push(loadavg()[0]!);
      phase("c snapshot", cSnap);
      phase("c remove container + restore", cRestore);
      if ((await fingerprint(mountpoint)) !== expected) throw new Error("archive-path restore differs");
      await store.remove(cManifest.id);
      bot = await createBot();

      const last = (xs: number[]) => xs[xs.length - 1]!.toFixed(2);
      console.log(
        `rep ${rep}: a ${last(times.a)} s, a' ${last(times.aSync)} s, b ${last(times.b)} s, c ${last(times.c)} s`,
      );
    }

    const [a, aSync, b, c] = [median(times.a), median(times.aSync), median(times.b), median(times.c)];
    console.log(`\n${machineFacts(work, version).join("\n")}`);
    console.log(`\nmedians of ${REPS} alternating repetitions, 1 GiB, ${generated.files} files:`);
    const [ca, cb, cc] = [median(cpu.a), median(cpu.b), median(cpu.c)];
    const [lo, hi] = [Math.min(...loads), Math.max(...loads)];
    console.log(`load average (1 min) during the run: ${lo.toFixed(1)}–${hi.toFixed(1)}`);
    console.log("| run | wall (median) | wall / tar | CPU of agent + children (median) |");
    console.log("| --- | ---: | ---: | ---: |");
    const row = (name: string, wall: number, cpuSeconds: string) =>
      console.log(`| ${name} | ${wall.toFixed(2)} s | ${(wall / a).toFixed(2)} | ${cpuSeconds} |`);
    row("(a) GNU tar -cf + tar -xf", a, `${ca.toFixed(2)} s`);
    row("(a') the same, with `sync -f` after each", aSync, "");
    row("(b) direct path (Mountpoint)", b, `${cb.toFixed(2)} s`);
    row("(c) Engine archive API", c, `${cc.toFixed(2)} s + dockerd's`);
    // Repetitions alternate a, b, c, so a ratio within one repetition shares that moment's load.
    const paired = (xs: number[], ys: number[]) => median(xs.map((x, i) => x / ys[i]!)).toFixed(2);
    console.log(
      `\nmedian of per-repetition ratios: b/a ${paired(times.b, times.a)}, b/a' ${paired(times.b, times.aSync)}, ` +
        `c/a ${paired(times.c, times.a)}`,
    );
    console.log("\nphases (median seconds):");
    for (const [name, xs] of Object.entries(phases)) console.log(`  ${name}: ${median(xs).toFixed(2)}`);
  } finally {
    await docker
      .getContainer(containerName)
      .remove({ force: true })
      .catch(() => undefined);
    await docker
      .getVolume(volume)
      .remove()
      .catch(() => undefined);
    await rm(work, { recursive: true, force: true });
  }
}

await main();
