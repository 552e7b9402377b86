/**
 * Test bot images: built FROM scratch with Debian's static busybox (nothing can be pulled from
 * the internet here), pushed to the local registry, identified by their registry digest.
 * The image itself lives in scripts/local-env/bot/; this file assembles its build context.
 */
import { execFile, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmod,
  copyFile,
  lutimes,
  mkdir,
  mkdtemp,
  open,
  readdir,
  readFile,
  rm,
  symlink,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { assertLoopback, dockerClient, registryHost } from "./engine.ts";

const execFileAsync = promisify(execFile);

const BOT_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "bot");
const BUSYBOX = "/bin/busybox";
const SCRIPTS = ["entrypoint.sh", "respond.sh", "healthcheck.sh"];

/** Every test image carries this label (value "bot"), plus its version and behaviour. */
export const TEST_IMAGE_LABEL = "org.fleetwave.test-image";

/**
 * What the bot does, fixed at build time:
 * - `healthy`: GET /health → 200 `{"status":"ok","version":"<version>"}`
 * - `unhealthy`: GET /health → 500
 * - `never-listens`: never binds the port
 * - `slow-start N`: binds after N seconds, then healthy
 * - `crash-after N`: healthy, then exits with status 3 after N seconds
 * - `migrate`: appends the version to `$DATA_DIR/schema-version`, writes
 *   `$DATA_DIR/.fleetwave-migrated-<version>`, then healthy
 * - `corrupt`: overwrites every file under `$DATA_DIR`, adds `.a`, `..b`, `junk-<version>` and a
 *   `corrupted-<version>/` directory, then answers 500
 * - `flaky`: on start, GETs `/flaky` from `$FLAKY_ADDR` (`127.0.0.1:<port>`, served by the test)
 *   and is healthy only when it answers `ok`, else /health answers 500. The test decides which start fails: state
 *   kept in the bot's volume would not do, since a rollback restores the volume as it was.
 * - `gated`: does not listen until `GET /gate/$GATE_ID` at `$GATE_ADDR` (asked every 0.2 s)
 *   answers `ok`, then healthy: the test holds each bot running but unhealthy as long as it needs.
 * All listen on 127.0.0.1:$PORT (default 8080); DATA_DIR defaults to /data. GET /version → the
 * version as text/plain, and the image has a /version file.
 */
export type TestBotBehaviour =
  | "healthy"
  | "unhealthy"
  | "never-listens"
  | "migrate"
  | "corrupt"
  | "flaky"
  | "gated"
  | `slow-start ${number}`
  | `crash-after ${number}`;

export interface BuildTestImageOptions {
  /** Reported by /health and /version; letters, digits, `.`, `_`, `-`. */
  version: string;
  behaviour?: TestBotBehaviour;
  /** Default `$FLEETWAVE_REGISTRY/fleetwave-test/bot`. Must live in the local registry. */
  repository?: string;
  /**
   * Default: the version for healthy images, `<version>-<behaviour>` otherwise (e.g.
   * `2.0.0-crash-after-3`), so building a failing variant never moves a healthy image's tag.
   * Pass `tag: version` to publish a broken build under the plain version tag.
   */
  tag?: string;
  /** Add a Docker HEALTHCHECK (busybox wget on /health every second), for bots without `health`. */
  dockerHealthcheck?: boolean;
}

export interface TestImage {
  /** `repository:tag` */
  ref: string;
  repository: string;
  tag: string;
  /** Manifest digest in the registry, `sha256:…` */
  digest: string;
  /** `repository@digest` */
  pinned: string;
  /** Local image ID (config digest) */
  imageId: string;
  version: string;
  behaviour: TestBotBehaviour;
}

const cache = new Map<string, Promise<TestImage>>();

/**
 * Builds the bot image, pushes it and returns its registry digest. The same options in one
 * worker reuse the earlier result as long as the registry tag still points at it; other workers
 * (each test file gets one) reuse a local image built from the same inputs, checked by a label
 * holding a hash of them, without building or pushing again.
 */
