import { spawn } from "node:child_process";
import type { Readable } from "node:stream";
import { SnapshotFailedError } from "./errors.ts";

/**
 * GNU tar flags of the direct (Mountpoint) path. `--format=posix` because xattrs and ACLs live in pax
 * headers (tar switches to it by itself for --xattrs, said here so it never depends on that); numeric
 * owners so a uid without a name in this host's /etc/passwd round-trips; --sparse so sparse files stay
 * sparse (tar only inspects files whose block count is below their size, through SEEK_HOLE).
 */
export const CREATE_FLAGS = [
  "--create",
  "--format=posix",
  "--numeric-owner",
  "--xattrs",
  "--xattrs-include=*",
  "--acls",
  "--sparse",
] as const;

/**
 * Extraction restores owners and modes (also of the volume root, through the `./` entry), every xattr
 * namespace (GNU tar restores only `user.*` by default), ACLs and sparse files.
 */
export const EXTRACT_FLAGS = [
  "--extract",
  "--numeric-owner",
  "--xattrs",
  "--xattrs-include=*",
  "--acls",
  "--same-permissions",
  "--same-owner",
] as const;

/**
 * How a pair's level-0 yields to the running bot: `nice` for the CPU and the best-effort class's lowest
 * priority for I/O (not the idle class, which a busy bot could starve forever, so the level-0 never ends).
 */
export const LOW_PRIORITY = ["nice", "-n", "10", "ionice", "-c", "2", "-n", "7"] as const;

const STDERR_TAIL = 4096;

export interface TarRunOptions {
  tarCommand?: string;
  /** Run under LOW_PRIORITY. */
  lowPriority?: boolean;
  /**
   * Exit code 1 ("some files differ": changed, shrunk or removed while read) is success, and files or
   * directories that vanish while read are warnings (--ignore-failed-read). Only for a pair's
   * level-0, which may be torn because its level-1 catches every such file.
   */
  changesExpected?: boolean;
}

export interface TarProcess {
  stdout: Readable;
  /** Resolves when tar exited 0; rejects with SnapshotFailedError carrying tar's stderr otherwise. */
  done: Promise<void>;
  kill(): void;
}

/** Runs GNU tar with LC_ALL=C, keeping the end of its stderr for the error message. */
export function runTar(args: readonly string[], what: string, options: TarRunOptions = {}): TarProcess {
  const tarCommand = options.tarCommand ?? "tar";
  const [command, ...prefix] = options.lowPriority ? [...LOW_PRIORITY, tarCommand] : [tarCommand];
  // A directory the running bot removes while the level-0 lists it is a fatal "Cannot stat" (exit
  // 2) without --ignore-failed-read; the level-1 after the stop records what is really there.
  const tolerate = options.changesExpected ? ["--ignore-failed-read"] : [];
  const child = spawn(command!, [...prefix, ...tolerate, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, LC_ALL: "C" },
  });
  let stderr = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (text: string) => {
    stderr = (stderr + text).slice(-STDERR_TAIL);
  });
  const done = new Promise<void>((resolve, reject) => {
    child.once("error", (error) => {
      reject(new SnapshotFailedError(`${what}: cannot run ${tarCommand}: ${error.message}; install GNU tar`));
    });
    child.once("close", (code, signal) => {
      if (code === 0 || (code === 1 && options.changesExpected)) resolve();
      else {
        const why = signal ? `was killed by ${signal}` : `exited with ${code}`;
        reject(new SnapshotFailedError(`${what}: tar ${why}: ${stderr.trim() || "(no message)"}`));
      }
    });
  });
  return {
    stdout: child.stdout,
    done,
    kill: () => {
      if (child.exitCode === null) child.kill("SIGKILL");
    },
  };
}
