/**
 * The test environment itself: the private engine and registry from scripts/test-env.sh, and
 * the test bot images from scripts/local-env/bot-image.ts behaving as documented. Every other
 * integration test builds on these, so a failure here explains failures elsewhere.
 */
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  buildTestImage,
  registryDigest,
  type TestBotBehaviour,
  type TestImage,
} from "#scripts/local-env/bot-image.ts";
import { dockerClient, freePort } from "#scripts/local-env/engine.ts";
import { removeContainersByLabel, waitForHttp } from "../support/docker.ts";

const run = randomBytes(4).toString("hex");
const RUN_LABEL = "org.fleetwave.test.environment-run";
const anyStatus = () => true;
const hostDirs: string[] = [];

function repository(): string {
  return `${process.env.FLEETWAVE_REGISTRY}/fleetwave-test/environment`;
}

interface RunningBot {
  container: Docker.Container;
  url: string;
}

async function startBot(image: string, name: string, binds: string[] = []): Promise<RunningBot> {
  const port = await freePort();
  const container = await dockerClient().createContainer({
    Image: image,
    name: `fleetwave-envtest-${run}-${name}`,
    Env: [`PORT=${port}`],
    Labels: { [RUN_LABEL]: run },
    HostConfig: { NetworkMode: "host", Init: true, Binds: binds },
  });
  await container.start();
  return { container, url: `http://127.0.0.1:${port}` };
}

async function hostDir(files: Record<string, string> = {}): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "fleetwave-envtest-data-"));
  hostDirs.push(dir);
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(dir, path, ".."), { recursive: true });
    await writeFile(join(dir, path), content);
  }
  return dir;
}

async function readEngineStream(stream: NodeJS.ReadableStream): Promise<string> {
  let text = "";
  for await (const chunk of stream) text += chunk.toString();
  return text;
}