export function buildTestImage(options: BuildTestImageOptions): Promise<TestImage> {
  let spec: Spec;
  try {
    spec = normalise(options);
  } catch (error) {
    return Promise.reject(error);
  }
  const key = JSON.stringify(spec);
  const cached = cache.get(key);
  const result = (async () => {
    if (cached) {
      const image = await cached.catch(() => undefined);
      if (image && (await registryDigest(image.repository, image.tag)) === image.digest) return image;
    }
    return buildAndPush(spec);
  })();
  cache.set(key, result);
  result.catch(() => {
    if (cache.get(key) === result) cache.delete(key);
  });
  return result;
}

interface Spec {
  version: string;
  behaviour: TestBotBehaviour;
  repository: string;
  tag: string;
  dockerHealthcheck: boolean;
}

function normalise(options: BuildTestImageOptions): Spec {
  const behaviour = options.behaviour ?? "healthy";
  const [kind, seconds] = behaviour.split(" ");
  const timed = kind === "slow-start" || kind === "crash-after";
  if (
    !timed &&
    !["healthy", "unhealthy", "never-listens", "migrate", "corrupt", "flaky", "gated"].includes(kind ?? "")
  ) {
    throw new Error(`unknown behaviour "${behaviour}"`);
  }
  if (timed ? !/^\d+(\.\d+)?$/.test(seconds ?? "") : seconds !== undefined) {
    throw new Error(
      `bad behaviour "${behaviour}": slow-start and crash-after take seconds, the rest nothing`,
    );
  }
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,80}$/.test(options.version)) {
    // The version ends up in JSON, a tag and a shell variable; keep it to characters safe in all three.
    throw new Error(`bad version "${options.version}": use letters, digits, ".", "_" and "-"`);
  }
  const healthcheck = options.dockerHealthcheck ?? false;
  const slug = [behaviour === "healthy" ? "" : behaviour.replace(/[ .]/g, "-"), healthcheck ? "hc" : ""]
    .filter(Boolean)
    .join("-");
  const tag = options.tag ?? (slug ? `${options.version}-${slug}` : options.version);
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(tag)) throw new Error(`bad tag "${tag}"`);
  const repository = options.repository ?? `${registryHost()}/fleetwave-test/bot`;
  assertLoopback(`http://${repository.split("/")[0]}/`);
  return { version: options.version, behaviour, repository, tag, dockerHealthcheck: healthcheck };
}

const CONTEXT_LABEL = "org.fleetwave.test-image.context";

