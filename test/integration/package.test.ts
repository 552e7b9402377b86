/**
 * The release as an operator gets it: `npm pack` (prepack builds dist/), `npm install -g` of the
 * tarball into a temporary prefix, then the installed `fleetwave` — run from outside the
 * repository, with none of its node_modules in reach — reports its version, validates the sample
 * fleet and runs one agent pass against the test engine.
 */
import { execFile, spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { containerDigest, DockerAdapter, dockerFromEnv } from "#fleetwave/docker/docker.ts";
import type { HostStatus } from "#fleetwave/model/status.ts";
import { buildTestImage } from "#scripts/local-env/bot-image.ts";
import { dockerClient } from "#scripts/local-env/engine.ts";
import { bots, type FleetDecl, fleetRepo, openHour, remoteStatusFile } from "../support/agent-harness.ts";

const execFileAsync = promisify(execFile);
const ROOT = resolve(import.meta.dirname, "../..");
const pkg = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8")) as { version: string };

let work: string;
/** The bot this file's agent creates; only it is removed afterwards (other files share the engine). */
let botId: string | undefined;
let prefix: string;
let tarball: string;
let outside: string;

/** The installed CLI with a minimal environment: PATH for node and git, and the test engine. */
function fleetwave(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(join(prefix, "bin/fleetwave"), args, {
      cwd: outside,
      env: {
        PATH: `${join(prefix, "bin")}:${process.env.PATH ?? ""}`,
        HOME: outside,
        DOCKER_HOST: process.env.DOCKER_HOST ?? "",
      },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d;
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d;
    });
    child.on("close", (code) => done({ code: code ?? 1, stdout, stderr }));
  });
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "fleetwave-package-"));
  prefix = join(work, "prefix");
  outside = await mkdtemp(join(tmpdir(), "fleetwave-outside-"));
  const packed = await execFileAsync("npm", ["pack", "--json", "--pack-destination", work], {
    cwd: ROOT,
    maxBuffer: 64 << 20,
  });
  // prepack's build logs before npm's JSON; the JSON array is the last thing printed.
  const report = JSON.parse(packed.stdout.slice(packed.stdout.lastIndexOf("\n[") + 1)) as {
    filename: string;
    files: { path: string }[];
  }[];
  tarball = join(work, report[0]!.filename);
  const files = report[0]!.files.map((f) => f.path);
  expect(report[0]!.filename).toBe(`fleetwave-${pkg.version}.tgz`);
  expect(files.filter((f) => !f.startsWith("dist/")).sort()).toEqual([
    "README.md",
    "agent/fleetwave-agent@.service",
    "package.json",
  ]);
  expect(files).toContain("dist/fleetwave.js.map");
  // --prefer-offline: dependencies come from the local npm cache when it has them.
  await execFileAsync(
    "npm",
    ["install", "--global", "--prefix", prefix, "--prefer-offline", "--no-audit", "--no-fund", tarball],
    { cwd: outside, maxBuffer: 64 << 20 },
  );
}, 600_000);

afterAll(async () => {
  if (botId) {
    const docker = dockerClient();
    await docker
      .getContainer(botId)
      .remove({ force: true, v: true })
      .catch(() => undefined);
    await docker
      .getVolume(`${botId}-data`)
      .remove()
      .catch(() => undefined);
  }
  await rm(work, { recursive: true, force: true });
  await rm(outside, { recursive: true, force: true });
});

describe("the packed release, installed with npm install -g", () => {
  it("installs without the development toolchain", async () => {
    const installed = join(prefix, "lib/node_modules/fleetwave");
    const { stdout } = await execFileAsync("npm", ["ls", "--all", "--parseable", "--prefix", installed], {
      cwd: outside,
      maxBuffer: 64 << 20,
    }).catch((error: { stdout: string }) => ({ stdout: error.stdout }));
    expect(stdout).toContain("node_modules/zod");
    expect(stdout).not.toMatch(/node_modules\/(tsx|esbuild|typescript|vitest)$/m);
  });

  it("fleetwave --version names the package version and the commit it was built from", async () => {
    const head = (await execFileAsync("git", ["rev-parse", "HEAD"], { cwd: ROOT })).stdout.trim();
    const { code, stdout } = await fleetwave("--version");
    expect(code).toBe(0);
    expect(stdout.trim()).toMatch(new RegExp(`^fleetwave ${pkg.version} \\(commit ${head}(-dirty)?\\)$`));
  });

  it("validates the sample fleet-state, and exits 2 on a usage error", async () => {
    const valid = await fleetwave("validate", "--state", join(ROOT, "fleet-state"), "--json");
    expect(valid.stderr).toBe("");
    expect(valid.code).toBe(0);
    expect(JSON.parse(valid.stdout)).toMatchObject({ valid: true });
    const usage = await fleetwave("validate", "--no-such-flag");
    expect(usage.code).toBe(2);
    expect(usage.stdout).toBe("");
    expect(usage.stderr).toContain("Usage: fleetwave validate");
  });

  it("init writes a fleet repository that the installed CLI validates", async () => {
    const init = await fleetwave("init", "fleet", "--image", "ghcr.io/acme/app:managed");
    expect(init.code, init.stderr).toBe(0);
    const hostedMode = await readFile(join(outside, "fleet/scripts/hosted-mode.yaml"), "utf8");
    expect(hostedMode).toBe(await readFile(join(ROOT, "scripts/hosted-mode.yaml"), "utf8"));
    const valid = await fleetwave("validate", "--state", "fleet/fleet-state");
    expect(valid.code, valid.stdout).toBe(0);
  });

  it("runs one agent pass against the test engine: the declared bot runs the image's digest", async () => {
    const repository = `${process.env.FLEETWAVE_REGISTRY}/fleetwave-package/bot`;
    const image = await buildTestImage({ version: "1.0.0", repository, tag: "managed" });
    const fleet = await bots("pkg", "host-a", 1);
    botId = fleet[0]!.id;
    const decl: FleetDecl = {
      image: `${repository}:managed`,
      tenants: [{ tenant: "pkg", mode: "auto", hour: openHour(), contacts: [], bots: fleet }],
    };
    const repo = await fleetRepo(decl);
    const dataDir = join(work, "data");
    const once = await fleetwave(
      "agent",
      "--repo",
      repo.bare,
      "--host",
      "host-a",
      "--data-dir",
      dataDir,
      "--once",
    );
    expect(once.code, once.stderr).toBe(0);
    const info = await new DockerAdapter(dockerFromEnv()).inspect(fleet[0]!.id);
    expect(info?.State.Running).toBe(true);
    expect(info && containerDigest(info)).toBe(image.digest);
    const status = parse(await remoteStatusFile(repo.bare, "host-a")) as HostStatus;
    expect(JSON.stringify(status)).toContain(fleet[0]!.id);
  });
});
