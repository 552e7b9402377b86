import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { FleetwaveError } from "../errors.ts";
import { currentBranch, git, tryGit } from "../git/git.ts";

/** A CLI edit of the fleet repository that would mix with someone's uncommitted work. */
export class CloneEditError extends FleetwaveError {
  override name = "CloneEditError";
}

/** Whoever runs the command, for the Fleetwave-Actor trailer: `--actor`, else git's user.name. */
export async function cliActor(repo: string, flag: string | undefined): Promise<string> {
  if (flag?.trim()) return flag.trim();
  const name = await tryGit(["config", "user.name"], { cwd: repo });
  const actor = name.code === 0 ? name.stdout.trim() : "";
  if (!actor)
    throw new CloneEditError(
      "cannot tell who acts: pass --actor NAME or set git's user.name in the fleet repository",
    );
  return actor;
}

/**
 * Writes `files` in the operator's clone of the fleet repository and commits only them with
 * `message` (its Fleetwave-* trailers are the audit record). Nothing is pushed: the operator
 * pushes or opens a pull request, as with a plan. A file with uncommitted changes is refused so
 * the commit holds exactly the edit.
 */
export async function commitInClone(
  repo: string,
  files: Record<string, string>,
  message: string,
): Promise<{ commit: string; branch: string }> {
  const paths = Object.keys(files);
  const dirty = await git(["status", "--porcelain", "--", ...paths], { cwd: repo });
  if (dirty.stdout.trim() !== "")
    throw new CloneEditError(
      `${paths.join(", ")} has uncommitted changes in ${repo}; commit or stash them first`,
    );
  for (const [path, text] of Object.entries(files)) await writeFile(join(repo, path), text);
  const messageFile = join(repo, ".git", "FLEETWAVE_CLI_MSG");
  await writeFile(messageFile, message);
  await git(["add", "--", ...paths], { cwd: repo });
  await git(["commit", "--quiet", "--cleanup=verbatim", "-F", messageFile, "--", ...paths], { cwd: repo });
  const commit = (await git(["rev-parse", "HEAD"], { cwd: repo })).stdout.trim();
  return { commit, branch: (await currentBranch(repo)) ?? "HEAD" };
}
