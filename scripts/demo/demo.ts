/**
 * `fleetwave demo`: the whole pipeline on one machine, narrated step by step and checked as it
 * goes (so it doubles as a smoke test). Everything talks to 127.0.0.0/8 only: a private Docker
 * Engine and registry (scripts/test-env.sh), a bare git repository standing in for GitHub, and
 * an agent with its HTTP API on loopback.
 */
import { createWriteStream } from "node:fs";
import { readFile } from "node:fs/promises";
import { Agent } from "#fleetwave/agent/agent.ts";
import { DockerAdapter, dockerFromEnv } from "#fleetwave/docker/docker.ts";
import { createApp, parseApiTokens, serve } from "#fleetwave/http/index.ts";
import { createLogger } from "#fleetwave/log/logger.ts";
// The demo's bot images come from the integration tests' image builder: FROM scratch with
// Debian's static busybox, pushed to the local registry (nothing is pulled from the internet).
// Importing test support from scripts/ is deliberate: it is the one builder of such images.
import { buildTestImage, type TestBotBehaviour, type TestImage } from "../local-env/bot-image.ts";
import { removeDemoContainers } from "./containers.ts";
import { allBots, type Ctx, type DemoOptions, type Images, TOKEN, versionOf } from "./context.ts";
import { bringUpEnvironment, environmentRunning, readEnvironment } from "./environment.ts";
import { DEMO_HOST, demoTenants, fleetYaml, tenantYaml } from "./fleet.ts";
import { DemoError, type Narrator, narrator, seconds, shortDigest, table } from "./narrate.ts";
import { fleetwave } from "./run.ts";
import {
  expectClean,
  expectRunning,
  rollbackOneBot,
  rolloutV110,
  rolloutV120,
  showResults,
  writeNotes,
} from "./scenario.ts";
import {
  assertRemovable,
  commitAndPush,
  createWorkspace,
  releaseWorkspace,
  removeWorkspace,
  workspacePaths,
  writeFiles,
} from "./workspace.ts";

export const DEFAULT_DEMO_DIR = "/tmp/fleetwave-demo";
const TOKEN_SPEC = "demo:demo-token-0123456789";
/** How often a `--serve` demo reconciles, so pushes to fleet.git are picked up without a webhook. */
const SERVE_INTERVAL_MS = 15_000;

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
  // The repository starts as a new operator's does; the demo then tunes fleet.yaml for speed
  // and writes its tenants (on a real host, `fleetwave import` writes them from running containers).
  const init = await fleetwave(ws.operator, "init", "--image", images.channel);
  say.say("$ fleetwave init --image …/demo/paperclip:managed");
  if (init.code !== 0) throw new DemoError(`fleetwave init failed: ${init.stderr}`);
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
  const logger = createLogger({
    host: DEMO_HOST,
    format: "text",
    write: (line) => {
      logFile.write(line);
      if (o.verbose) o.out(`      agent> ${line.trimEnd()}`);
    },
  });
  const agent = new Agent({
    repo: ws.bare,
    host: DEMO_HOST,
    branch: "main",
    dataDir: ws.agentData,
    docker: new DockerAdapter(dockerFromEnv()),
    stopTimeoutSeconds: 5,
    logger,
  });
  ctx.agent = agent;
  await agent.start();
  const app = createApp(agent, {
    tokens: parseApiTokens(TOKEN_SPEC),
    webhookSecret: "demo-webhook-secret",
    log: (line) => logger.error(line),
  });
  ctx.server = await serve(app, { listen: "127.0.0.1:0" });
  say.ok(`agent for host ${DEMO_HOST} started; its API and dashboard listen on ${ctx.server.url}`);
  say.say(`data dir ${ws.agentData}, log ${ws.agentLog}`);
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

    say.step("One bot back to the version before: fleetwave rollback --previous");
    const pinned = await rollbackOneBot(full, bad.bot);

    say.step("Results");
    await showResults(full, bad.rollout);

    const took = seconds(performance.now() - started);
    o.out("");
    o.out(
      `Demo complete in ${took}: 5 bots created, 5 updated to v1.1.0 (1 by "Update now"), 1 bad update rolled back, ${pinned} rolled back by fleetwave rollback.`,
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
