import Docker, {
  type ContainerCreateOptions,
  type ContainerInspectInfo,
  type ImageInspectInfo,
} from "dockerode";
import { FleetwaveError } from "../errors.ts";
import { pinnedRef } from "./container-spec.ts";
import type { ImageDefaults } from "./drift.ts";
import type { ContainerSummary, EnginePort, LocalImage } from "./engine-port.ts";
import { registryAuth } from "./registry-auth.ts";

export class PullError extends FleetwaveError {
  override name = "PullError";
}

/** A client for DOCKER_HOST (unix:// or tcp://), or the default socket. */
export function dockerFromEnv(env: NodeJS.ProcessEnv = process.env): Docker {
  const host = env.DOCKER_HOST;
  if (host?.startsWith("unix://")) return new Docker({ socketPath: host.slice("unix://".length) });
  if (host?.startsWith("tcp://")) {
    const url = new URL(host);
    return new Docker({ host: url.hostname, port: Number(url.port || 2375) });
  }
  return new Docker();
}

const isNotFound = (error: unknown) => (error as { statusCode?: number }).statusCode === 404;

export type { ContainerSummary, EnginePort, LocalImage } from "./engine-port.ts";

/** The engine port over the Docker Engine API (dockerode); every call is one Engine request. */
export class DockerAdapter implements EnginePort {
  constructor(readonly docker: Docker) {}

  /** Whether the Engine answers `/_ping` within `timeoutMs`; never throws. */
  async ping(timeoutMs = 2000): Promise<boolean> {
    try {
      // dockerode takes an abort signal here; its type declarations do not say so.
      const ping = this.docker.ping.bind(this.docker) as (opts: {
        abortSignal: AbortSignal;
      }) => Promise<unknown>;
      await ping({ abortSignal: AbortSignal.timeout(timeoutMs) });
      return true;
    } catch {
      return false;
    }
  }

  /** Pulls `repository@digest`; the bot keeps running meanwhile. */
  async pull(repository: string, digest: string): Promise<void> {
    const ref = pinnedRef(repository, digest);
    await this.pullRef(repository, ref);
    if (!(await this.imageExists(ref)))
      throw new PullError(`pull of ${ref} ended but the image is not present`);
  }

  /** Pulls a channel tag and returns the digest it points at in the registry. */
  async resolveTag(repository: string, tag: string): Promise<string> {
    const ref = `${repository}:${tag}`;
    await this.pullRef(repository, ref);
    const digest = await this.localDigestOf(repository, ref);
    if (!digest) throw new PullError(`pulled ${ref} but the Engine recorded no registry digest for it`);
    return digest;
  }

  /**
   * dockerode's followProgress treats a stream that ends as success even when the Engine
   * reported an `error` event inside it, so the events are read here.
   */
  private async pullRef(repository: string, ref: string): Promise<void> {
    let stream: NodeJS.ReadableStream;
    try {
      const authconfig = await registryAuth(repository);
      stream = await this.docker.pull(ref, authconfig ? { authconfig } : {});
    } catch (error) {
      throw new PullError(`pull of ${ref} failed: ${(error as Error).message}`);
    }
    const failure = await this.followPull(stream);
    if (failure) throw new PullError(`pull of ${ref} failed: ${failure}`);
  }

  /** The error message reported inside a pull stream, if any. */
  private followPull(stream: NodeJS.ReadableStream): Promise<string | undefined> {
    return new Promise<string | undefined>((resolve, reject) => {
      let failure: string | undefined;
      this.docker.modem.followProgress(
        stream,
        (error: Error | null) => (error ? reject(error) : resolve(failure)),
        (event: { error?: string; errorDetail?: { message?: string } }) => {
          if (event.error || event.errorDetail) failure ??= event.errorDetail?.message ?? event.error;
        },
      );
    }).catch((error: Error) => error.message);
  }

