import { execFile } from "node:child_process";
import { lstat, mkdir, readdir, statfs } from "node:fs/promises";
import { join } from "node:path";
import type Dockerode from "dockerode";
import { InsufficientSpaceError, SnapshotFailedError } from "./errors.ts";
import type { SnapshotVia } from "./types.ts";

const BLOCK = 512;
/** A ustar header plus a pax header (mtime, xattrs) with its data block: what tar adds per entry. */
const PER_ENTRY_OVERHEAD = 3 * BLOCK;
/** End-of-archive blocks padded to GNU tar's 10 KiB record. */
const ARCHIVE_TAIL = 10_240;

const roundUp = (n: number) => Math.ceil(n / BLOCK) * BLOCK;

function duNumber(args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    execFile("du", args, { env: { ...process.env, LC_ALL: "C" } }, (error, stdout) => {
      const value = Number.parseInt(stdout.split(/\s/)[0] ?? "", 10);
      if (error || !Number.isFinite(value))
        reject(error ?? new Error(`du printed ${JSON.stringify(stdout)}`));
      else resolve(value);
    });
  });
}

/**
 * Estimates the size of a tar of `root`: GNU du's apparent size (hardlinks once, never following
 * symlinks) plus tar's headers for every inode du counts. Two du runs take tens of milliseconds where a
 * walk in Node takes hundreds for tens of thousands of files; the walk is the fallback when du fails.
 */
export async function estimateDirectoryTarBytes(root: string): Promise<number> {
  try {
    const [bytes, inodes] = await Promise.all([
      duNumber(["-s", "-B1", "--apparent-size", "--", root]),
      duNumber(["-s", "--inodes", "--", root]),
    ]);
    // Each file's data is padded to 512 bytes: at most one block per inode on top of the apparent size.
    return bytes + inodes * (PER_ENTRY_OVERHEAD + BLOCK) + ARCHIVE_TAIL;
  } catch {
    return walkDirectoryTarBytes(root);
  }
}

/**
 * Walks a directory with lstat (never following symlinks) and estimates the size of its tar: every entry
 * costs its headers, every regular file its apparent size rounded to 512 bytes, hardlinked files once.
 * The apparent size over-estimates sparse files, which is the safe side.
 */
function ifVanished<T>(value: T): (error: NodeJS.ErrnoException) => T {
  return (error) => {
    if (error.code === "ENOENT" || error.code === "ENOTDIR") return value;
    throw error;
  };
}

export async function walkDirectoryTarBytes(root: string): Promise<number> {
  const seenInodes = new Set<string>();
  let total = ARCHIVE_TAIL + PER_ENTRY_OVERHEAD; // the root's own `./` entry
  const pending: string[] = [root];
  while (pending.length > 0) {
    const dir = pending.pop()!;
    // The bot may still run (a pair's level-0 is estimated before the stop): what vanishes while
    // this walks is simply not counted.
    const names = await readdir(dir).catch(ifVanished([] as string[]));
    const stats = await Promise.all(
      names.map((name) => lstat(join(dir, name), { bigint: true }).catch(ifVanished(undefined))),
    );
    stats.forEach((stat, i) => {
      if (!stat) return;
      total += PER_ENTRY_OVERHEAD;
      if (stat.isDirectory()) pending.push(join(dir, names[i]!));
      else if (stat.isFile()) {
        if (stat.nlink > 1n) {
          const key = `${stat.dev}:${stat.ino}`;
          if (seenInodes.has(key)) return;
          seenInodes.add(key);
        }
        total += roundUp(Number(stat.size));
      }
    });
  }
  return total;
}

interface DfVolume {
  Name: string;
  UsageData?: { Size: number; RefCount: number } | null;
}

/** docker-modem's dial, which @types/dockerode leaves untyped. */
interface ModemDial {
  dial(
    options: {
      path: string;
      method: string;
      options: Record<string, unknown>;
      statusCodes: Record<number, boolean | string>;
    },
    callback: (error: Error | null, data: unknown) => void,
  ): void;
}

/**
 * Disk usage of a volume as the Engine computes it for `docker system df -v` (GET /system/df?type=volume,
 * Engine API 1.42+): the apparent size of its files, hardlinks once. Undefined when the driver cannot tell
 * (the Engine reports -1 for volumes of other drivers).
 */
export async function engineVolumeSize(docker: Dockerode, volume: string): Promise<number | undefined> {
  const modem = docker.modem as ModemDial;
  const data = await new Promise<unknown>((resolve, reject) => {
    modem.dial(
      {
        path: "/system/df?",
        method: "GET",
        options: { type: ["volume"] },
        statusCodes: { 200: true, 400: "bad parameter", 500: "server error" },
      },
      (error, body) => (error ? reject(error) : resolve(body)),
    );
  });
  const volumes = (data as { Volumes?: DfVolume[] | null }).Volumes ?? [];
  const size = volumes.find((v) => v.Name === volume)?.UsageData?.Size;
  return size !== undefined && size >= 0 ? size : undefined;
}

/** The named volume a container mounts at `mountPath`. */
export async function volumeAt(docker: Dockerode, container: string, mountPath: string): Promise<string> {
  const info = await docker.getContainer(container).inspect();
  const mount = info.Mounts.find((m) => m.Type === "volume" && m.Destination === mountPath && m.Name);
  if (!mount?.Name) {
    throw new SnapshotFailedError(
      `container ${container} has no named volume mounted at ${mountPath}; snapshot a path where a volume is mounted`,
    );
  }
  return mount.Name;
}

/**
 * Bytes a snapshot of this volume will take in the snapshots directory.
 * - mountpoint: GNU du's apparent size and inode count of the directory, plus tar headers
 *   (see estimateDirectoryTarBytes).
 * - archive: the Engine's volume size from `GET /system/df?type=volume`, plus 10% and 1 MiB for tar
 *   headers (the Engine does not count entries); 0 when the Engine cannot tell, so only the margin of
 *   ensureSpaceFor protects such volumes.
 */
export async function estimateVolumeBytes(via: SnapshotVia): Promise<number> {
  if (via.kind === "mountpoint") return estimateDirectoryTarBytes(via.path);
  const volume = await volumeAt(via.docker, via.container, via.mountPath);
  const size = await engineVolumeSize(via.docker, volume);
  return size === undefined ? 0 : Math.ceil(size * 1.1) + (1 << 20);
}

export interface SpaceCheck {
  neededBytes: number;
  availableBytes: number;
}

/**
 * Throws InsufficientSpaceError unless `dir` (created if missing) has room for `bytes` plus the margin.
 * Available space is what an unprivileged writer gets (f_bavail), not counting root's reserve.
 */
export async function ensureSpaceIn(dir: string, bytes: number, marginBytes: number): Promise<SpaceCheck> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const fs = await statfs(dir, { bigint: true });
  const availableBytes = Number(fs.bavail * fs.bsize);
  const neededBytes = Math.ceil(bytes) + marginBytes;
  if (availableBytes < neededBytes) throw new InsufficientSpaceError(dir, neededBytes, availableBytes);
  return { neededBytes, availableBytes };
}
