import { join } from "node:path";

export interface SnapshotStoreOptions {
  /** The agent's data dir; snapshots live in `<dataDir>/snapshots`. */
  dataDir: string;
  /** Free space that must remain after a snapshot, on top of its estimate. Default 16 MiB. */
  marginBytes?: number;
  /**
   * fsync the tar, the manifest and the directory, and syncfs the volume after a direct restore, so a
   * manifest that exists after a crash describes a tar that is on disk. Default true; off only in benchmarks.
   */
  durable?: boolean;
  /** GNU tar to run; default `tar` from PATH. */
  tarCommand?: string;
  now?: () => Date;
  /** Called with the duration of each phase (e.g. `restore.stage`), for timings and benchmarks. */
  onPhase?: (phase: string, seconds: number) => void;
}

/** The settings the catalog, the writer and the restorers of one store share. */
export interface StoreContext {
  /** `<dataDir>/snapshots`. */
  dir: string;
  marginBytes: number;
  durable: boolean;
  tarCommand: string;
  now: () => Date;
  /** Runs one named phase, reporting its duration to `onPhase`. */
  phase<T>(name: string, step: () => Promise<T>): Promise<T>;
}

const DEFAULT_MARGIN = 16 << 20;

export function storeContext(options: SnapshotStoreOptions): StoreContext {
  const { onPhase } = options;
  return {
    dir: join(options.dataDir, "snapshots"),
    marginBytes: options.marginBytes ?? DEFAULT_MARGIN,
    durable: options.durable ?? true,
    tarCommand: options.tarCommand ?? "tar",
    now: options.now ?? (() => new Date()),
    async phase<T>(name: string, step: () => Promise<T>): Promise<T> {
      if (!onPhase) return step();
      const start = performance.now();
      try {
        return await step();
      } finally {
        onPhase(name, (performance.now() - start) / 1000);
      }
    },
  };
}
