/**
 * `fleetwave demo`: the whole pipeline on one machine, narrated step by step and checked as it
 * goes (so it doubles as a smoke test). Everything talks to 127.0.0.0/8 only: a private Docker
 * Engine and registry (scripts/test-env.sh), a bare git repository standing in for GitHub, and
 * an agent with its HTTP API on loopback.
 */
import { createWriteStream, type WriteStream } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type Docker from "dockerode";
import { parse as parseYaml } from "yaml";
import { Agent, type TickReport } from "../../agent/src/agent/agent.ts";
import { containerDigest, DockerAdapter, dockerFromEnv } from "../../agent/src/docker/docker.ts";
import type { UpdateOutcome } from "../../agent/src/engine/outcome.ts";
import {
  type AgentStatusView,
  createApp,
  parseApiTokens,
  type ServerHandle,
  serve,
} from "../../agent/src/http/index.ts";
import { statusSchema } from "../../agent/src/model/status.ts";
// The demo's bot images come from the integration tests' image builder: FROM scratch with
// Debian's static busybox, pushed to the local registry (nothing is pulled from the internet).
// Importing test support from scripts/ is deliberate: it is the one builder of such images.
import { buildTestImage, type TestBotBehaviour, type TestImage } from "../../test/support/images.ts";
import { execIn, removeDemoContainers } from "./containers.ts";
import { bringUpEnvironment, environmentRunning, readEnvironment } from "./environment.ts";
import { changelog, DEMO_HOST, type DemoTenant, demoTenants, fleetYaml, tenantYaml } from "./fleet.ts";
import { clip, DemoError, type Narrator, narrator, seconds, shortDigest, table } from "./narrate.ts";
import { fleetwave, git } from "./run.ts";
import {
  assertRemovable,
  commitAndPush,
  createWorkspace,
  pull,
  releaseWorkspace,
  removeWorkspace,
  type Workspace,
  workspacePaths,
  writeFiles,
} from "./workspace.ts";

export const DEFAULT_DEMO_DIR = "/tmp/fleetwave-demo";
const TOKEN_SPEC = "demo:demo-token-0123456789";
const TOKEN = "demo-token-0123456789";
const NOTES = "notes.txt";
/** How often a `--serve` demo reconciles, so pushes to fleet.git are picked up without a webhook. */
const SERVE_INTERVAL_MS = 15_000;

export interface DemoOptions {
  dir: string;
  /** Keep the agent and dashboard running until Ctrl-C. */
  serve: boolean;
  /** Print the agent's log lines as they happen (they always go to <dir>/agent.log). */
  verbose: boolean;
  out: (line: string) => void;
  err: (line: string) => void;
}

interface Images {
  repository: string;
  /** The channel every bot follows: `<registry>/demo/paperclip:managed`. */
  channel: string;
  v100: TestImage;
  v110: TestImage;
  v120: TestImage;
}

interface Ctx {
  o: DemoOptions;
  say: Narrator;
  ws: Workspace;
  docker: Docker;
  images: Images;
  tenants: DemoTenant[];
  agent?: Agent;
  server?: ServerHandle;
  logFile?: WriteStream;
}

/** `v1.1.0` for a digest the demo built, the short digest otherwise. */
function versionOf(images: Images, digest: string | null | undefined): string {
  for (const image of [images.v100, images.v110, images.v120])
    if (image.digest === digest) return `v${image.version}`;
  return shortDigest(digest);
}

const allBots = (tenants: DemoTenant[]) => tenants.flatMap((t) => t.bots);

// ------------------------------------------------------------------------------------------ steps

async function buildImages(say: Narrator, registry: string): Promise<Images> {
  const repository = `${registry}/demo/paperclip`;
  const specs: [string, string, TestBotBehaviour, string][] = [
    ["1.0.0", "managed", "healthy", "healthy; the channel tag every bot follows"],
    ["1.1.0", "1.1.0", "healthy", "healthy"],
    ["1.2.0", "1.2.0", "corrupt", "BAD: writes junk (incl. .a) into /data, then answers 500"],
  ];
  const built: TestImage[] = [];
  for (const [version, tag, behaviour, what] of specs) {
    const started = performance.now();
    const image = await buildTestImage({ version, behaviour, repository, tag });
    built.push(image);
    say.ok(
      `v${version}  ${`demo/paperclip:${tag}`.padEnd(24)} ${shortDigest(image.digest)}  ${what} (${seconds(performance.now() - started)})`,
    );
  }
  const [v100, v110, v120] = built as [TestImage, TestImage, TestImage];
  return { repository, channel: `${repository}:managed`, v100, v110, v120 };
}

