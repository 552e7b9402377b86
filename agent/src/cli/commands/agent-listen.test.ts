/**
 * `fleetwave agent --listen` on a port someone else holds: the real CLI, spawned as an operator
 * runs it, says which address is taken and what to do, in one line, and exits non-zero.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const BIN = join(import.meta.dirname, "../../../bin/fleetwave.js");

let holder: Server;
let port: number;

beforeAll(async () => {
  holder = createServer();
  holder.listen(0, "127.0.0.1");
  await once(holder, "listening");
  const address = holder.address();
  if (address === null || typeof address === "string") throw new Error("no TCP address");
  port = address.port;
});

afterAll(() => new Promise<void>((done) => holder.close(() => done())));

async function runAgent(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [BIN, "agent", ...args], {
    env: { PATH: process.env.PATH ?? "", DOCKER_HOST: "unix:///nonexistent/docker.sock", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const [code] = (await once(child, "close")) as [number | null];
  return { code, stdout, stderr };
}

describe("fleetwave agent --listen on a taken port", () => {
  it("prints one line naming the address and the way out, without a stack trace, and exits 1", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "fleetwave-listen-"));
    const result = await runAgent([
      "--repo",
      join(dataDir, "no-such-repo"),
      "--host",
      "host-a",
      "--data-dir",
      dataDir,
      "--listen",
      `127.0.0.1:${port}`,
    ]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr.trimEnd().split("\n")).toEqual([
      `fleetwave agent: cannot listen on 127.0.0.1:${port}: the address is already in use (another ` +
        "fleetwave agent or program holds it; see `ss -ltnp`); stop that program or pass a free --listen host:port",
    ]);
  }, 60_000);
});

describe("fleetwave agent: the security options refuse a setup that would be open or broken", () => {
  it("needs tokens beyond loopback, and a public URL for links, before touching anything", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "fleetwave-listen-"));
    const base = ["--repo", join(dataDir, "no-such-repo"), "--host", "host-a", "--data-dir", dataDir];
    const cases: [string[], Record<string, string>, number, RegExp][] = [
      [
        ["--listen", "0.0.0.0:0", "--allow-remote"],
        {},
        2,
        /every route needs a token when the agent is reachable from other machines; set FLEETWAVE_API_TOKENS/,
      ],
      [[], { FLEETWAVE_LINK_KEY: "k".repeat(32) }, 2, /give the agent's public URL with --public-url/],
    ];
    for (const [args, env, code, message] of cases) {
      const result = await runAgent([...base, ...args], env);
      expect(result.code, args.join(" ")).toBe(code);
      expect(result.stderr).toMatch(message);
    }
  }, 60_000);
});
