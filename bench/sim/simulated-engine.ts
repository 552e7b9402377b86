import { createHash } from "node:crypto";
import type { ContainerCreateOptions, ContainerInspectInfo } from "dockerode";
import type { ImageDefaults } from "../../agent/src/docker/drift.ts";
import type { ContainerSummary, EnginePort, LocalImage } from "../../agent/src/docker/engine-port.ts";

/**
 * Median time of each Engine step, in ms. The defaults are the engine's medians of the update
 * bench (bench/README.md, "Update downtime"); the pull of an image is not measured there
 * (its images were already in the local registry) and is an assumption.
 */
export interface StepTimings {
  pull: number;
  stop: number;
  rename: number;
  create: number;
  start: number;
  /** From start until the image's HEALTHCHECK reports healthy (the bench's first 200). */
  healthy: number;
  remove: number;
  /** Every other request (inspect, list, ping): one round trip to the Engine's socket. */
  request: number;
}

export const UPDATE_BENCH_TIMINGS: StepTimings = {
  pull: 200,
  stop: 371,
  rename: 10,
  create: 59,
  start: 691,
  healthy: 84,
  remove: 91,
  request: 5,
};

/** What the simulation is told about its registry: the digest each `repository:tag` points at. */
export interface SimulatedRegistry {
  tags: ReadonlyMap<string, string>;
}

interface SimContainer {
  id: string;
  name: string;
  options: ContainerCreateOptions;
  imageId: string;
  running: boolean;
  status: "created" | "running" | "exited";
  /** performance.now() at which the HEALTHCHECK turns healthy, once started. */
  healthyAt: number;
  bot: string | undefined;
}

interface SimImage {
  id: string;
  created: number;
  refs: Set<string>;
}

class SimulatedEngineError extends Error {
  constructor(
    message: string,
    readonly statusCode: number,
  ) {
    super(message);
  }
}

const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));
const imageIdOf = (digest: string) => `sha256:${createHash("sha256").update(digest).digest("hex")}`;

/**
 * A SIMULATED container engine, for benches only: it implements the agent's `EnginePort` in
 * memory, so `bench/fleet-scale.bench.ts` can run hundreds of whole agents on one machine. No
 * process, socket or volume exists: each step waits its median from `StepTimings` ± `jitter`,
 * and every image carries a Docker HEALTHCHECK that reports `healthy` a `healthy` delay after
 * its container starts, so the real health gate (engine/probes.ts) passes on `inspect` alone.
 * Bots must declare no volumes and no health URL (a volume cannot be inspected here).
 */
export class SimulatedEngine implements EnginePort {
  private readonly containers = new Map<string, SimContainer>();
  private readonly images = new Map<string, SimImage>();
  private nextId = 1;
  /** Per bot, the sum of the step delays drawn for it: the update as the Engine alone would take it. */
  readonly stepMsByBot = new Map<string, number>();

  constructor(
    private readonly registry: SimulatedRegistry,
    private readonly timings: StepTimings = UPDATE_BENCH_TIMINGS,
    /** Each delay is its median × (1 ± jitter), uniformly. */
    private readonly jitter = 0.25,
  ) {}

  private draw(median: number): number {
    return median * (1 + this.jitter * (2 * Math.random() - 1));
  }

  private async step(kind: Exclude<keyof StepTimings, "request">, bot: string | undefined): Promise<void> {
    const ms = this.draw(this.timings[kind]);
    if (bot) this.stepMsByBot.set(bot, (this.stepMsByBot.get(bot) ?? 0) + ms);
    await sleep(ms);
  }

  private request(): Promise<void> {
    return sleep(this.draw(this.timings.request));
  }

  private find(nameOrId: string): SimContainer | undefined {
    const byId = this.containers.get(nameOrId);
    if (byId) return byId;
    for (const c of this.containers.values()) if (c.name === nameOrId) return c;
    return undefined;
  }

  private get(nameOrId: string): SimContainer {
    const c = this.find(nameOrId);
    if (!c) throw new SimulatedEngineError(`no such container: ${nameOrId}`, 404);
    return c;
  }

  private imageByRef(ref: string): SimImage | undefined {
    for (const image of this.images.values()) if (image.id === ref || image.refs.has(ref)) return image;
    return undefined;
  }

  private addImage(digest: string, ...refs: string[]): void {
    const id = imageIdOf(digest);
    const image = this.images.get(id) ?? { id, created: Math.floor(Date.now() / 1000), refs: new Set() };
    for (const ref of refs) image.refs.add(ref);
    this.images.set(id, image);
  }

  async ping(): Promise<boolean> {
    await this.request();
    return true;
  }

  async pull(repository: string, digest: string): Promise<void> {
    await this.step("pull", undefined);
    this.addImage(digest, `${repository}@${digest}`);
  }

  async resolveTag(repository: string, tag: string): Promise<string> {
    await this.step("pull", undefined);
    const digest = this.registry.tags.get(`${repository}:${tag}`);
    if (!digest) throw new SimulatedEngineError(`${repository}:${tag} is not in the simulated registry`, 404);
    this.addImage(digest, `${repository}:${tag}`, `${repository}@${digest}`);
    return digest;
  }

