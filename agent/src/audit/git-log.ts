import { git } from "../git/git.ts";
import { STATUS_BRANCH_PREFIX } from "../git/status-refs.ts";
import type { RawCommit } from "./history.ts";

/**
 * Every commit of HEAD and of every host's status ref (fleetwave/status/<host>: the branches of a
 * bare remote, the remote-tracking refs of a checkout) with its trailers, newest first: one log
 * merged in commit-time order across hosts.
 */
export async function readAuditLog(cwd: string): Promise<RawCommit[]> {
  const out = await git(
    [
      "log",
      "--date-order",
      "--format=%H%x1f%cI%x1f%an%x1f%(trailers:only,unfold)%x1e",
      "HEAD",
      `--glob=refs/heads/${STATUS_BRANCH_PREFIX}*`,
      `--glob=refs/remotes/*/${STATUS_BRANCH_PREFIX}*`,
    ],
    { cwd },
  );
  return out.stdout
    .split("\x1e")
    .map((r) => r.replace(/^\n/, ""))
    .filter((r) => r.trim() !== "")
    .map((r) => {
      const [sha = "", date = "", author = "", trailers = ""] = r.split("\x1f");
      return { sha, date, author, trailers };
    });
}