async function createRepository(ctx: Ctx, registry: string): Promise<void> {
  const { ws, say, images, tenants } = ctx;
  await createWorkspace(ws);
  const hour = new Date().getUTCHours();
  const files: Record<string, string> = { "fleet-state/fleet.yaml": fleetYaml(registry, hour) };
  for (const t of tenants)
    files[`fleet-state/tenants/${t.tenant}.yaml`] = tenantYaml(t, images.channel, hour);
  await writeFiles(ws.operator, files);
  say.say(`remote ("GitHub"):  ${ws.bare}`);
  say.say(`operator's clone:   ${ws.operator}`);
  say.gap();
  say.block(
    table(
      ["TENANT", "MODE", "BOTS (host demo-host, port on 127.0.0.1)"],
      tenants.map((t) => [t.tenant, t.mode, t.bots.map((b) => `${b.id}:${b.port}`).join(", ")]),
    ),
    "      ",
  );
  say.gap();
  const validate = await fleetwave(ws.operator, "validate");
  say.say("$ fleetwave validate");
  say.block(validate.stdout + validate.stderr);
  if (validate.code !== 0) throw new DemoError("fleetwave validate rejected the demo's fleet-state");
  const commit = await commitAndPush(ws, "fleet-state: three tenants, five bots on demo-host");
  say.ok(`committed and pushed ${commit} "fleet-state: three tenants, five bots on demo-host"`);
}

async function startAgent(ctx: Ctx): Promise<void> {
  const { ws, say, o } = ctx;
  const logFile = createWriteStream(ws.agentLog, { flags: "a" });
  ctx.logFile = logFile;
  const log = (line: string) => {
    logFile.write(`${new Date().toISOString()} ${line}\n`);
    if (o.verbose) o.out(`      agent> ${line}`);
  };
  const agent = new Agent({
    repo: ws.bare,
    host: DEMO_HOST,
    branch: "main",
    dataDir: ws.agentData,
    docker: new DockerAdapter(dockerFromEnv()),
    stopTimeoutSeconds: 5,
    log,
  });
  ctx.agent = agent;
  await agent.start();
  const app = createApp(agent, {
    tokens: parseApiTokens(TOKEN_SPEC),
    webhookSecret: "demo-webhook-secret",
    log,
  });
  ctx.server = await serve(app, { listen: "127.0.0.1:0" });
  say.ok(`agent for host ${DEMO_HOST} started; its API and dashboard listen on ${ctx.server.url}`);
  say.say(`data dir ${ws.agentData}, log ${ws.agentLog}`);
}

function printOutcomes(ctx: Ctx, report: TickReport, waves: Map<string, number> = new Map()): void {
  for (const outcome of report.outcomes) {
    ctx.say.say(describeOutcome(ctx, outcome, waves.get(outcome.bot)));
    const phases = Object.entries(outcome.timings).map(([phase, ms]) => `${phase} ${seconds(ms ?? 0)}`);
    if (ctx.o.verbose && phases.length > 0) ctx.say.say(`    phases: ${phases.join(", ")}`);
  }
}

function describeOutcome(ctx: Ctx, outcome: UpdateOutcome, wave?: number): string {
  const at = wave === undefined ? "" : `wave ${wave}: `;
  const from = versionOf(ctx.images, outcome.from);
  const to = versionOf(ctx.images, outcome.to);
  switch (outcome.result) {
    case "updated":
      return `${at}${outcome.bot}  updated ${from} -> ${to} in ${seconds(outcome.durationMs)}`;
    case "rolled-back":
      return `${at}${outcome.bot}  ${to} failed, ROLLED BACK to ${from}: ${whyRolledBack(outcome.reason)}`;
    default:
      return `${at}${outcome.bot}  ${outcome.result}: ${outcome.reason}`;
  }
}

/** The engine's reason starts "rolled back to sha256:…: "; the demo says that part itself. */
const whyRolledBack = (reason: string) => reason.replace(/^rolled back to sha256:[0-9a-f]+: /, "");

