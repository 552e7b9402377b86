/**
 * Planning a large fleet: 10,000 bots in 2,000 tenants on 50 hosts, as YAML text files.
 * Times validation (buildFleetState) + planRollout, and the rendering of the plan, against a
 * baseline measured in the same process: parsing the same YAML with the `yaml` package alone.
 *
 *   npx tsx bench/plan.bench.ts [--runs N]
 *
 * Goal: validation + planning under 1 s on the project's 2-core machine.
 */
import { cpus, loadavg } from "node:os";
import { parseArgs } from "node:util";
import { parseDocument } from "yaml";
import { buildFleetState } from "../agent/src/model/fleet-state.ts";
import { planRollout } from "../agent/src/plan/planner.ts";
import { formatPlanSummary, renderRolloutYaml } from "../agent/src/plan/render.ts";
import { digestOf, IMAGE } from "../agent/src/plan/testing.ts";
import { median } from "./cpu.ts";
import { BOTS_PER_TENANT, HOSTS, syntheticFleet, TENANTS } from "./synthetic-fleet.ts";

const GOAL_MS = 1_000;

const { values } = parseArgs({ options: { runs: { type: "string", default: "7" } } });
const runs = Math.max(1, Number(values.runs));

/** Wall time, and CPU time of this process (less sensitive to other load on a shared machine). */
function time<T>(fn: () => T): { ms: number; cpuMs: number; value: T } {
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  const value = fn();
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  const used = process.cpuUsage(cpu);
  return { ms, cpuMs: (used.user + used.system) / 1e3, value };
}

const files = syntheticFleet();
const bytes = files.reduce((n, f) => n + Buffer.byteLength(f.text), 0);
const digest = digestOf("3f2a9c1b7e4d");
const now = new Date("2026-11-27T06:12:00Z");

type Phase = { wall: number[]; cpu: number[] };
const phase = (): Phase => ({ wall: [], cpu: [] });
const baseline = phase();
const validate = phase();
const plan = phase();
const render = phase();
const record = (p: Phase, t: { ms: number; cpuMs: number }) => {
  p.wall.push(t.ms);
  p.cpu.push(t.cpuMs);
};
let targets = 0;
let waves = 0;
for (let run = 0; run <= runs; run += 1) {
  const yamlOnly = time(() => {
    for (const file of files) parseDocument(file.text).toJS();
  });
  const built = time(() => buildFleetState(files));
  if (!built.value.ok)
    throw new Error(`synthetic fleet is invalid: ${JSON.stringify(built.value.problems.slice(0, 3))}`);
  const state = built.value.state;
  const planned = time(() => planRollout({ state, image: IMAGE, digest, now, basedOn: "bench" }));
  const rendered = time(() => {
    renderRolloutYaml(planned.value.plan);
    formatPlanSummary(planned.value.plan, planned.value.excluded, {
      fleet: state.fleet,
      tenants: state.tenants,
    });
  });
  targets = planned.value.plan.targets.length;
  waves = Math.max(...planned.value.plan.targets.map((t) => t.wave));
  if (run === 0) continue; // warm-up
  record(baseline, yamlOnly);
  record(validate, built);
  record(plan, planned);
  record(render, rendered);
}

const wall = (p: Phase) => median(p.wall);
const cpu = (p: Phase) => median(p.cpu);
const total = wall(validate) + wall(plan);
const totalCpu = cpu(validate) + cpu(plan);
const row = (label: string, p: { wall: number; cpu: number }, note = "") =>
  `  ${label.padEnd(36)} ${p.wall.toFixed(0).padStart(6)} ms wall ${p.cpu.toFixed(0).padStart(6)} ms cpu${note}`;
const ratio = (x: number) => `${(x / wall(baseline)).toFixed(2)}× baseline`;
console.log(
  `fleet: ${TENANTS} tenants, ${TENANTS * BOTS_PER_TENANT} bots, ${HOSTS} hosts, ${files.length} files, ${(bytes / 1e6).toFixed(1)} MB of YAML`,
);
console.log(`plan:  ${targets} targets in ${waves} waves`);
console.log(
  `machine: ${cpus().length} × ${cpus()[0]?.model ?? "unknown CPU"}, node ${process.version}, load ${loadavg()[0]?.toFixed(1)}`,
);
console.log(`median of ${runs} runs after one warm-up:`);
console.log(row("baseline: yaml parse + toJS only", { wall: wall(baseline), cpu: cpu(baseline) }));
console.log(
  row(
    "buildFleetState (parse + validate)",
    { wall: wall(validate), cpu: cpu(validate) },
    `  ${ratio(wall(validate))}`,
  ),
);
console.log(row("planRollout", { wall: wall(plan), cpu: cpu(plan) }));
console.log(
  row(
    "validate + plan",
    { wall: total, cpu: totalCpu },
    `  ${ratio(total)}; goal < ${GOAL_MS} ms: ${total < GOAL_MS ? "met" : "MISSED"}`,
  ),
);
console.log(row("render rollout YAML + summary", { wall: wall(render), cpu: cpu(render) }));
