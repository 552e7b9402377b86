/**
 * The getting-started path on the real engine: `fleetwave init` on an empty directory, `fleetwave
 * import` of containers an operator started by hand, a push, and `fleetwave agent --once`, which
 * adopts them as they run: the containers' ids are the same afterwards.
 */
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, expect, it } from "vitest";
import { parse } from "yaml";
import { buildTestImage } from "#scripts/local-env/bot-image.ts";
import { dockerClient, freePort } from "#scripts/local-env/engine.ts";
import { git, remoteStatusFile } from "../support/agent-harness.ts";
import { removeContainersByLabel, waitForHttp } from "../support/docker.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const LABEL = "org.fleetwave.import-test";

function cli(cwd: string, ...args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [join(ROOT, "agent/bin/fleetwave.js"), ...args], {
      cwd,
      env: process.env,
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d;
    });
    child.stderr.on("data", (d: Buffer) => {
      out += d;
    });
    child.on("close", (code) => done({ code: code ?? 1, out }));
  });
}

afterAll(async () => {
  await removeContainersByLabel(`${LABEL}=${process.pid}`);
});

it("init + import + push + agent --once adopts running containers without recreating any", async () => {
  const repository = `${process.env.FLEETWAVE_REGISTRY}/fleetwave-import/bot`;
  const image = await buildTestImage({
    version: "1.0.0",
    repository,
    tag: "managed",
    dockerHealthcheck: true,
  });
  const root = await mkdtemp(join(tmpdir(), "fleetwave-import-"));
  const docker = dockerClient();

  // Two containers started the way an operator would, with nothing of Fleetwave on them.
  const names = [`fwimport-${process.pid}-a`, `fwimport-${process.pid}-b`];
  const ports = [await freePort(), await freePort()];
  const bindDir = join(root, "config");
  await mkdir(bindDir);
  const ids: string[] = [];
  for (const [i, name] of names.entries()) {
    const container = await docker.createContainer({
      name,
      Image: image.ref,
      Env: [`PORT=${ports[i]}`, "API_TOKEN=do-not-commit-me"],
      Labels: { [LABEL]: String(process.pid) },
      HostConfig: {
        NetworkMode: "host",
        RestartPolicy: { Name: i === 0 ? "unless-stopped" : "always" },
        Mounts: [{ Type: "volume", Source: `${name}-data`, Target: "/data" }],
        ...(i === 1 ? { Binds: [`${bindDir}:/config:ro`] } : {}),
      },
    });
    await container.start();
    ids.push(container.id);
    await waitForHttp(`http://127.0.0.1:${ports[i]}/health`, 20_000);
  }

  const fleet = join(root, "fleet");
  const init = await cli(root, "init", "fleet", "--image", image.ref, "--admins", "ops@acme.example");
  expect(init.code, init.out).toBe(0);

  const imported = await cli(
    fleet,
    "import",
    "--host",
    "host-a",
    "--filter",
    `label=${LABEL}=${process.pid}`,
  );
  expect(imported.code, imported.out).toBe(0);
  expect(imported.out).toMatch(/fleet-state is valid; 2 problems to review/);
  const tenantText = await readFile(join(fleet, `fleet-state/tenants/${names[1]}.yaml`), "utf8");
  expect(tenantText).toContain(`bind mount of ${bindDir} at /config cannot be reproduced`);
  expect(tenantText).toContain('restarts "always"');
  expect(tenantText).toContain("API_TOKEN looks like a secret");
  expect(tenantText).not.toContain("do-not-commit-me");
  expect(tenantText).toContain(`runs ${image.digest} and stays on it until the first rollout plan`);
  const tenant = parse(tenantText) as {
    bots: { image: string; pinnedDigest: string | null; volumes: unknown; env: unknown }[];
  };
  expect(tenant.bots[0]).toMatchObject({
    image: image.ref,
    // No pin (it would keep the bot out of every plan): the agent holds the digest it adopted.
    pinnedDigest: null,
    volumes: [{ name: `${names[1]}-data`, path: "/data" }],
    env: { PORT: String(ports[1]) },
  });

  // Push it to a bare remote standing in for GitHub, as the README's getting started says.
  const bare = join(root, "fleet.git");
  await git(root, "init", "--quiet", "--bare", "--initial-branch=main", bare);
  await git(fleet, "remote", "add", "origin", bare);
  await git(fleet, "add", "-A");
  await git(fleet, "commit", "--quiet", "-m", "Fleetwave fleet repository");
  await git(fleet, "push", "--quiet", "origin", "main");

  const agent = await cli(
    root,
    "agent",
    "--repo",
    bare,
    "--host",
    "host-a",
    "--once",
    "--data-dir",
    join(root, "agent"),
  );
  expect(agent.code, agent.out).toBe(0);
  for (const [i, name] of names.entries()) {
    const info = await docker.getContainer(name).inspect();
    expect(info.Id, `${name} was recreated`).toBe(ids[i]);
    expect(info.State.Running).toBe(true);
  }
  const status = parse(await remoteStatusFile(bare, "host-a")) as {
    bots: Record<string, { digest: string; state: string }>;
  };
  for (const name of names)
    expect(status.bots[name]).toMatchObject({ digest: image.digest, state: "running" });
}, 120_000);
