/**
 * kill -9 of the real agent at seeded random moments of an update that succeeds and of one that rolls
 * back, with a 50 MB volume of tricky files; a restarted `agent --once` must leave the promise kept.
 *
 * Each trial: a fresh fleet repo with one bot, its volume filled from the tricky template, a plan to the
 * good (v2) or the corrupting (bad) image; the agent runs `--once`, and at `fraction × D` after its
 * journal first appears it is killed with its whole process group (as systemd does), D being the
 * calibrated life of the journal entry (the update or rollback itself) for that kind of update. Then
 * `agent --once` again, and the invariants of ./support/invariants.ts.
 *
 * Reproduce a run: FLEETWAVE_KILL_SEED=<seed from the test names> npx vitest run --project faults
 * test/faults/kill.test.ts (add -t "seed <seed>/<n>)" for one trial).
 */
import { randomInt } from "node:crypto";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, it } from "vitest";
import { DockerAdapter, dockerFromEnv } from "#fleetwave/docker/docker.ts";
import { buildTestImage, type TestImage } from "#scripts/local-env/bot-image.ts";
import { freePort } from "#scripts/local-env/engine.ts";
import { type FleetDecl, fleetRepo, openHour } from "../support/agent-harness.ts";
import { agentAuthor, OPERATOR, planInProcess, spawnAgent } from "./support/agent-process.ts";
import { checkInvariants, type InvariantReport } from "./support/invariants.ts";
import { seededFractions } from "./support/random.ts";
import { removeScope } from "./support/scope.ts";
import { copyTrickyVolume, createTrickyVolume, type TrickyVolume } from "./support/tricky-volume.ts";

const SEED = Number(process.env.FLEETWAVE_KILL_SEED ?? randomInt(1, 2 ** 31));
// Trials of each kind; raise it (FLEETWAVE_KILL_TRIALS) to search harder, e.g. after a change to recover().
const TRIALS_PER_KIND = Number(process.env.FLEETWAVE_KILL_TRIALS ?? 10);
const HOST = "host-a";
/** Trials at once: each is mostly waiting on the engine, git and a Node start. */
const CONCURRENCY = 3;
const PREFIX = `kill-${process.pid}`;
const docker = new DockerAdapter(dockerFromEnv());

type Kind = "update" | "rollback";
const fractions = seededFractions(SEED, 2 * TRIALS_PER_KIND);
const trials = fractions.map((fraction, i) => ({
  n: i + 1,
  kind: (i % 2 === 0 ? "update" : "rollback") as Kind,
  fraction: Number(fraction.toFixed(3)),
}));

let repository: string;
let v1: TestImage;
let v2: TestImage;
let bad: TestImage;
let volume: TrickyVolume;
let templateDir: string;
/** How long the journal entry of an uncut update lives, per kind (ms). */
const duration: Record<Kind, number> = { update: 0, rollback: 0 };

interface Figures {
  n: number;
  kind: Kind;
  fraction: number;
  phase: string;
  restartCode: number | null;
  report: InvariantReport;
}
const figures: Figures[] = [];

/** A semaphore: vitest's own limit would need the shared config. */
let free = CONCURRENCY;
const waiting: Array<() => void> = [];
async function slot<T>(work: () => Promise<T>): Promise<T> {
  if (free > 0) free -= 1;
  else await new Promise<void>((r) => waiting.push(r));
  try {
    return await work();
  } finally {
    const next = waiting.shift();
    if (next) next();
    else free += 1;
  }
}

beforeAll(async () => {
  repository = `${process.env.FLEETWAVE_REGISTRY}/fleetwave-kill/bot`;
  v1 = await buildTestImage({ version: "1.0.0", repository, tag: "managed" });
  v2 = await buildTestImage({ version: "2.0.0", repository });
  bad = await buildTestImage({ version: "2.0.4", behaviour: "corrupt", repository });
  templateDir = await mkdtemp(join(tmpdir(), "fleetwave-kill-template-"));
  volume = await createTrickyVolume(templateDir);
  // Both at once, as the trials run CONCURRENCY at a time: the durations are those of a loaded engine.
  const [update, rollback] = await Promise.all([trial(0, "update", null), trial(-1, "rollback", null)]);
  for (const [kind, run] of [
    ["update", update],
    ["rollback", rollback],
  ] as const) {
    if (run.report.violations.length > 0)
      throw new Error(`the uncut ${kind} broke the promise: ${run.report.violations.join("; ")}\n${run.log}`);
    duration[kind] = run.durationMs;
  }
}, 600_000);

afterAll(async () => {
  await removeScope(PREFIX);
  await rm(templateDir, { recursive: true, force: true });
  if (figures.length === 0) return;
  const sum = (f: (x: Figures) => number) => figures.reduce((s, x) => s + f(x), 0);
  const phases = new Map<string, number>();
  for (const f of figures) phases.set(f.phase, (phases.get(f.phase) ?? 0) + 1);
  console.log(
    [
      `kill -9 of the agent, seed ${SEED}: ${figures.length} trials ` +
        `(${figures.filter((f) => f.kind === "update").length} updates, ` +
        `${figures.filter((f) => f.kind === "rollback").length} rollbacks), volume ${volume.bytes} bytes`,
      `  calibrated: update ${duration.update} ms, rollback ${duration.rollback} ms (journal entry's life)`,
      `  killed in: ${[...phases].map(([p, c]) => `${p} ×${c}`).join(", ")}`,
      `  bots left down ${sum((f) => f.report.botsDown.length)}, bytes lost ${sum((f) => f.report.bytesLost)}, ` +
        `commits resurrected or foreign ${sum((f) => f.report.foreignCommits.length)}, ` +
        `violations ${sum((f) => f.report.violations.length)}`,
    ].join("\n"),
  );
});

