/**
 * `fleetwave demo` end to end, as a newcomer runs it: the real CLI in a child process against the
 * private engine and registry (global setup started them; the demo's own `test-env.sh up` then
 * finds them running). The demo checks every step itself and exits 1 when one goes wrong.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { expect, it } from "vitest";
import { dockerClient } from "#scripts/local-env/engine.ts";

const ROOT = resolve(import.meta.dirname, "../..");

function demo(dir: string, ...args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [join(ROOT, "agent/bin/fleetwave.js"), "demo", ...args], {
      cwd: ROOT,
      env: { ...process.env, FLEETWAVE_DEMO_DIR: dir },
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.on("close", (code) => done({ code: code ?? 1, output }));
  });
}

async function demoContainers(): Promise<string[]> {
  const list = await dockerClient().listContainers({ all: true });
  return list.map((c) => (c.Names[0] ?? "").replace(/^\//, "")).filter((name) => name.startsWith("demo-"));
}

it("runs the whole pipeline: bots created, a good release rolled out, a bad one rolled back; --clean removes it all", async () => {
  const dir = join(await mkdtemp(join(tmpdir(), "fleetwave-demo-test-")), "demo");

  const run = await demo(dir);
  expect(run.code, run.output).toBe(0);
  // The update: waves for the auto tenants and "Update now" through the API for the manual one.
  expect(run.output).toMatch(/wave 1: demo-acme-1 +updated v1\.0\.0 -> v1\.1\.0/);
  expect(run.output).toContain("HTTP 202");
  expect(run.output).toMatch(/demo-initech-1 +updated v1\.0\.0 -> v1\.1\.0 .*\(actor: demo\)/);
  // The rollback: one bot, its volume restored, the rollout aborted, the audit trail in git.
  expect(run.output).toMatch(/demo-acme-1 +v1\.2\.0 failed, ROLLED BACK to v1\.1\.0/);
  expect(run.output).toContain("volume restored exactly");
  expect(run.output).toMatch(/aborted at the failure threshold/);
  expect(run.output).toMatch(/rolled-back +agent demo-host/);
  // fleetwave rollback --previous: one bot pinned back to v1.0.0 by a commit, moved by the agent.
  expect(run.output).toMatch(/(demo-\S+) +updated v1\.1\.0 -> v1\.0\.0/);
  expect(run.output).toMatch(/bot\.rollback +Demo Operator/);
  expect(run.output).toContain("Demo complete");
  expect(await demoContainers()).toHaveLength(5);

  const clean = await demo(dir, "--clean");
  expect(clean.code, clean.output).toBe(0);
  expect(clean.output).toContain("removed 5 demo containers and 5 volumes");
  expect(existsSync(dir)).toBe(false);
  expect(await demoContainers()).toEqual([]);
}, 300_000);