  async imageExists(ref: string): Promise<boolean> {
    try {
      await this.docker.getImage(ref).inspect();
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }

  /** The digest a tag points at in the local image store, if the image was pulled with it. */
  async localDigestOf(repository: string, ref: string): Promise<string | undefined> {
    try {
      const info = await this.docker.getImage(ref).inspect();
      const match = info.RepoDigests?.find((d) => d.startsWith(`${repository}@`));
      return match?.slice(repository.length + 1);
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async inspect(nameOrId: string): Promise<ContainerInspectInfo | undefined> {
    try {
      return await this.docker.getContainer(nameOrId).inspect();
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async inspectImage(ref: string): Promise<ImageInspectInfo | undefined> {
    try {
      return await this.docker.getImage(ref).inspect();
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  /**
   * The registry digest of the image a container runs, for a container created by tag (one
   * Fleetwave adopts): the image's RepoDigests entry for `repository`.
   */
  async runningDigest(info: ContainerInspectInfo, repository: string): Promise<string | undefined> {
    const image = await this.inspectImage(info.Image);
    return image?.RepoDigests?.find((d) => d.startsWith(`${repository}@`))?.slice(repository.length + 1);
  }

  /** Names of the running containers that match Docker's list filters (e.g. label, name). */
  async listRunning(filters: Record<string, string[]>): Promise<string[]> {
    const list = await this.docker.listContainers({ filters });
    return list.map((c) => (c.Names[0] ?? "").replace(/^\//, ""));
  }

  async create(options: ContainerCreateOptions): Promise<string> {
    const container = await this.docker.createContainer(options);
    return container.id;
  }

  async start(id: string): Promise<void> {
    try {
      await this.docker.getContainer(id).start();
    } catch (error) {
      // 304: already running, which is what the caller wants.
      if ((error as { statusCode?: number }).statusCode !== 304) throw error;
    }
  }

  /** Stops with SIGTERM, then SIGKILL after `timeoutSeconds`. Already stopped is fine. */
  async stop(id: string, timeoutSeconds: number): Promise<void> {
    try {
      await this.docker.getContainer(id).stop({ t: timeoutSeconds });
    } catch (error) {
      const status = (error as { statusCode?: number }).statusCode;
      if (status !== 304) throw error;
    }
  }

  async rename(id: string, name: string): Promise<void> {
    await this.docker.getContainer(id).rename({ name });
  }

  /** Removes a container (forcing a running one); one that is already gone is fine. */
  async remove(id: string): Promise<void> {
    try {
      await this.docker.getContainer(id).remove({ force: true });
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  async volumeMountpoint(name: string): Promise<string> {
    const info = await this.docker.getVolume(name).inspect();
    return info.Mountpoint;
  }

  async listImages(): Promise<LocalImage[]> {
    const list = await this.docker.listImages({ all: false });
    return list.map((i) => ({
      id: i.Id,
      created: i.Created,
      refs: [...(i.RepoTags ?? []), ...(i.RepoDigests ?? [])].filter((r) => !r.startsWith("<none>")),
    }));
  }

  /** What an image brings to every container made from it (drift is measured without it). */
  async imageDefaults(image: string): Promise<ImageDefaults> {
    const info = await this.docker.getImage(image).inspect();
    return { env: info.Config?.Env ?? [], cmd: info.Config?.Cmd ?? null, labels: info.Config?.Labels ?? {} };
  }

  /** Image ids of every container on the engine, managed or not, running or not. */
  async imagesInUse(): Promise<Set<string>> {
    const list = await this.docker.listContainers({ all: true });
    return new Set(list.map((c) => c.ImageID));
  }

  /** Removes an image and every name it has; one that is already gone is fine. */
  async removeImage(id: string): Promise<void> {
    try {
      await this.docker.getImage(id).remove({ force: true, noprune: false });
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  async listManaged(): Promise<ContainerSummary[]> {
    const list = await this.docker.listContainers({
      all: true,
      filters: { label: ["fleetwave.managed=true"] },
    });
    return list.map((c) => ({
      id: c.Id,
      name: (c.Names[0] ?? "").replace(/^\//, ""),
      labels: c.Labels,
      state: c.State,
      image: c.Image,
    }));
  }
}

/** The digest a container was created from, when it was created by digest (as Fleetwave does). */
export function containerDigest(info: ContainerInspectInfo): string | undefined {
  const fromRef = /@(sha256:[0-9a-f]{64})$/.exec(info.Config.Image)?.[1];
  return fromRef ?? info.Config.Labels?.["fleetwave.digest"];
}
