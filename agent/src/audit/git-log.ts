import { git } from "../git/git.ts";
import type { RawCommit } from "./history.ts";

/** Every commit of the repository at `cwd` with its trailers, newest first. */
export async function readAuditLog(cwd: string): Promise<RawCommit[]> {
  const out = await git(["log", "--format=%H%x1f%cI%x1f%an%x1f%(trailers:only,unfold)%x1e"], { cwd });
  return out.stdout
    .split("\x1e")
    .map((r) => r.replace(/^\n/, ""))
    .filter((r) => r.trim() !== "")
    .map((r) => {
      const [sha = "", date = "", author = "", trailers = ""] = r.split("\x1f");
      return { sha, date, author, trailers };
    });
}