/** Fails unless every listed bot's container runs, created from the expected image digest. */
async function expectRunning(ctx: Ctx, expected: Record<string, TestImage>): Promise<void> {
  const problems: string[] = [];
  for (const [bot, image] of Object.entries(expected)) {
    const info = await ctx.docker
      .getContainer(bot)
      .inspect()
      .catch(() => undefined);
    if (!info) {
      problems.push(`${bot} has no container`);
      continue;
    }
    const digest = containerDigest(info);
    if (digest !== image.digest)
      problems.push(`${bot} runs ${versionOf(ctx.images, digest)}, expected v${image.version}`);
    else if (!info.State.Running) problems.push(`${bot} is ${info.State.Status}, expected running`);
  }
  if (problems.length > 0) throw new DemoError(problems.join("; "));
}

function expectClean(report: TickReport, what: string): void {
  const problems = [...report.errors, ...report.failed];
  if (problems.length > 0) throw new DemoError(`${what}: ${problems.join("; ")}`);
}

async function writeNotes(ctx: Ctx): Promise<void> {
  for (const bot of allBots(ctx.tenants)) {
    const text = `Notes of ${bot.tenant} (${bot.id}), written while v1.0.0 ran. Every update and rollback must keep them.`;
    const result = await execIn(ctx.docker, bot.id, [
      "sh",
      "-c",
      `printf '%s\\n' "$1" > /data/${NOTES}`,
      "sh",
      text,
    ]);
    if (result.code !== 0)
      throw new DemoError(`writing ${NOTES} into ${bot.id}'s volume failed: ${result.stderr}`);
  }
  ctx.say.ok(`wrote /data/${NOTES} into every bot's data volume (a tenant's data, to watch through updates)`);
}

async function volumeListing(ctx: Ctx, bot: string): Promise<string[]> {
  const result = await execIn(ctx.docker, bot, ["ls", "-A", "/data"]);
  if (result.code !== 0) throw new DemoError(`listing ${bot}'s /data failed: ${result.stderr}`);
  return result.stdout.split("\n").filter(Boolean);
}

/** `fleetwave plan` in the operator's clone, committed and pushed; returns the rollout id. */
async function planRollout(
  ctx: Ctx,
  image: TestImage,
  notes: Parameters<typeof changelog>[1],
): Promise<string> {
  const { ws, say } = ctx;
  await pull(ws);
  const changelogPath = join(ws.dir, `changelog-${image.version}.json`);
  await writeFile(changelogPath, `${JSON.stringify(changelog(image.version, notes), null, 2)}\n`);
  const args = [
    "plan",
    "--image",
    ctx.images.channel,
    "--digest",
    image.digest,
    "--changelog",
    changelogPath,
  ];
  const result = await fleetwave(ws.operator, ...args);
  say.say(
    `$ fleetwave plan --image …/demo/paperclip:managed --digest ${shortDigest(image.digest)}… --changelog ${changelogPath}`,
  );
  say.block(result.stdout + result.stderr);
  if (result.code !== 0)
    throw new DemoError(`fleetwave plan for v${image.version} failed (exit ${result.code})`);
  const id = /Rollout plan (\S+)/.exec(result.stdout)?.[1];
  if (!id) throw new DemoError(`fleetwave plan printed no rollout id`);
  const commit = await commitAndPush(ws, `Roll out paperclip ${image.version} (rollout ${id})`);
  say.ok(`committed and pushed ${commit} "Roll out paperclip ${image.version} (rollout ${id})"`);
  return id;
}

function wavesOf(ctx: Ctx, rollout: string): Map<string, number> {
  const plan = ctx.agent?.rollout(rollout)?.plan;
  return new Map((plan?.targets ?? []).map((t) => [t.bot, t.wave]));
}

async function apiStatus(ctx: Ctx): Promise<AgentStatusView> {
  const response = await fetch(new URL("/api/status", ctx.server!.url), {
    signal: AbortSignal.timeout(10_000),
  });
  if (!response.ok) throw new DemoError(`GET /api/status answered ${response.status}`);
  return (await response.json()) as AgentStatusView;
}

async function remoteSubjects(ws: Workspace): Promise<string[]> {
  return (await git(ws.bare, "log", "--format=%s", "main")).split("\n").filter(Boolean);
}

