/**
 * What `fleetwave --version` reports. scripts/build.ts replaces this module with the package
 * version and the commit it was built from; run from a source checkout, the version comes from
 * package.json and the commit is the checkout's HEAD ("dev" outside a git checkout).
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

export interface BuildInfo {
  version: string;
  commit: string;
}

export function buildInfo(): BuildInfo {
  const root = new URL("../../", import.meta.url);
  const { version } = JSON.parse(readFileSync(new URL("package.json", root), "utf8")) as { version: string };
  let commit = "dev";
  try {
    commit = execFileSync("git", ["rev-parse", "HEAD"], {
      cwd: root,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
  } catch {
    // Not a git checkout (an unpacked tarball run through tsx): "dev" says so.
  }
  return { version, commit };
}