/** The phase of the update in flight, from the journal (what the agent wrote last before the kill). */
async function journalPhase(dataDir: string): Promise<string | undefined> {
  const dir = join(dataDir, "journal");
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith(".json"));
  if (names.length === 0) return undefined;
  const text = await readFile(join(dir, names[0]!), "utf8").catch(() => "");
  try {
    return (JSON.parse(text) as { phase: string }).phase;
  } catch {
    return "unreadable";
  }
}

/** Polls until the journal has an entry (`present`) or none; false when the agent exited first. */
async function untilJournal(dataDir: string, present: boolean, exited: Promise<unknown>): Promise<boolean> {
  let done = false;
  void exited.then(() => {
    done = true;
  });
  for (;;) {
    const names = await readdir(join(dataDir, "journal")).catch(() => [] as string[]);
    if (names.some((n) => n.endsWith(".json")) === present) return true;
    if (done) return false;
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * One bot, one plan, one agent run killed at `fraction` of the calibrated duration (null: not killed),
 * a restarted `agent --once`, then the invariants.
 */
async function trial(n: number, kind: Kind, fraction: number | null) {
  const id = `${PREFIX}-${n < 0 ? "c" : ""}${String(Math.abs(n)).padStart(2, "0")}`;
  await removeScope(id);
  const bot = { id, host: HOST, port: await freePort() };
  const decl: FleetDecl = {
    image: `${repository}:managed`,
    tenants: [{ tenant: `t${n}`, mode: "auto", hour: openHour(), contacts: [], bots: [bot] }],
    strategy: { maxRetries: 0, failureThreshold: 1, healthCheckTimeoutSeconds: 3, minHealthySeconds: 1 },
  };
  const repo = await fleetRepo(decl);
  const dataDir = await mkdtemp(join(tmpdir(), `fleetwave-kill-${n}-`));
  try {
    await docker.docker.createVolume({ Name: `${id}-data` });
    await copyTrickyVolume(volume, await docker.volumeMountpoint(`${id}-data`));
    const target = kind === "update" ? v2 : bad;
    await planInProcess(repo, decl.image, target.digest);

    const first = spawnAgent({ repo: repo.bare, host: HOST, dataDir });
    const started = Date.now();
    const sawJournal = await untilJournal(dataDir, true, first.exited);
    const since = Date.now();
    let phase = "no kill";
    if (fraction !== null) {
      await new Promise((r) => setTimeout(r, fraction * duration[kind]));
      phase = (await journalPhase(dataDir)) ?? "after the journal closed";
      await first.kill();
    } else {
      await untilJournal(dataDir, false, first.exited);
    }
    const durationMs = Date.now() - since;
    const end = await first.exited;
    if (!sawJournal)
      throw new Error(`trial ${n}: the agent never journaled an update (${end.code}):\n${first.output()}`);
    if (fraction === null && end.code !== (kind === "update" ? 0 : 1))
      throw new Error(`trial ${n}: uncut run exited ${end.code}:\n${first.output()}`);

    const restart = spawnAgent({ repo: repo.bare, host: HOST, dataDir });
    const after = await restart.exited;
    const report = await checkInvariants({
      host: HOST,
      docker,
      scope: id,
      dataDir,
      bots: [
        {
          id,
          allowed: {
            [v1.digest]: { [`${id}-data`]: volume.manifest },
            // The good version does not write to its volume; the bad one never passes the gate.
            ...(kind === "update" ? { [v2.digest]: { [`${id}-data`]: volume.manifest } } : {}),
          },
          health: { url: `http://127.0.0.1:${bot.port}/health`, expectJson: { status: "ok" } },
        },
      ],
      remote: { url: repo.bare, agentAuthor: agentAuthor(HOST), otherAuthors: [OPERATOR] },
    });
    const log = `first run (${Date.now() - started} ms):\n${first.output()}\nrestart (${after.code}):\n${restart.output()}`;
    return { report, phase, restartCode: after.code, restartSignal: after.signal, durationMs, log };
  } finally {
    await removeScope(id);
    await rm(dataDir, { recursive: true, force: true });
    await rm(dirname(repo.bare), { recursive: true, force: true });
  }
}

describe(`kill -9 of the agent during updates and rollbacks (seed ${SEED})`, () => {
  it.concurrent.for(trials)(
    "trial $n: killed at $fraction of an uncut $kind, the restarted agent keeps the promise (seed " +
      `${SEED}/$n)`,
    // Waiting for a slot counts against the timeout.
    { timeout: 1_800_000 },
    async ({ n, kind, fraction }, { expect }) => {
      const result = await slot(() => trial(n, kind, fraction));
      figures.push({
        n,
        kind,
        fraction,
        phase: result.phase,
        restartCode: result.restartCode,
        report: result.report,
      });
      expect(result.restartSignal, result.log).toBeNull();
      expect(result.report.violations, `killed in "${result.phase}"\n${result.log}`).toEqual([]);
    },
  );
});