async function until<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline)
      throw new DemoError(`timed out after ${timeoutMs / 1000}s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function rolloutV110(ctx: Ctx): Promise<void> {
  const { say, images } = ctx;
  const agent = ctx.agent!;
  const id = await planRollout(ctx, images.v110, {
    New: ["Export a conversation as Markdown"],
    Fixed: ["Saving twice no longer creates two tasks"],
  });
  say.say("agent: reconcile (a webhook or the poll interval would trigger this)");
  const report = await agent.reconcile(`demo: rollout ${id} pushed`);
  printOutcomes(ctx, report, wavesOf(ctx, id));
  expectClean(report, "the v1.1.0 rollout did not go cleanly");

  const auto = allBots(ctx.tenants.filter((t) => t.mode === "auto"));
  const manual = allBots(ctx.tenants.filter((t) => t.mode === "manual"));
  await expectRunning(ctx, {
    ...Object.fromEntries(auto.map((b) => [b.id, images.v110])),
    ...Object.fromEntries(manual.map((b) => [b.id, images.v100])),
  });
  say.ok(`auto tenants' bots run v1.1.0: ${auto.map((b) => b.id).join(", ")}`);
  const status = agent.status();
  for (const bot of manual) {
    const view = status.bots.find((b) => b.id === bot.id);
    if (view?.updateAvailable?.digest !== images.v110.digest)
      throw new DemoError(`${bot.id} (manual tenant) shows no "update available" for v1.1.0`);
    say.ok(
      `${bot.id} (manual tenant ${bot.tenant}) still runs v1.0.0: "update available", waiting for a person`,
    );
  }

  for (const bot of manual) {
    const url = new URL(`/api/bots/${bot.id}/update`, ctx.server!.url);
    say.say(`$ curl -X POST -H 'Authorization: Bearer ${TOKEN}' ${url}`);
    const response = await fetch(url, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ reason: "the tenant pressed Update now" }),
      signal: AbortSignal.timeout(10_000),
    });
    const body = await response.text();
    say.block(`HTTP ${response.status} ${body}`);
    if (response.status !== 202)
      throw new DemoError(`"Update now" for ${bot.id} answered ${response.status}`);
    const subject = `update now ${bot.id}`;
    await until(`${bot.id}'s "Update now" to be committed and pushed`, 90_000, async () => {
      const subjects = await remoteSubjects(ctx.ws);
      return subjects.some((s) => s.includes(subject)) ? true : undefined;
    });
    const view = agent.status().bots.find((b) => b.id === bot.id);
    if (view?.last?.result !== "updated" || view.last.to !== images.v110.digest)
      throw new DemoError(
        `"Update now" of ${bot.id} ended ${view?.last?.result ?? "nowhere"}: ${view?.last?.reason ?? ""}`,
      );
    say.say(
      `${bot.id}  updated ${versionOf(images, view.last.from)} -> v1.1.0 in ${seconds(view.last.durationMs)} (actor: ${view.last.actor ?? "?"})`,
    );
  }
  await expectRunning(ctx, Object.fromEntries(allBots(ctx.tenants).map((b) => [b.id, images.v110])));
  say.ok("every bot runs v1.1.0");
}

async function rolloutV120(ctx: Ctx): Promise<string> {
  const { say, images } = ctx;
  const agent = ctx.agent!;
  const id = await planRollout(ctx, images.v120, {
    Improved: ["Faster search (this build is the demo's bad one)"],
  });
  say.say("agent: reconcile");
  const report = await agent.reconcile(`demo: rollout ${id} pushed`);
  printOutcomes(ctx, report, wavesOf(ctx, id));
  if (report.errors.length > 0)
    throw new DemoError(`the v1.2.0 reconcile failed: ${report.errors.join("; ")}`);

  const rolledBack = report.outcomes.filter((o) => o.result === "rolled-back");
  const first = rolledBack[0];
  if (!first || rolledBack.length !== 1 || report.outcomes.length !== 1) {
    throw new DemoError(
      `expected exactly one bot rolled back and no other update, got: ${report.outcomes.map((o) => `${o.bot} ${o.result}`).join(", ") || "nothing"}`,
    );
  }
  const view = agent.rollout(id);
  if (view?.control.state !== "aborted" || view.progress?.state !== "aborted")
    throw new DemoError(`rollout ${id} is ${view?.control.state}/${view?.progress?.state}, expected aborted`);
  say.ok(`rollout ${id} aborted at the failure threshold (1); no other bot was touched`);
  await expectRunning(ctx, Object.fromEntries(allBots(ctx.tenants).map((b) => [b.id, images.v110])));
  say.ok(`${first.bot} is back on v1.1.0 and healthy; every other bot stayed on v1.1.0`);

  const listing = await volumeListing(ctx, first.bot);
  const notes = await execIn(ctx.docker, first.bot, ["cat", `/data/${NOTES}`]);
  say.say(`$ docker exec ${first.bot} ls -A /data   ->  ${listing.join(" ")}`);
  say.say(`$ docker exec ${first.bot} cat /data/${NOTES}   ->  ${notes.stdout.trim()}`);
  if (listing.includes(".a") || listing.length !== 1 || listing[0] !== NOTES)
    throw new DemoError(`${first.bot}'s volume was not restored exactly: /data has ${listing.join(", ")}`);
  if (!notes.stdout.startsWith(`Notes of `))
    throw new DemoError(`${first.bot}'s ${NOTES} was not restored: ${notes.stdout.trim()}`);
  say.ok(
    `volume restored exactly: ${NOTES} intact, v1.2.0's junk (.a, ..b, junk-1.2.0, corrupted-1.2.0/) gone`,
  );
  return id;
}

