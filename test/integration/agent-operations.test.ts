import { type ChildProcess, spawn } from "node:child_process";
import { createHmac } from "node:crypto";
import { mkdtemp, rename, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { asideName } from "#fleetwave/docker/container-spec.ts";
import { containerDigest, DockerAdapter, dockerFromEnv } from "#fleetwave/docker/docker.ts";
import type { HostStatus } from "#fleetwave/model/status.ts";
import { buildTestImage, type TestImage } from "#scripts/local-env/bot-image.ts";
import { freePort } from "#scripts/local-env/engine.ts";
import {
  bots,
  eventually,
  type FleetDecl,
  fleetRepo,
  fleetYaml,
  git,
  openHour,
  type RunningAgent,
  remoteFile,
  remoteStatusFile,
  startAgent,
  TOKEN_HEADER,
  tenantYaml,
} from "../support/agent-harness.ts";
import { removeContainersByLabel, waitForHttp } from "../support/docker.ts";
import { promtoolCheck } from "../support/promtool.ts";
import { startSmtpServer, type TestSmtpServer } from "../support/smtp.ts";
import { createTrickyTree, treeManifest } from "../support/tree-manifest.ts";

const docker = new DockerAdapter(dockerFromEnv());
let repository: string;
let v1: TestImage;
let v2: TestImage;
let smtp: TestSmtpServer;
const agents: RunningAgent[] = [];
const children: ChildProcess[] = [];

beforeAll(async () => {
  repository = `${process.env.FLEETWAVE_REGISTRY}/fleetwave-ops/bot`;
  v1 = await buildTestImage({ version: "1.0.0", repository, tag: "managed" });
  v2 = await buildTestImage({ version: "2.0.0", repository });
  smtp = await startSmtpServer();
});

afterAll(async () => {
  for (const c of children) c.kill("SIGKILL");
  for (const a of agents) await a.stop().catch(() => undefined);
  await smtp.close();
  await removeContainersByLabel("fleetwave.managed=true");
});

const digestOf = async (bot: string) => {
  const info = await docker.inspect(bot);
  return info ? containerDigest(info) : undefined;
};
const remoteStatus = async (bare: string, host: string) =>
  parse(await remoteStatusFile(bare, host)) as HostStatus;

async function started(bare: string, host: string, env: Record<string, string> = {}) {
  const a = await startAgent(bare, host, env);
  agents.push(a);
  return a;
}

describe("agent operations", () => {
  it("two agents on two hosts keep the cross-host wave order and lose no commit", async () => {
    const [east1, west1] = await bots("east-a", "host-a", 2);
    const [east2, west2] = await bots("east-b", "host-b", 2);
    const decl: FleetDecl = {
      image: `${repository}:managed`,
      tenants: [
        { tenant: "east", mode: "auto", hour: openHour(), contacts: [], bots: [east1!, east2!] },
        { tenant: "west", mode: "auto", hour: openHour(), contacts: [], bots: [west1!, west2!] },
      ],
    };
    const repo = await fleetRepo(decl);
    const a = await started(repo.bare, "host-a");
    const b = await started(repo.bare, "host-b");
    await Promise.all([a.agent.reconcile("create"), b.agent.reconcile("create")]);
    const id = await repo.plan(decl.image, v2.digest);
    const plan = parse(await remoteFile(repo.bare, `fleet-state/rollouts/${id}.yaml`)) as {
      targets: { bot: string; host: string; wave: number }[];
    };
    expect(new Set(plan.targets.filter((t) => t.wave === 1).map((t) => t.host))).toEqual(
      new Set(["host-a", "host-b"]),
    );

    for (let round = 0; round < 8; round++) {
      await Promise.all([a.agent.reconcile(`round ${round}`), b.agent.reconcile(`round ${round}`)]);
      const done = await Promise.all([east1, east2, west1, west2].map((x) => digestOf(x!.id)));
      if (done.every((d) => d === v2.digest)) break;
    }
    for (const x of [east1, east2, west1, west2]) expect(await digestOf(x!.id)).toBe(v2.digest);

    const statusA = await remoteStatus(repo.bare, "host-a");
    const statusB = await remoteStatus(repo.bare, "host-b");
    const at = (bot: string) => (statusA.bots[bot] ?? statusB.bots[bot])!.last!.at;
    const wave1 = plan.targets.filter((t) => t.wave === 1).map((t) => at(t.bot));
    const wave2 = plan.targets.filter((t) => t.wave === 2).map((t) => at(t.bot));
    // A wave-2 bot updates only after every host reported wave 1 finished.
    expect(wave2.every((t2) => wave1.every((t1) => t1 <= t2))).toBe(true);
    expect(statusA.rollouts[id]).toMatchObject({ state: "completed", wavesDone: 2 });
    expect(statusB.rollouts[id]).toMatchObject({ state: "completed", wavesDone: 2 });
    // Nothing is left queued on either agent.
    for (const x of [a, b]) expect(x.agent.metrics().pushQueueLength).toBe(0);

    // The agent's /metrics passes promtool and counts each bot update once, with its timings.
    const text = await (await fetch(`${a.server.url}/metrics`)).text();
    expect(promtoolCheck(text)).toEqual({ code: 0, output: "" });
    const value = (sample: string) =>
      Number(
        text
          .split("\n")
          .find((l) => l.startsWith(`${sample} `))
          ?.split(" ")[1],
      );
    const updated = value('fleetwave_bot_updates_total{result="updated"}');
    expect(updated).toBeGreaterThanOrEqual(2);
    expect(value('fleetwave_update_duration_seconds_count{result="updated"}')).toBe(updated);
    expect(value("fleetwave_update_downtime_seconds_count")).toBeGreaterThanOrEqual(2);
    expect(text).toMatch(/^fleetwave_info\{version="[^"]+",commit="[^"]+",host="host-a",branch="main"\} 1$/m);
    // Every log line names the host; an update's line names its rollout and bot too.
    expect(a.logs.every((l) => / INFO| WARN| ERROR| DEBUG/.test(l) && l.includes(" host-a"))).toBe(true);
    expect(
      a.logs.some((l) =>
        l.includes(`host-a rollout=${id} bot=${plan.targets.find((t) => t.host === "host-a")!.bot}: updated`),
      ),
    ).toBe(true);
  });

  it("keeps working while the remote is unreachable and delivers every result when it is back", async () => {
    const fleet = await bots("offline", "host-a", 2);
    const decl: FleetDecl = {
      image: `${repository}:managed`,
      tenants: [{ tenant: "offline", mode: "auto", hour: openHour(), contacts: [], bots: fleet }],
      strategy: { batchPercent: 50 },
    };
    const repo = await fleetRepo(decl);
    const a = await started(repo.bare, "host-a");
    await a.agent.reconcile("create");
    const id = await repo.plan(decl.image, v2.digest);
    const hidden = `${repo.bare}.away`;
    // The remote disappears once the agent has fetched the plan and starts updating.
    const watcher = (async () => {
      await eventually(
        async () => (a.agent.status().bots.some((x) => x.state === "updating") ? true : undefined),
        60_000,
        "an update to start",
      );
      await rename(repo.bare, hidden);
    })();
    const report = await a.agent.reconcile("rollout while the remote goes away");
    await watcher;
    expect(report.failed).toEqual([]);
    for (const x of fleet) expect(await digestOf(x.id)).toBe(v2.digest);
    expect(a.agent.metrics().pushQueueLength).toBeGreaterThan(0);
    expect(a.agent.status().lastError?.source).toMatch(/git/);

    await rename(hidden, repo.bare);
    await a.agent.reconcile("remote is back");
    expect(a.agent.metrics().pushQueueLength).toBe(0);
    const status = await remoteStatus(repo.bare, "host-a");
    for (const x of fleet) expect(status.rollouts[id]?.bots[x.id]?.result).toBe("updated");
  });

  it("reports an invalid fleet-state commit, acts on nothing from it, and resumes when it is fixed", async () => {
    const fleet = await bots("broken", "host-a", 1);
    const decl: FleetDecl = {
      image: `${repository}:managed`,
      tenants: [{ tenant: "broken", mode: "auto", hour: openHour(), contacts: [], bots: fleet }],
      admins: ["invalid-watch@acme.example"],
    };
    const repo = await fleetRepo(decl);
    const a = await started(repo.bare, "host-a", { SMTP_URL: smtp.url });
    await a.agent.reconcile("create");
    await repo.pull();
    const planned = await repo.cli("plan", "--image", decl.image, "--digest", v2.digest);
    expect(planned.code, planned.stderr).toBe(0);
    // The same commit adds the plan and breaks a tenant file.
    const tenantPath = "fleet-state/tenants/broken.yaml";
    const bad = tenantYaml(decl, decl.tenants[0]!).replace("mode: auto", "mode: sometimes");
    await repo.commit({ [tenantPath]: bad }, "plan and a typo");

    for (let i = 0; i < 2; i++) await a.agent.reconcile("invalid");
    expect(await digestOf(fleet[0]!.id)).toBe(v1.digest);
    const error = a.agent.status().lastError;
    expect(error?.source).toBe("fleet-state");
    expect(error?.message).toContain("fleet-state/tenants/broken.yaml:3: update.mode:");
    await a.flushNotifications();
    expect(smtp.messages.filter((m) => m.envelopeTo.includes("invalid-watch@acme.example"))).toHaveLength(1);

    await repo.commit({ [tenantPath]: tenantYaml(decl, decl.tenants[0]!) }, "fix the typo");
    await a.agent.reconcile("fixed");
    expect(await digestOf(fleet[0]!.id)).toBe(v2.digest);
    expect(a.agent.status().lastError).toBeUndefined();
  });

  it("starts no bot while the fleet is paused in fleet.yaml, and continues on resume", async () => {
    const fleet = await bots("paused", "host-a", 3);
    const decl: FleetDecl = {
      image: `${repository}:managed`,
      tenants: [{ tenant: "paused", mode: "auto", hour: openHour(), contacts: [], bots: fleet }],
      strategy: { batchPercent: 25, pauseSeconds: 6 },
    };
    const repo = await fleetRepo(decl);
    // The agent's clock jumps past each wave's pause instead of the test sleeping through it.
    let ahead = 0;
    const a = await startAgent(repo.bare, "host-a", {}, undefined, {
      now: () => new Date(Date.now() + ahead),
    });
    agents.push(a);
    await a.agent.reconcile("create");
    const id = await repo.plan(decl.image, v2.digest);
    await a.agent.reconcile("wave 1");
    const updatedCount = async () =>
      (await Promise.all(fleet.map((x) => digestOf(x.id)))).filter((d) => d === v2.digest).length;
    expect(await updatedCount()).toBe(1);

    await repo.commit(
      { "fleet-state/fleet.yaml": fleetYaml({ ...decl, mode: "paused" }) },
      "pause the fleet",
    );
    ahead += 7000;
    await a.agent.reconcile("paused");
    await a.agent.reconcile("paused");
    expect(await updatedCount()).toBe(1);
    expect(a.agent.status().paused).toBe(true);

    await repo.commit({ "fleet-state/fleet.yaml": fleetYaml(decl) }, "resume the fleet");
    for (let i = 0; i < 8 && (await updatedCount()) < 3; i++) {
      await a.agent.reconcile("resumed");
      ahead += 7000;
    }
    expect(await updatedCount()).toBe(3);
    expect((await remoteStatus(repo.bare, "host-a")).rollouts[id]?.state).toBe("completed");
  });

  it("guards the API: 401, 403, 400, signed webhooks only, and a good webhook reconciles", async () => {
    const fleet = await bots("api", "host-a", 1);
    const decl: FleetDecl = {
      image: `${repository}:managed`,
      tenants: [{ tenant: "api", mode: "auto", hour: openHour(), contacts: [], bots: fleet }],
    };
    const repo = await fleetRepo(decl);
    const a = await started(repo.bare, "host-a");
    await a.agent.reconcile("create");
    const url = a.server.url;
    expect((await fetch(`${url}/api/pause`, { method: "POST" })).status).toBe(401);
    expect(
      (
        await fetch(`${url}/api/pause`, {
          method: "POST",
          headers: { authorization: "Bearer wrong-token-0123456789" },
        })
      ).status,
    ).toBe(403);
    const badBody = await fetch(`${url}/api/pause`, {
      method: "POST",
      headers: { ...TOKEN_HEADER, "content-type": "application/json" },
      body: '{"reason": 5}',
    });
    expect(badBody.status).toBe(400);
    expect(
      (await fetch(`${url}/api/bots/no-such-bot/update`, { method: "POST", headers: TOKEN_HEADER })).status,
    ).toBe(404);

    // Pause through the API: committed to fleet.yaml with the actor's name.
    const paused = await fetch(`${url}/api/pause`, { method: "POST", headers: TOKEN_HEADER });
    expect(paused.status).toBe(200);
    expect(parse(await remoteFile(repo.bare, "fleet-state/fleet.yaml")).updates.mode).toBe("paused");
    expect(await git(repo.bare, "log", "-1", "--format=%an%n%B", "main")).toMatch(
      /^alice\n[\s\S]*Fleetwave-Actor: alice/,
    );
    expect((await fetch(`${url}/api/resume`, { method: "POST", headers: TOKEN_HEADER })).status).toBe(200);
    expect(parse(await remoteFile(repo.bare, "fleet-state/fleet.yaml")).updates.mode).toBe("auto");

    // A push webhook: a bad signature is refused, a good one triggers a reconcile that applies a new plan.
    const id = await repo.plan(decl.image, v2.digest);
    const body = JSON.stringify({
      ref: "refs/heads/main",
      after: "a".repeat(40),
      repository: { full_name: "acme/fleet" },
    });
    const hook = (signature: string) =>
      fetch(`${url}/webhooks/github`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "x-github-event": "push",
          "x-hub-signature-256": signature,
        },
        body,
      });
    expect((await hook(`sha256=${"0".repeat(64)}`)).status).toBe(401);
    expect(await digestOf(fleet[0]!.id)).toBe(v1.digest);
    const good = await hook(`sha256=${createHmac("sha256", "hook-secret").update(body).digest("hex")}`);
    expect(good.status).toBe(202);
    await eventually(
      async () => ((await digestOf(fleet[0]!.id)) === v2.digest ? true : undefined),
      60_000,
      "the webhook's reconcile",
    );
    await eventually(
      async () =>
        (await remoteStatus(repo.bare, "host-a")).rollouts[id]?.state === "completed" ? true : undefined,
      30_000,
      "the status push",
    );
  });

  it("finishes the update in flight on SIGTERM: after a restart the bot is healthy and its volume intact", async () => {
    const slow = await buildTestImage({ version: "2.5.0", behaviour: "slow-start 2", repository });
    const fleet = await bots("sigterm", "host-a", 1);
    const decl: FleetDecl = {
      image: `${repository}:managed`,
      tenants: [{ tenant: "sigterm", mode: "auto", hour: openHour(), contacts: [], bots: fleet }],
    };
    const repo = await fleetRepo(decl);
    const dataDir = await mkdtemp(join(tmpdir(), "fleetwave-sigterm-"));
    const bin = resolve(import.meta.dirname, "../../agent/bin/fleetwave.js");
    const once = (extra: string[] = []) =>
      new Promise<number>((done) => {
        const c = spawn(
          process.execPath,
          [bin, "agent", "--repo", repo.bare, "--host", "host-a", "--data-dir", dataDir, "--once", ...extra],
          { stdio: "ignore" },
        );
        c.on("close", (code) => done(code ?? 1));
      });
    expect(await once()).toBe(0);
    const bot = fleet[0]!;
    const mount = await docker.volumeMountpoint(`${bot.id}-data`);
    await createTrickyTree(mount);
    const before = await treeManifest(mount);
    await repo.plan(decl.image, slow.digest);

    const child = spawn(
      process.execPath,
      [
        bin,
        "agent",
        "--repo",
        repo.bare,
        "--host",
        "host-a",
        "--data-dir",
        dataDir,
        "--listen",
        `127.0.0.1:${await freePort()}`,
        "--interval",
        "1h",
      ],
      { stdio: "ignore" },
    );
    children.push(child);
    const exited = new Promise<number | null>((done) => child.on("close", (code) => done(code)));
    await eventually(
      async () => ((await docker.inspect(asideName(bot.id))) ? true : undefined),
      60_000,
      "the update to be in flight",
    );
    child.kill("SIGTERM");
    expect(await exited).toBe(0);

    expect(await once()).toBe(0);
    const info = await docker.inspect(bot.id);
    expect(info?.State.Running).toBe(true);
    expect([v1.digest, slow.digest]).toContain(containerDigest(info!));
    expect(await docker.inspect(asideName(bot.id))).toBeUndefined();
    const answer = await waitForHttp(`http://127.0.0.1:${bot.port}/health`, 10_000);
    expect(answer.status).toBe(200);
    expect(await treeManifest(mount)).toEqual(before);
    await writeFile(join(dataDir, "done"), "");
  });
});
