/**
 * The remote misbehaves. An operator force-pushes main to remove a commit that leaked a secret
 * while the agent has commits queued: the removed commit never comes back, the agent's own queued
 * commits still land. A remote that is absent, or that accepts connections and never answers,
 * does not stop local work: the agent reconciles, commits locally and pushes once it can.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { rename } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import type { HostStatus } from "#fleetwave/model/status.ts";
import { buildTestImage } from "#scripts/local-env/bot-image.ts";
import { dockerClient } from "#scripts/local-env/engine.ts";
import {
  bots,
  type FleetDecl,
  fleetRepo,
  git,
  openHour,
  remoteFile,
  remoteStatusFile,
  startAgent,
} from "../support/agent-harness.ts";

const BIN = resolve(import.meta.dirname, "../../agent/bin/fleetwave.js");
const children: ChildProcess[] = [];
const servers: Server[] = [];
const mine: string[] = [];

beforeAll(async () => {
  await buildTestImage({
    version: "1.0.0",
    repository: `${process.env.FLEETWAVE_REGISTRY}/fleetwave-faults/remote`,
    tag: "managed",
  });
});

afterAll(async () => {
  for (const c of children) c.kill("SIGKILL");
  for (const s of servers) s.close();
  // Only this file's bots: other suites share the engine.
  for (const name of mine.flatMap((id) => [id, `${id}.fleetwave-old`]))
    await dockerClient()
      .getContainer(name)
      .remove({ force: true })
      .catch(() => undefined);
});

async function setup(prefix: string) {
  const fleet = await bots(prefix, "host-a", 1);
  const bot = fleet[0]!.id;
  mine.push(bot);
  const decl: FleetDecl = {
    image: `${process.env.FLEETWAVE_REGISTRY}/fleetwave-faults/remote:managed`,
    tenants: [{ tenant: prefix, mode: "auto", hour: openHour(), contacts: [], bots: fleet }],
  };
  return { repo: await fleetRepo(decl), bot };
}

const remoteStatus = async (bare: string) => parse(await remoteStatusFile(bare, "host-a")) as HostStatus;

/** Commits of HEAD in `cwd` that its origin/main does not have yet. */
const STATUS_REF = "refs/heads/fleetwave/status/host-a";
/** Commits the clone has not pushed: on main, and on the host's status ref. */
const unpushed = async (cwd: string) =>
  Number((await git(cwd, "rev-list", "--count", "origin/main..HEAD")).trim()) +
  Number((await git(cwd, "rev-list", "--count", `origin/fleetwave/status/host-a..${STATUS_REF}`)).trim());

/** A TCP server that accepts git connections and never answers. */
async function silentRemote(): Promise<string> {
  const server = createServer(() => undefined);
  servers.push(server);
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  return `git://127.0.0.1:${(server.address() as { port: number }).port}/fleet.git`;
}

function once(repo: string, dataDir: string, env: Record<string, string> = {}) {
  const child = spawn(
    process.execPath,
    [BIN, "agent", "--repo", repo, "--host", "host-a", "--data-dir", dataDir, "--once"],
    { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } },
  );
  children.push(child);
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => {
    stdout += d;
  });
  child.stderr.on("data", (d: Buffer) => {
    stderr += d;
  });
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((done) =>
    child.on("close", (code) => done({ code, stdout, stderr })),
  );
}

describe("a misbehaving remote", () => {
  it("a commit force-pushed away is never pushed back; the agent's queued commits still land", async () => {
    const { repo, bot } = await setup("forcepush");
    const secret = await repo.commit(
      { "docs/leak.txt": "AWS_SECRET_ACCESS_KEY=hunter2\n" },
      "notes (leaks a secret)",
    );
    const running = await startAgent(repo.bare, "host-a");
    try {
      await running.agent.reconcile("create");
      expect((await remoteStatus(repo.bare)).bots[bot]?.state).toBe("running");
      const clone = join(running.dataDir, "repo");
      expect(await unpushed(clone)).toBe(0);

      // The remote is gone for a while; the agent keeps working and queues its commits.
      const offline = `${repo.bare}.offline`;
      await rename(repo.bare, offline);
      await dockerClient().getContainer(bot).stop({ t: 1 });
      await running.agent.reconcile("while the remote is away");
      const paused = await running.agent.setFleetPaused(true, "alice");
      expect(paused).toMatchObject({ ok: true, message: expect.stringMatching(/the push is queued/) });
      const queued = await unpushed(clone);
      expect(queued).toBeGreaterThanOrEqual(2);
      expect(running.agent.metrics().pushQueueLength).toBeGreaterThanOrEqual(1);

      // Meanwhile the operator removes the secret from main's history and force-pushes.
      await git(repo.work, "fetch", "--quiet", offline, "main");
      await git(repo.work, "reset", "--quiet", "--hard", "FETCH_HEAD");
      await git(repo.work, "rebase", "--quiet", "--onto", `${secret}~1`, secret);
      await git(repo.work, "push", "--quiet", "--force", offline, "HEAD:main");
      const rewritten = (await git(repo.work, "rev-parse", "HEAD")).trim();
      await rename(offline, repo.bare);

      await running.agent.reconcile("the remote is back");
      expect(await unpushed(clone)).toBe(0);
      const history = (await git(repo.bare, "rev-list", "main")).trim().split("\n");
      expect(history).not.toContain(secret);
      expect(history).toContain(rewritten);
      expect((await git(repo.bare, "log", "--format=%H", "main", "--", "docs/leak.txt")).trim()).toBe("");
      expect(await git(repo.bare, "log", "-p", "main")).not.toContain("hunter2");
      // The agent's own queued work landed: the fleet pause by alice and the status it wrote offline.
      expect(await remoteFile(repo.bare, "fleet-state/fleet.yaml")).toMatch(/mode: paused/);
      expect(await remoteStatusFile(repo.bare, "host-a")).toBe(await running.agent.statusFileText());
      expect(running.logs.join("\n")).toMatch(/origin\/main was rewritten \(force-push\): following it/);
      expect(running.agent.status().lastError?.source ?? "none").not.toMatch(/^git-/);
    } finally {
      await running.stop();
    }
  });

  it("a remote that never answers does not stop local work; the queue lands once it answers", async () => {
    const { repo, bot } = await setup("silent");
    const running = await startAgent(repo.bare, "host-a");
    await running.agent.reconcile("create");
    await running.stop();
    const clone = join(running.dataDir, "repo");
    const headBefore = (await git(repo.bare, "rev-parse", STATUS_REF)).trim();

    await dockerClient().getContainer(bot).stop({ t: 1 });
    const silent = await once(await silentRemote(), running.dataDir, { FLEETWAVE_GIT_TIMEOUT: "2s" });
    expect(silent.stderr).toMatch(/timed out after 2 s \(the remote is slow or does not answer\)/);
    expect(silent.stdout).toMatch(/reconciled host-a/);
    expect(await unpushed(clone)).toBeGreaterThanOrEqual(1);
    expect((await git(repo.bare, "rev-parse", STATUS_REF)).trim()).toBe(headBefore);

    const back = await once(repo.bare, running.dataDir);
    expect(back.code).toBe(0);
    expect(await unpushed(clone)).toBe(0);
    expect((await git(repo.bare, "rev-parse", STATUS_REF)).trim()).not.toBe(headBefore);
    expect(await remoteStatusFile(repo.bare, "host-a")).toBe(
      await git(clone, "show", `${STATUS_REF}:fleet-state/status/host-a.yaml`),
    );
  });
});