async function showResults(ctx: Ctx, badRollout: string): Promise<void> {
  const { say, ws, images } = ctx;
  const api = await apiStatus(ctx);
  say.say(`GET ${ctx.server!.url}/api/status`);
  say.block(
    table(
      ["BOT", "TENANT", "MODE", "VERSION", "DIGEST", "STATE", "LAST", "REASON"],
      api.bots.map((b) => [
        b.id,
        b.tenant,
        b.updateMode,
        versionOf(images, b.digest),
        shortDigest(b.digest),
        b.state,
        b.last?.result ?? "-",
        clip(
          b.last?.result === "updated"
            ? b.last.actor
              ? `Update now by ${b.last.actor}`
              : ""
            : whyRolledBack(b.last?.reason ?? ""),
          72,
        ),
      ]),
    ),
  );
  const status = statusSchema.parse(
    parseYaml(await git(ws.bare, "show", `main:fleet-state/status/${DEMO_HOST}.yaml`)),
  );
  if (!status.quarantine.some((q) => q.digest === images.v120.digest && q.rollout === badRollout))
    throw new DemoError(`v1.2.0 is not quarantined in the remote's status/${DEMO_HOST}.yaml`);
  say.ok(`v1.2.0 is quarantined in status/${DEMO_HOST}.yaml: no new plan may target it`);

  await pull(ws);
  const history = await fleetwave(ws.operator, "history");
  say.gap();
  say.say("$ fleetwave history        (the audit table, read from the git log's trailers)");
  say.block(history.stdout + history.stderr);
  if (history.code !== 0) throw new DemoError(`fleetwave history failed (exit ${history.code})`);
  for (const needle of ["rolled-back", "updated"])
    if (!history.stdout.includes(needle)) throw new DemoError(`fleetwave history shows no "${needle}" row`);

  say.gap();
  say.say(`$ git -C ${ws.bare} log --oneline      (the remote: every change, by people and by the agent)`);
  say.block(await git(ws.bare, "log", "--oneline", "main"));
}

// ------------------------------------------------------------------------------------------ entry

async function shutdown(ctx: Partial<Ctx>): Promise<void> {
  await ctx.server?.close(1000).catch(() => undefined);
  await ctx.agent?.stop().catch(() => undefined);
  await new Promise<void>((done) => (ctx.logFile ? ctx.logFile.end(done) : done()));
}

async function serveUntilInterrupted(ctx: Ctx): Promise<void> {
  const agent = ctx.agent!;
  const timer = setInterval(() => agent.requestReconcile("demo: interval"), SERVE_INTERVAL_MS);
  await new Promise<void>((done) => {
    process.once("SIGINT", done);
    process.once("SIGTERM", done);
  });
  clearInterval(timer);
  ctx.o.out("\nstopping the agent and the dashboard …");
}

