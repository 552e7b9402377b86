import type { ContainerCreateOptions, ContainerInspectInfo } from "dockerode";
import type { ImageDefaults } from "./drift.ts";

/**
 * What the agent and the update engine ask of a container engine: exactly the calls they make,
 * each one Engine request. `DockerAdapter` implements it against the Docker Engine API; the
 * agent depends on this port only, so a bench can run the whole agent against a simulation.
 */
export interface EnginePort {
  /** Whether the Engine answers within `timeoutMs`; never throws. */
  ping(timeoutMs?: number): Promise<boolean>;
  /** Pulls `repository@digest`; the bot keeps running meanwhile. */
  pull(repository: string, digest: string): Promise<void>;
  /** Pulls a channel tag and returns the digest it points at in the registry. */
  resolveTag(repository: string, tag: string): Promise<string>;
  imageExists(ref: string): Promise<boolean>;
  /** A container by name or id; undefined when there is none. */
  inspect(nameOrId: string): Promise<ContainerInspectInfo | undefined>;
  /** The registry digest of the image a container runs (for a container created by tag). */
  runningDigest(info: ContainerInspectInfo, repository: string): Promise<string | undefined>;
  /** Every container labelled `fleetwave.managed=true`, running or not. */
  listManaged(): Promise<ContainerSummary[]>;
  /** Creates a container; returns its id. */
  create(options: ContainerCreateOptions): Promise<string>;
  /** Starts a container; one already running is fine. */
  start(id: string): Promise<void>;
  /** Stops with SIGTERM, then SIGKILL after `timeoutSeconds`. Already stopped is fine. */
  stop(id: string, timeoutSeconds: number): Promise<void>;
  rename(id: string, name: string): Promise<void>;
  /** Removes a container (forcing a running one); one that is already gone is fine. */
  remove(id: string): Promise<void>;
  volumeMountpoint(name: string): Promise<string>;
  listImages(): Promise<LocalImage[]>;
  /** What an image brings to every container made from it (drift is measured without it). */
  imageDefaults(image: string): Promise<ImageDefaults>;
  /** Image ids of every container on the engine, managed or not, running or not. */
  imagesInUse(): Promise<Set<string>>;
  /** Removes an image and every name it has; one that is already gone is fine. */
  removeImage(id: string): Promise<void>;
}

/** A local image as the clean-up sees it. */
export interface LocalImage {
  id: string;
  /** Seconds since the epoch, as the Engine reports it. */
  created: number;
  /** Every `repository:tag` and `repository@digest` naming it. */
  refs: string[];
}

export interface ContainerSummary {
  id: string;
  name: string;
  labels: Record<string, string>;
  state: string;
  image: string;
}
