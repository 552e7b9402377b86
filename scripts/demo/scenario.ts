/**
 * The demo's story after setup: a good release rolled out in waves, a bad one that rolls back
 * and stops at the threshold, and what the status, the audit trail and the API show afterwards.
 * Every step checks what it narrates.
 */

import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import type { TickReport } from "#fleetwave/agent/agent.ts";
import { containerDigest } from "#fleetwave/docker/docker.ts";
import type { UpdateOutcome } from "#fleetwave/engine/outcome.ts";
import type { AgentStatusView } from "#fleetwave/http/index.ts";
import { statusSchema } from "#fleetwave/model/status.ts";
import type { TestImage } from "../local-env/bot-image.ts";
import { execIn } from "./containers.ts";
import { allBots, type Ctx, NOTES, TOKEN, versionOf } from "./context.ts";
import { changelog, DEMO_HOST } from "./fleet.ts";
import { clip, DemoError, seconds, shortDigest, table } from "./narrate.ts";
import { fleetwave, git } from "./run.ts";
import { commitAndPush, pull, push, type Workspace } from "./workspace.ts";

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
export async function expectRunning(ctx: Ctx, expected: Record<string, TestImage>): Promise<void> {
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

export function expectClean(report: TickReport, what: string): void {
  const problems = [...report.errors, ...report.failed];
  if (problems.length > 0) throw new DemoError(`${what}: ${problems.join("; ")}`);
}

export async function writeNotes(ctx: Ctx): Promise<void> {
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

/** Subjects of main and of every host's status ref, where the agent's audit commits land. */
async function remoteSubjects(ws: Workspace): Promise<string[]> {
  return (await git(ws.bare, "log", "--format=%s", "main", "--glob=refs/heads/fleetwave/status/*"))
    .split("\n")
    .filter(Boolean);
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

export async function rolloutV110(ctx: Ctx): Promise<void> {
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

/** The bad release; returns its rollout id and the bot it rolled back. */
export async function rolloutV120(ctx: Ctx): Promise<{ rollout: string; bot: string }> {
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
  return { rollout: id, bot: first.bot };
}

/**
 * `fleetwave rollback --previous` on one bot that took v1.1.0 fine: the operator's commit pins
 * it to the digest it ran before (v1.0.0), and the agent moves it there with the same snapshot
 * and health gate as a rollout. Returns the bot.
 */
export async function rollbackOneBot(ctx: Ctx, skip: string): Promise<string> {
  const { say, ws, images } = ctx;
  const bot = allBots(ctx.tenants.filter((t) => t.mode === "auto")).find((b) => b.id !== skip);
  if (!bot) throw new DemoError("the demo fleet has no second auto bot to roll back");
  await pull(ws);
  const reason = "the tenant reports v1.1.0 exports are wrong";
  const result = await fleetwave(ws.operator, "rollback", bot.id, "--previous", "--reason", reason);
  say.say(`$ fleetwave rollback ${bot.id} --previous --reason "${reason}"`);
  say.block(result.stdout + result.stderr);
  if (result.code !== 0) throw new DemoError(`fleetwave rollback ${bot.id} failed (exit ${result.code})`);
  say.ok(`pushed ${await push(ws)}: ${bot.id} is pinned to v1.0.0 in tenants/${bot.tenant}.yaml`);
  say.say("agent: reconcile");
  const report = await ctx.agent!.reconcile(`demo: ${bot.id} rolled back`);
  printOutcomes(ctx, report);
  expectClean(report, `rolling ${bot.id} back failed`);
  await expectRunning(ctx, { [bot.id]: images.v100 });
  say.ok(
    `${bot.id} runs v1.0.0 again (snapshot taken, health gate passed); no rollout touches it while pinned`,
  );
  return bot.id;
}

export async function showResults(ctx: Ctx, badRollout: string): Promise<void> {
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
    parseYaml(
      await git(ws.bare, "show", `fleetwave/status/${DEMO_HOST}:fleet-state/status/${DEMO_HOST}.yaml`),
    ),
  );
  if (!status.quarantine.some((q) => q.digest === images.v120.digest && q.rollout === badRollout))
    throw new DemoError(`v1.2.0 is not quarantined in the remote's status ref fleetwave/status/${DEMO_HOST}`);
  say.ok(
    `v1.2.0 is quarantined in status/${DEMO_HOST}.yaml (on the status ref fleetwave/status/${DEMO_HOST}): no new plan may target it`,
  );

  await pull(ws);
  const history = await fleetwave(ws.operator, "history");
  say.gap();
  say.say("$ fleetwave history        (the audit table, read from the git log's trailers)");
  say.block(history.stdout + history.stderr);
  if (history.code !== 0) throw new DemoError(`fleetwave history failed (exit ${history.code})`);
  for (const needle of ["rolled-back", "updated", "bot.rollback"])
    if (!history.stdout.includes(needle)) throw new DemoError(`fleetwave history shows no "${needle}" row`);

  say.gap();
  say.say(
    `$ git -C ${ws.bare} log --oneline --date-order main --glob='refs/heads/fleetwave/status/*'      (the remote: every change, by people on main and by the agent on its status ref)`,
  );
  say.block(
    await git(ws.bare, "log", "--oneline", "--date-order", "main", "--glob=refs/heads/fleetwave/status/*"),
  );
}
