import { spawn } from "node:child_process";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { AgentLockedError, liveHolder, lockDataDir, PIDFILE } from "./data-dir-lock.ts";

const children: ReturnType<typeof spawn>[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill("SIGKILL");
});

/** A real other process, alive until the test ends. */
async function otherProcess(): Promise<number> {
  const child = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });
  children.push(child);
  await new Promise((done) => child.once("spawn", done));
  return child.pid!;
}

/** The pid of a process that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
  await new Promise((done) => child.once("exit", done));
  return child.pid!;
}

describe("data-dir lock", { timeout: 20_000 }, () => {
  it("refuses a second holder naming the first one's pid, and is free again after release", async () => {
    const dir = await mkdtemp(join(tmpdir(), "fleetwave-lock-"));
    const lock = await lockDataDir(dir);
    expect(JSON.parse(await readFile(join(dir, PIDFILE), "utf8")).pid).toBe(process.pid);
    const error = await lockDataDir(dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AgentLockedError);
    expect((error as Error).message).toMatch(
      new RegExp(
        `another fleetwave agent \\(pid ${process.pid}, started .*\\) already runs with data dir ${dir}; stop it first \\(kill -TERM ${process.pid}\\)`,
      ),
    );
    await lock.release();
    expect(await liveHolder(dir)).toBeUndefined();
    await (await lockDataDir(dir)).release();
  });

  it("refuses while another live process holds it", async () => {
    const dir = await mkdtemp(join(tmpdir(), "fleetwave-lock-"));
    const pid = await otherProcess();
    await writeFile(join(dir, PIDFILE), JSON.stringify({ pid, startedAt: "2026-12-03T12:00:00.000Z" }));
    await expect(lockDataDir(dir)).rejects.toThrow(`(pid ${pid},`);
  });

  it("takes over the pidfile of a process that is gone (killed -9, rebooted) or whose pid was reused", async () => {
    const dir = await mkdtemp(join(tmpdir(), "fleetwave-lock-"));
    const gone = await deadPid();
    await writeFile(join(dir, PIDFILE), JSON.stringify({ pid: gone, startedAt: "2026-12-03T12:00:00.000Z" }));
    const lock = await lockDataDir(dir);
    expect(lock.replaced?.pid).toBe(gone);
    await lock.release();
    const reused = await otherProcess();
    await writeFile(
      join(dir, PIDFILE),
      JSON.stringify({ pid: reused, startedAt: "2026-12-03T12:00:00.000Z", processStart: "1" }),
    );
    const again = await lockDataDir(dir);
    expect(again.replaced?.pid).toBe(reused);
    await again.release();
  });
});