async function untilInspect(
  container: Docker.Container,
  done: (info: Docker.ContainerInspectInfo) => boolean,
  timeoutMs: number,
): Promise<Docker.ContainerInspectInfo> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const info = await container.inspect();
    if (done(info)) return info;
    if (Date.now() > deadline)
      throw new Error(`container state not reached in ${timeoutMs} ms: ${JSON.stringify(info.State)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

afterAll(async () => {
  await removeContainersByLabel(`${RUN_LABEL}=${run}`);
  await Promise.all(hostDirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

describe("test environment", () => {
  it("points workers at the private engine and registry", async () => {
    const provided = inject("fleetwaveTestEnv");
    expect(process.env.DOCKER_HOST).toBe(provided.dockerHost);
    expect(process.env.FLEETWAVE_REGISTRY).toBe(provided.registry);
    expect(provided.dockerHost).toMatch(/^unix:\/\/.+\.sock$/);
    expect(provided.registry).toMatch(/^127\.0\.0\.1:\d+$/);

    const info = await dockerClient().info();
    expect(info.DockerRootDir).not.toBe("/var/lib/docker");
    const registry = await fetch(`http://${provided.registry}/v2/`);
    expect(registry.status).toBe(200);
  });

  it("builds and pushes bots, pulls one by digest from the registry and runs it", async () => {
    const docker = dockerClient();
    const [v1, v2] = await Promise.all([
      buildTestImage({ version: `1.0.0-${run}`, repository: repository() }),
      buildTestImage({ version: `2.0.0-${run}`, repository: repository() }),
    ]);
    for (const image of [v1, v2]) {
      expect(image.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(image.pinned).toBe(`${image.repository}@${image.digest}`);
      expect(image.ref).toBe(`${image.repository}:${image.tag}`);
      expect(await registryDigest(image.repository, image.tag)).toBe(image.digest);
    }
    expect(v1.digest).not.toBe(v2.digest);
    expect(await buildTestImage({ version: `2.0.0-${run}`, repository: repository() })).toEqual(v2);

    // Removing the only tag deletes the image, so the pull below has to fetch it from the registry.
    await docker.getImage(v2.ref).remove();
    await expect(docker.getImage(v2.imageId).inspect()).rejects.toMatchObject({ statusCode: 404 });

    const output = await readEngineStream(await docker.pull(v2.pinned));
    expect(output).not.toMatch(/"error"/);
    const pulled = await docker.getImage(v2.pinned).inspect();
    expect(pulled.Id).toBe(v2.imageId);
    expect(pulled.RepoDigests).toContain(v2.pinned);

    const bot = await startBot(v2.pinned, "v2");
    const health = await waitForHttp(`${bot.url}/health`, 20_000);
    expect(health.status).toBe(200);
    expect(health.body).toBe(`{"status":"ok","version":"2.0.0-${run}"}`);
    expect(JSON.parse(health.body)).toEqual({ status: "ok", version: `2.0.0-${run}` });
    expect((await waitForHttp(`${bot.url}/version`, 5_000)).body).toBe(`2.0.0-${run}`);

    await bot.container.stop({ t: 5 });
    const stopped = await bot.container.inspect();
    expect(stopped.State.Running).toBe(false);
    await bot.container.remove();
  });

  // Concurrent: most of these wait on a timer inside the bot (slow start, crash, healthcheck), and
  // the waits overlap fine; `expect` comes from each test's context, as concurrent tests need.
  describe.concurrent("bot behaviours", () => {
    const images = new Map<string, TestImage>();
    const image = (key: string): TestImage => {
      const found = images.get(key);
      if (!found) throw new Error(`no image ${key}`);
      return found;
    };

    beforeAll(async () => {
      const wanted: [string, TestBotBehaviour, boolean][] = [
        ["unhealthy", "unhealthy", false],
        ["never-listens", "never-listens", false],
        ["crash-after", "crash-after 1", false],
        ["slow-start", "slow-start 3", false],
        ["migrate", "migrate", false],
        ["corrupt", "corrupt", false],
        ["healthy+hc", "healthy", true],
        ["unhealthy+hc", "unhealthy", true],
      ];
      const built = await Promise.all(
        wanted.map(([, behaviour, dockerHealthcheck]) =>
          buildTestImage({ version: "1.0.0", behaviour, dockerHealthcheck, repository: repository() }),
        ),
      );
      wanted.forEach(([key], i) => {
        const builtImage = built[i];
        if (builtImage) images.set(key, builtImage);
      });
    });

    it("unhealthy answers 500 on /health", async ({ expect }) => {
      const bot = await startBot(image("unhealthy").pinned, "unhealthy");
      const answer = await waitForHttp(`${bot.url}/health`, 20_000, { accept: anyStatus });
      expect(answer.status).toBe(500);
      expect(JSON.parse(answer.body)).toEqual({ status: "error", version: "1.0.0" });
    });

    it("never-listens never binds its port", async ({ expect }) => {
      const bot = await startBot(image("never-listens").pinned, "never-listens");
      await expect(waitForHttp(`${bot.url}/health`, 1_500, { accept: anyStatus })).rejects.toThrow(
        /ECONNREFUSED/,
      );
      expect((await bot.container.inspect()).State.Running).toBe(true);
    });

    it("crash-after 1 answers, then exits non-zero", async ({ expect }) => {
      const bot = await startBot(image("crash-after").pinned, "crash-after");
      const exited = await untilInspect(bot.container, (info) => !info.State.Running, 20_000);
      expect(exited.State.ExitCode).toBe(3);
      const logs = (await bot.container.logs({ stdout: true, stderr: true })).toString();
      expect(logs).toContain("listening on 127.0.0.1:");
      expect(logs).toContain("crashing now");
    });

    it("slow-start 3 refuses connections at first, then is healthy", async ({ expect }) => {
      const bot = await startBot(image("slow-start").pinned, "slow-start");
      await expect(fetch(`${bot.url}/health`)).rejects.toThrow();
      const answer = await waitForHttp(`${bot.url}/health`, 20_000);
      expect(JSON.parse(answer.body)).toEqual({ status: "ok", version: "1.0.0" });
    });

    it("migrate marks the data volume and changes a file in it", async ({ expect }) => {
      const data = await hostDir({ "schema-version": "0.9.0\n" });
      const bot = await startBot(image("migrate").pinned, "migrate", [`${data}:/data`]);
      await waitForHttp(`${bot.url}/health`, 20_000);
      await stat(join(data, ".fleetwave-migrated-1.0.0"));
      expect(await readFile(join(data, "schema-version"), "utf8")).toBe("0.9.0\n1.0.0\n");
    });

    it("corrupt scribbles over the data volume and answers 500", async ({ expect }) => {
      const data = await hostDir({ "precious.txt": "precious\n", "nested/deep.txt": "deep\n" });
      const bot = await startBot(image("corrupt").pinned, "corrupt", [`${data}:/data`]);
      const answer = await waitForHttp(`${bot.url}/health`, 20_000, { accept: anyStatus });
      expect(answer.status).toBe(500);
      expect(await readFile(join(data, "precious.txt"), "utf8")).not.toBe("precious\n");
      expect(await readFile(join(data, "nested/deep.txt"), "utf8")).not.toBe("deep\n");
      const entries = await readdir(data);
      expect(entries).toEqual(expect.arrayContaining([".a", "..b", "junk-1.0.0", "corrupted-1.0.0"]));
      expect((await stat(join(data, "corrupted-1.0.0"))).isDirectory()).toBe(true);
    });

    it("dockerHealthcheck gives the image a HEALTHCHECK on /health", async ({ expect }) => {
      const [good, bad] = await Promise.all([
        startBot(image("healthy+hc").pinned, "healthy-hc"),
        startBot(image("unhealthy+hc").pinned, "unhealthy-hc"),
      ]);
      const isSettled = (info: Docker.ContainerInspectInfo) =>
        info.State.Health?.Status === "healthy" || info.State.Health?.Status === "unhealthy";
      const [goodInfo, badInfo] = await Promise.all([
        untilInspect(good.container, isSettled, 30_000),
        untilInspect(bad.container, isSettled, 30_000),
      ]);
      expect(goodInfo.State.Health?.Status).toBe("healthy");
      expect(badInfo.State.Health?.Status).toBe("unhealthy");
    });
  });
});
