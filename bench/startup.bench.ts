/**
 * Start-up cost of the installed CLI: `fleetwave validate` on the sample fleet-state, run from the
 * build (dist/), against `node -e 0` in the same run; the source entry (agent/bin/fleetwave.js,
 * TypeScript through tsx) is measured too, as the "before". Rounds rotate the order of the arms.
 * Each process runs under GNU time for its peak RSS; wall time is measured around the spawn.
 *
 *   npx tsx bench/startup.bench.ts [--rounds N]     # builds dist/ first; needs /usr/bin/time
 *
 * Goal: validate ≤ 2.5× the wall time of `node -e 0` and ≤ 70 MB peak RSS.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { build } from "esbuild";
import { buildCommit, buildOptions, repoRoot } from "../scripts/build.ts";

const GOAL_RATIO = 2.5;
const GOAL_RSS_MB = 70;
const TIME = "/usr/bin/time";

const { values } = parseArgs({ options: { rounds: { type: "string", default: "11" } } });
const rounds = Math.max(2, Number(values.rounds));

interface Sample {
  wallMs: number;
  rssMb: number;
}

/** One run of `node <args>` under GNU time: wall time from here, peak RSS from time's %M (KiB). */
function measure(args: string[]): Promise<Sample> {
  return new Promise((done, fail) => {
    const started = performance.now();
    const child = spawn(TIME, ["-f", "%M", process.execPath, ...args], {
      cwd: repoRoot,
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => {
      stderr += d;
    });
    child.on("error", fail);
    child.on("close", (code) => {
      const wallMs = performance.now() - started;
      const kib = Number(stderr.trim().split("\n").at(-1));
      if (code !== 0 || !Number.isFinite(kib)) {
        fail(new Error(`node ${args.join(" ")} exited ${code}: ${stderr.trim()}`));
        return;
      }
      done({ wallMs, rssMb: kib / 1024 });
    });
  });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

if (!existsSync(TIME)) throw new Error(`${TIME} is missing: install Debian's time package`);
await build(buildOptions(buildCommit(repoRoot)));

const sample = join(repoRoot, "fleet-state");
const arms: { name: string; args: string[] }[] = [
  { name: "node -e 0", args: ["-e", "0"] },
  {
    name: "fleetwave validate (dist/)",
    args: [join(repoRoot, "dist/fleetwave.js"), "validate", "--state", sample],
  },
  {
    name: "fleetwave validate (source, tsx)",
    args: [join(repoRoot, "agent/bin/fleetwave.js"), "validate", "--state", sample],
  },
];
const samples = new Map(arms.map((a) => [a.name, [] as Sample[]]));
const load = loadavg()[0]!;
for (let round = 0; round < rounds; round++) {
  for (let i = 0; i < arms.length; i++) {
    const arm = arms[(round + i) % arms.length]!;
    const result = await measure(arm.args);
    // Round 0 warms the page cache and esbuild's/tsx's caches; it is not counted.
    if (round > 0) samples.get(arm.name)!.push(result);
  }
}

const base = median(samples.get("node -e 0")!.map((s) => s.wallMs));
console.log(
  `${rounds - 1} rounds (after a warm-up), load average ${load.toFixed(1)} → ${loadavg()[0]!.toFixed(1)}`,
);
console.log("| command | wall (median) | × node -e 0 | peak RSS (median) |");
console.log("| --- | ---: | ---: | ---: |");
for (const arm of arms) {
  const s = samples.get(arm.name)!;
  const wall = median(s.map((x) => x.wallMs));
  const rss = median(s.map((x) => x.rssMb));
  console.log(
    `| ${arm.name} | ${wall.toFixed(0)} ms | ${(wall / base).toFixed(2)}× | ${rss.toFixed(1)} MB |`,
  );
}
const built = samples.get(arms[1]!.name)!;
const ratio = median(built.map((x) => x.wallMs)) / base;
const rss = median(built.map((x) => x.rssMb));
console.log(
  `goal ≤ ${GOAL_RATIO}× and ≤ ${GOAL_RSS_MB} MB: ${ratio <= GOAL_RATIO && rss <= GOAL_RSS_MB ? "met" : "NOT met"} (${ratio.toFixed(2)}×, ${rss.toFixed(1)} MB)`,
);