  async imageExists(ref: string): Promise<boolean> {
    await this.request();
    return this.imageByRef(ref) !== undefined;
  }

  async inspect(nameOrId: string): Promise<ContainerInspectInfo | undefined> {
    await this.request();
    const c = this.find(nameOrId);
    return c ? this.info(c) : undefined;
  }

  /** The fields of a Docker inspect the agent reads, from the create request as Docker keeps it. */
  private info(c: SimContainer): ContainerInspectInfo {
    const healthy = c.running && performance.now() >= c.healthyAt;
    const info = {
      Id: c.id,
      Name: `/${c.name}`,
      Image: c.imageId,
      RestartCount: 0,
      State: {
        Status: c.status,
        Running: c.running,
        Restarting: false,
        ExitCode: 0,
        Health: { Status: c.running ? (healthy ? "healthy" : "starting") : "unhealthy" },
      },
      Config: {
        Image: c.options.Image ?? "",
        Env: c.options.Env ?? [],
        Cmd: c.options.Cmd ?? null,
        Labels: c.options.Labels ?? {},
        Healthcheck: { Test: ["CMD", "true"] },
      },
      HostConfig: { ...c.options.HostConfig, PortBindings: c.options.HostConfig?.PortBindings ?? {} },
      Mounts: [],
    };
    // Only the fields above are read by the agent; the rest of Docker's answer does not exist here.
    return info as unknown as ContainerInspectInfo;
  }

  async runningDigest(info: ContainerInspectInfo, repository: string): Promise<string | undefined> {
    await this.request();
    const image = this.images.get(info.Image);
    const ref = [...(image?.refs ?? [])].find((r) => r.startsWith(`${repository}@`));
    return ref?.slice(repository.length + 1);
  }

  async listManaged(): Promise<ContainerSummary[]> {
    await this.request();
    return [...this.containers.values()]
      .filter((c) => c.options.Labels?.["fleetwave.managed"] === "true")
      .map((c) => ({
        id: c.id,
        name: c.name,
        labels: c.options.Labels ?? {},
        state: c.status,
        image: c.options.Image ?? "",
      }));
  }

  async create(options: ContainerCreateOptions): Promise<string> {
    const name = options.name ?? `sim-${this.nextId}`;
    const bot = options.Labels?.["fleetwave.bot"];
    await this.step("create", bot);
    if (options.HostConfig?.Mounts?.length)
      throw new SimulatedEngineError(
        "the simulated engine has no volumes; declare bots without volumes",
        400,
      );
    if (this.find(name)) throw new SimulatedEngineError(`the container name ${name} is already in use`, 409);
    const image = this.imageByRef(options.Image ?? "");
    if (!image) throw new SimulatedEngineError(`no such image: ${options.Image}`, 404);
    const id = createHash("sha256")
      .update(`container-${this.nextId++}`)
      .digest("hex");
    this.containers.set(id, {
      id,
      name,
      options,
      imageId: image.id,
      running: false,
      status: "created",
      healthyAt: Number.POSITIVE_INFINITY,
      bot,
    });
    return id;
  }

  async start(id: string): Promise<void> {
    const c = this.get(id);
    if (c.running) return;
    await this.step("start", c.bot);
    const healthyAfter = this.draw(this.timings.healthy);
    if (c.bot) this.stepMsByBot.set(c.bot, (this.stepMsByBot.get(c.bot) ?? 0) + healthyAfter);
    c.running = true;
    c.status = "running";
    c.healthyAt = performance.now() + healthyAfter;
  }

  async stop(id: string): Promise<void> {
    const c = this.get(id);
    if (!c.running) return;
    await this.step("stop", c.bot);
    c.running = false;
    c.status = "exited";
    c.healthyAt = Number.POSITIVE_INFINITY;
  }

  async rename(id: string, name: string): Promise<void> {
    const c = this.get(id);
    await this.step("rename", c.bot);
    const other = this.find(name);
    if (other && other !== c)
      throw new SimulatedEngineError(`the container name ${name} is already in use`, 409);
    c.name = name;
  }

  async remove(id: string): Promise<void> {
    const c = this.find(id);
    if (!c) return;
    await this.step("remove", c.bot);
    this.containers.delete(c.id);
  }

  async volumeMountpoint(name: string): Promise<string> {
    await this.request();
    throw new SimulatedEngineError(`the simulated engine has no volume ${name}`, 404);
  }

  async listImages(): Promise<LocalImage[]> {
    await this.request();
    return [...this.images.values()].map((i) => ({ id: i.id, created: i.created, refs: [...i.refs] }));
  }

  async imageDefaults(): Promise<ImageDefaults> {
    await this.request();
    return { env: [], cmd: null, labels: {} };
  }

  async imagesInUse(): Promise<Set<string>> {
    await this.request();
    return new Set([...this.containers.values()].map((c) => c.imageId));
  }

  async removeImage(id: string): Promise<void> {
    await this.request();
    const image = this.imageByRef(id);
    if (!image) return;
    if ([...this.containers.values()].some((c) => c.imageId === image.id))
      throw new SimulatedEngineError(`image ${id} is used by a container`, 409);
    this.images.delete(image.id);
  }
}