async function buildAndPush(spec: Spec): Promise<TestImage> {
  const ref = `${spec.repository}:${spec.tag}`;
  const docker = dockerClient();
  const base = await dockerfileFor(spec);
  const hash = await contextHash(spec, base);
  // One LABEL instruction written into the Dockerfile: the build API's `labels` option adds one
  // instruction per label, and each is a container commit with the classic builder (~1 s under load).
  const labels = {
    [TEST_IMAGE_LABEL]: "bot",
    "org.fleetwave.test-image.version": spec.version,
    "org.fleetwave.test-image.behaviour": spec.behaviour,
    [CONTEXT_LABEL]: hash,
  };
  const dockerfile = `${base}LABEL ${Object.entries(labels)
    .map(([key, value]) => `${JSON.stringify(key)}=${JSON.stringify(value)}`)
    .join(" ")}\n`;
  const result = (digest: string, imageId: string): TestImage => ({
    ref,
    repository: spec.repository,
    tag: spec.tag,
    digest,
    pinned: `${spec.repository}@${digest}`,
    imageId,
    version: spec.version,
    behaviour: spec.behaviour,
  });

  // Every test file runs in a fresh worker: skip build and push when the local image was built
  // from the same inputs and the registry tag still points at what it pushed.
  const existing = await docker
    .getImage(ref)
    .inspect()
    .catch(() => undefined);
  if (existing?.Config.Labels?.[CONTEXT_LABEL] === hash) {
    const digest = await registryDigest(spec.repository, spec.tag);
    if (digest && existing.RepoDigests.includes(`${spec.repository}@${digest}`))
      return result(digest, existing.Id);
  }

  const context = await mkdtemp(join(tmpdir(), "fleetwave-bot-"));
  try {
    await writeContext(context, spec, dockerfile);
    const build = await docker.buildImage(tarStream(context), { t: ref, rm: true, forcerm: true });
    await readProgress(build, `docker build ${ref}`);
    const imageId = (await docker.getImage(ref).inspect()).Id;

    const push = await docker.getImage(spec.repository).push({ tag: spec.tag });
    const events = await readProgress(push, `docker push ${ref}`);
    const pushed = events.map((event) => event.aux?.Digest).find((digest) => digest !== undefined);
    const digest = await registryDigest(spec.repository, spec.tag);
    if (!digest || (pushed !== undefined && pushed !== digest)) {
      throw new Error(
        `pushed ${ref} (push said ${pushed}) but the registry has ${digest ?? "nothing"} for it`,
      );
    }
    return result(digest, imageId);
  } finally {
    await rm(context, { recursive: true, force: true });
  }
}

// A fixed mtime for every context file: the layer tarballs, and so the layer digests, then only
// depend on content, and the Engine's build cache hits across workers.
const EPOCH = new Date("2000-01-01T00:00:00Z");

async function dockerfileFor(spec: Spec): Promise<string> {
  const dockerfile = await readFile(join(BOT_DIR, "Dockerfile"), "utf8");
  if (!spec.dockerHealthcheck) return dockerfile;
  const anchor = "\nCOPY app/ /\n";
  if (!dockerfile.includes(anchor))
    throw new Error(`scripts/local-env/bot/Dockerfile lost its "COPY app/ /" line`);
  return dockerfile.replace(
    anchor,
    `\nHEALTHCHECK --interval=1s --timeout=3s --retries=2 CMD ["/bin/sh", "/srv/healthcheck.sh"]${anchor}`,
  );
}

async function contextHash(spec: Spec, dockerfile: string): Promise<string> {
  const hash = createHash("sha256");
  hash.update(JSON.stringify([spec.version, spec.behaviour, dockerfile]));
  for (const file of [BUSYBOX, ...SCRIPTS.map((script) => join(BOT_DIR, script))]) {
    hash.update(await readFile(file));
  }
  return hash.digest("hex");
}

async function writeContext(context: string, spec: Spec, dockerfile: string): Promise<void> {
  const bin = join(context, "rootfs/bin");
  const srv = join(context, "app/srv");
  await mkdir(bin, { recursive: true });
  await mkdir(join(context, "rootfs/tmp"));
  await mkdir(srv, { recursive: true });

  await assertStaticBinary(BUSYBOX);
  await copyFile(BUSYBOX, join(bin, "busybox"));
  const { stdout } = await execFileAsync(BUSYBOX, ["--list"]);
  for (const applet of stdout.split("\n")) {
    if (!/^[a-z0-9_.[-]+$/.test(applet) || applet === "busybox") continue;
    await symlink("busybox", join(bin, applet));
  }

  for (const script of SCRIPTS) await copyFile(join(BOT_DIR, script), join(srv, script));
  await writeFile(join(context, "app/version"), `${spec.version}\n`);
  await writeFile(join(srv, "behaviour"), `${spec.behaviour}\n`);

  await writeFile(join(context, "Dockerfile"), dockerfile);

  await chmod(join(context, "rootfs/tmp"), 0o1777);
  await chmod(join(bin, "busybox"), 0o755);
  for (const script of SCRIPTS) await chmod(join(srv, script), 0o755);
  await setTimes(context);
}

async function setTimes(dir: string): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await setTimes(path);
    await lutimes(path, EPOCH, EPOCH);
  }
  await lutimes(dir, EPOCH, EPOCH);
}