export async function runDemo(o: DemoOptions): Promise<number> {
  const started = performance.now();
  const say = narrator(o.out);
  const ws = workspacePaths(o.dir);
  let ctx: Partial<Ctx> = { o, say, ws };
  try {
    await assertRemovable(ws.dir);
    say.step("Local environment: a private Docker Engine and a registry on 127.0.0.1");
    const env = await bringUpEnvironment(say);
    const docker = dockerFromEnv();
    say.ok(`DOCKER_HOST=${env.dockerHost}  FLEETWAVE_REGISTRY=${env.registry}`);

    say.step(`Bot images in the local registry (${env.registry}/demo/paperclip)`);
    const images = await buildImages(say, env.registry);

    say.step(`GitOps repository in ${ws.dir}`);
    if (await removeWorkspace(ws.dir)) say.say("removed the previous demo workspace");
    const removed = await removeDemoContainers(docker);
    if (removed.containers.length > 0 || removed.volumes.length > 0)
      say.say(
        `removed the previous demo's ${removed.containers.length} containers and ${removed.volumes.length} volumes`,
      );
    const full: Ctx = { o, say, ws, docker, images, tenants: await demoTenants() };
    ctx = full;
    await createRepository(full, env.registry);

    say.step("Agent: first reconcile creates the bots at v1.0.0");
    await startAgent(full);
    const first = await full.agent!.reconcile("demo: first start");
    for (const bot of full.agent!.status().bots)
      say.say(
        `${bot.id}  created at ${versionOf(images, bot.last?.to)}: ${bot.last?.result ?? "?"} in ${seconds(bot.last?.durationMs ?? 0)}`,
      );
    expectClean(first, "creating the bots failed");
    await expectRunning(full, Object.fromEntries(allBots(full.tenants).map((b) => [b.id, images.v100])));
    say.ok('all five bots run v1.0.0 and answer /health with {"status":"ok"}');
    await writeNotes(full);

    say.step('Good release v1.1.0: rolling waves for auto tenants, "Update now" for the manual one');
    await rolloutV110(full);

    say.step("Bad release v1.2.0: health gate fails, volume restored, rollout aborted");
    const bad = await rolloutV120(full);

    say.step("Results");
    await showResults(full, bad);

    const took = seconds(performance.now() - started);
    o.out("");
    o.out(
      `Demo complete in ${took}: 5 bots created, 5 updated to v1.1.0 (1 by "Update now"), 1 bad update rolled back.`,
    );
    o.out(`  dashboard  ${full.server!.url}/   (API token: ${TOKEN}, actor "demo")`);
    o.out(`  workspace  ${ws.dir}   (operator clone: ${ws.operator})`);
    o.out("  clean up   npm run demo -- --clean   (the demo's containers, volumes and workspace)");
    if (o.serve) {
      o.out("");
      o.out("Serving the agent and its dashboard until Ctrl-C. Edit fleet-state in the operator clone,");
      o.out(`commit and push: the agent reconciles every ${SERVE_INTERVAL_MS / 1000}s.`);
      await serveUntilInterrupted(full);
    } else {
      o.out(
        "The agent and its dashboard stop now; `npm run demo -- --serve` keeps them running until Ctrl-C.",
      );
    }
    return 0;
  } catch (error) {
    const message = error instanceof DemoError ? error.message : ((error as Error).stack ?? String(error));
    o.err("");
    o.err(`fleetwave demo: FAILED at step "${say.current()}":`);
    o.err(`  ${message}`);
    const log = ctx.agent ? await readFile(ws.agentLog, "utf8").catch(() => "") : "";
    if (log) {
      o.err(`last lines of ${ws.agentLog}:`);
      for (const line of log.trimEnd().split("\n").slice(-25)) o.err(`  ${line}`);
    }
    return 1;
  } finally {
    await shutdown(ctx);
    await releaseWorkspace(ws).catch(() => undefined);
  }
}

/** `fleetwave demo --clean`: the demo's containers, volumes and workspace. */
export async function cleanDemo(o: DemoOptions): Promise<number> {
  const ws = workspacePaths(o.dir);
  try {
    await assertRemovable(ws.dir);
    if (await environmentRunning()) {
      const env = await readEnvironment();
      process.env.DOCKER_HOST = env.dockerHost;
      const removed = await removeDemoContainers(dockerFromEnv());
      o.out(
        `removed ${removed.containers.length} demo containers and ${removed.volumes.length} volumes from the engine at ${env.dockerHost}`,
      );
    } else {
      o.out("the demo's Docker Engine is not running: no containers or volumes to remove");
    }
    o.out((await removeWorkspace(ws.dir)) ? `removed the workspace ${ws.dir}` : `no workspace at ${ws.dir}`);
    o.out(
      "the engine, the registry and the demo images stay; `scripts/test-env.sh down --purge` removes them",
    );
    return 0;
  } catch (error) {
    o.err(`fleetwave demo --clean: ${error instanceof DemoError ? error.message : (error as Error).message}`);
    return 1;
  }
}
