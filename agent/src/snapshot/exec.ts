import { spawn } from "node:child_process";
import { open, readdir } from "node:fs/promises";
import { join } from "node:path";
import { SnapshotFailedError } from "./errors.ts";

export async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Runs a program (no shell) and rejects with its stderr when it fails. */
export function run(command: string, args: readonly string[], what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (text: string) => {
      stderr = (stderr + text).slice(-4096);
    });
    child.once("error", (error) => reject(new SnapshotFailedError(`${what}: ${error.message}`)));
    child.once("close", (code) =>
      code === 0
        ? resolve()
        : reject(new SnapshotFailedError(`${what}: ${command} exited ${code}: ${stderr}`)),
    );
  });
}

/**
 * Deletes every entry inside `dir`, dotfiles such as `.a` and `..b` included, and keeps `dir` itself (it is
 * the volume). The names come from readdir and go to `rm -rf --` as arguments, never through a shell glob;
 * coreutils rm is several times faster than fs.rm's recursive walk on many small files.
 */
export async function emptyDirectory(dir: string): Promise<void> {
  const paths = (await readdir(dir)).map((name) => join(dir, name));
  for (let i = 0; i < paths.length; i += 1000) {
    await run("rm", ["-rf", "--", ...paths.slice(i, i + 1000)], `emptying ${dir}`);
  }
  const left = await readdir(dir);
  if (left.length > 0) {
    throw new SnapshotFailedError(`could not empty ${dir}: ${left.slice(0, 5).join(", ")} remained`);
  }
}