/**
 * FROM scratch has no loader or libc, so a dynamically linked busybox (Debian's `busybox`
 * package instead of `busybox-static`) would fail only at container start, with a cryptic
 * "no such file or directory". Check for a PT_INTERP program header up front.
 */
async function assertStaticBinary(path: string): Promise<void> {
  const file = await open(path, "r");
  try {
    const header = Buffer.alloc(64);
    await file.read(header, 0, 64, 0);
    if (header.readUInt32BE(0) !== 0x7f454c46 || header[4] !== 2)
      throw new Error(`${path} is not a 64-bit ELF file`);
    const phoff = Number(header.readBigUInt64LE(32));
    const phentsize = header.readUInt16LE(54);
    const phnum = header.readUInt16LE(56);
    const table = Buffer.alloc(phentsize * phnum);
    await file.read(table, 0, table.length, phoff);
    for (let i = 0; i < phnum; i++) {
      if (table.readUInt32LE(i * phentsize) === 3) {
        throw new Error(
          `${path} is dynamically linked; install Debian's busybox-static (scripts/test-env.sh up)`,
        );
      }
    }
  } finally {
    await file.close();
  }
}

function tarStream(context: string): NodeJS.ReadableStream {
  const tar = spawn(
    "tar",
    ["-c", "-C", context, "--sort=name", "--owner=0", "--group=0", "--numeric-owner", "."],
    {
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let stderr = "";
  tar.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  tar.on("close", (code) => {
    if (code !== 0) tar.stdout.destroy(new Error(`tar exited with ${code}: ${stderr}`));
  });
  return tar.stdout;
}

interface ProgressEvent {
  stream?: string;
  status?: string;
  error?: string;
  errorDetail?: { message?: string };
  aux?: { ID?: string; Tag?: string; Digest?: string; Size?: number };
}

/**
 * Reads an Engine JSON progress stream to its end. Build and push failures arrive as `error`
 * events inside a stream that itself ends normally, so they are turned into a throw here, with
 * the build output for context.
 */
async function readProgress(stream: NodeJS.ReadableStream, what: string): Promise<ProgressEvent[]> {
  const events: ProgressEvent[] = [];
  let buffered = "";
  const take = (line: string) => {
    if (line.trim()) events.push(JSON.parse(line) as ProgressEvent);
  };
  for await (const chunk of stream) {
    buffered += chunk.toString();
    const lines = buffered.split("\n");
    buffered = lines.pop() ?? "";
    lines.forEach(take);
  }
  take(buffered);
  const failure = events.find((event) => event.error ?? event.errorDetail?.message);
  if (failure) {
    const output = events
      .map((event) => event.stream ?? event.status ?? "")
      .join("")
      .slice(-2000);
    throw new Error(`${what} failed: ${failure.error ?? failure.errorDetail?.message}\n${output}`);
  }
  return events;
}

/**
 * The manifest digest the registry serves for `repository` at `reference` (a tag or digest),
 * or undefined when it has none. Talks to the registry directly, not through the Engine.
 */
export async function registryDigest(repository: string, reference: string): Promise<string | undefined> {
  const slash = repository.indexOf("/");
  const host = repository.slice(0, slash);
  const url = `http://${host}/v2/${repository.slice(slash + 1)}/manifests/${reference}`;
  assertLoopback(url);
  const response = await fetch(url, {
    method: "HEAD",
    headers: {
      accept: [
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
      ].join(", "),
    },
    signal: AbortSignal.timeout(10_000),
  });
  if (response.status === 404) return undefined;
  if (!response.ok) throw new Error(`HEAD ${url} answered ${response.status}`);
  return response.headers.get("docker-content-digest") ?? undefined;
}
