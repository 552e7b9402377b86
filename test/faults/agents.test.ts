/**
 * Two agents for one host. Same data dir: the second exits at once naming the first one's pid.
 * Different data dirs: the second refuses to act and says why, and changes nothing (no commit, no
 * container touched). Neither case leaves git's index.lock behind or overwrites the status file;
 * a stopped or killed -9 agent blocks nobody.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { access, mkdtemp, readFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import type { HostStatus } from "#fleetwave/model/status.ts";
import { buildTestImage } from "#scripts/local-env/bot-image.ts";
import { dockerClient, freePort } from "#scripts/local-env/engine.ts";
import {
  bots,
  eventually,
  type FleetDecl,
  type FleetRepo,
  fleetRepo,
  git,
  openHour,
  remoteStatusFile,
  startAgent,
} from "../support/agent-harness.ts";

const BIN = resolve(import.meta.dirname, "../../agent/bin/fleetwave.js");
const children: ChildProcess[] = [];
let repo: FleetRepo;
let botId: string;

beforeAll(async () => {
  const repository = `${process.env.FLEETWAVE_REGISTRY}/fleetwave-faults/agents`;
  await buildTestImage({ version: "1.0.0", repository, tag: "managed" });
  const fleet = await bots("twoagents", "host-a", 1);
  botId = fleet[0]!.id;
  const decl: FleetDecl = {
    image: `${repository}:managed`,
    tenants: [{ tenant: "twoagents", mode: "auto", hour: openHour(), contacts: [], bots: fleet }],
  };
  repo = await fleetRepo(decl);
});

afterAll(async () => {
  for (const c of children) c.kill("SIGKILL");
  // Only this file's bot: other suites share the engine.
  for (const name of [botId, `${botId}.fleetwave-old`])
    await dockerClient()
      .getContainer(name)
      .remove({ force: true })
      .catch(() => undefined);
});

interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `fleetwave agent` as a child process; `done` settles when it exits. */
function agentProcess(dataDir: string, extra: string[]): { child: ChildProcess; done: Promise<Finished> } {
  const child = spawn(
    process.execPath,
    [BIN, "agent", "--repo", repo.bare, "--host", "host-a", "--data-dir", dataDir, ...extra],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  children.push(child);
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d: Buffer) => {
    stdout += d;
  });
  child.stderr!.on("data", (d: Buffer) => {
    stderr += d;
  });
  const done = new Promise<Finished>((settle) =>
    child.on("close", (code) => settle({ code, stdout, stderr })),
  );
  return { child, done };
}

const once = (dataDir: string) => agentProcess(dataDir, ["--once"]).done;

async function daemon(dataDir: string) {
  const running = agentProcess(dataDir, ["--listen", `127.0.0.1:${await freePort()}`, "--interval", "1h"]);
  const instance = await eventually(
    () =>
      readFile(join(dataDir, "instance-id"), "utf8").then(
        (t) => t.trim(),
        () => undefined,
      ),
    60_000,
    "the agent's instance id",
  );
  await eventually(
    async () => ((await remoteStatus())?.agent?.instance === instance ? true : undefined),
    120_000,
    "the first agent's status in git",
  );
  return { ...running, instance };
}

async function remoteStatus(): Promise<HostStatus | undefined> {
  return remoteStatusFile(repo.bare, "host-a").then(
    (text) => parse(text) as HostStatus,
    () => undefined,
  );
}

const remoteHead = async () => (await git(repo.bare, "rev-parse", "main")).trim();
const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

describe("two agents for one host", () => {
  it("same data dir: the second exits at once naming the first one's pid; the first goes on undisturbed", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "fleetwave-two-same-"));
    const first = await daemon(dataDir);
    const statusBefore = await remoteStatusFile(repo.bare, "host-a");
    const headBefore = await remoteHead();

    const second = await once(dataDir);
    expect(second.code).toBe(1);
    const lines = second.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      new RegExp(
        `^fleetwave agent: another fleetwave agent \\(pid ${first.child.pid}, started \\S+\\) already runs with data dir ${dataDir}; stop it first \\(kill -TERM ${first.child.pid}\\)`,
      ),
    );
    expect(first.child.exitCode).toBeNull();
    expect(await exists(join(dataDir, "repo", ".git", "index.lock"))).toBe(false);
    expect(await remoteHead()).toBe(headBefore);
    expect(await remoteStatusFile(repo.bare, "host-a")).toBe(statusBefore);

    // A killed -9 agent blocks nobody: the same data dir starts again (and is the same instance).
    first.child.kill("SIGKILL");
    await first.done;
    expect(await exists(join(dataDir, "agent.pid"))).toBe(true);
    const restarted = await once(dataDir);
    expect(restarted.stderr).not.toMatch(/another fleetwave agent|held by/);
    expect(restarted.code).toBe(0);
    expect((await remoteStatus())?.agent?.instance).toBe(first.instance);
  });

  it("different data dirs: the second refuses to act and says why, until the first one stops", async () => {
    const firstDir = await mkdtemp(join(tmpdir(), "fleetwave-two-first-"));
    const secondDir = await mkdtemp(join(tmpdir(), "fleetwave-two-second-"));
    const first = await daemon(firstDir);
    const statusBefore = await remoteStatusFile(repo.bare, "host-a");
    const headBefore = await remoteHead();
    const held = new RegExp(
      `host host-a is held by another fleetwave agent, instance ${first.instance} on ${hostname()} \\(data dir ${firstDir}\\).*does nothing and commits nothing: stop that agent first`,
    );

    const second = await once(secondDir);
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(held);
    expect(second.stdout).toMatch(/reconciled host-a: 0 updates, 0 failed/);
    expect(second.stderr).not.toMatch(/created|updated|recover/);

    // The same refusal as an API client sees it, from an agent in this process.
    const inProcess = await startAgent(repo.bare, "host-a");
    const report = await inProcess.agent.reconcile("test");
    expect(report.errors.join("\n")).toMatch(held);
    expect(inProcess.agent.status().lastError).toMatchObject({ source: "host-held" });
    expect(inProcess.logs.join("\n")).toMatch(held);
    await inProcess.stop();

    expect(first.child.exitCode).toBeNull();
    expect(await remoteHead()).toBe(headBefore);
    expect(await remoteStatusFile(repo.bare, "host-a")).toBe(statusBefore);
    for (const dir of [firstDir, secondDir, inProcess.dataDir])
      expect(await exists(join(dir, "repo", ".git", "index.lock"))).toBe(false);

    // Once the first agent has stopped, the second one takes the host over.
    first.child.kill("SIGTERM");
    expect((await first.done).code).toBe(0);
    const takeover = await once(secondDir);
    expect(takeover.stderr).not.toMatch(/held by/);
    expect(takeover.code).toBe(0);
    const secondInstance = (await readFile(join(secondDir, "instance-id"), "utf8")).trim();
    expect((await remoteStatus())?.agent).toEqual({
      instance: secondInstance,
      machine: hostname(),
      dataDir: secondDir,
    });
    expect((await remoteStatus())?.bots[botId]?.state).toBe("running");
  });
});
