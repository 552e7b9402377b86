/**
 * The URL the agent's clone uses for its remote. git copies a repository given as a plain path
 * file by file (or hard-links it) and ignores `--filter` there: that clone is never partial, and
 * it fails outright when a push to the remote runs `gc --auto` and packs away a loose object
 * mid-copy (seen with 500 agents on one remote). As a `file://` URL the same repository is
 * served like any other remote: one consistent pack, and the filter honoured where the remote
 * allows it (`uploadpack.allowFilter`).
 */
import { resolve } from "node:path";

/** `repo` as git should be given it: URLs and scp-like `host:path` as they are, paths as file://. */
export function remoteUrl(repo: string, cwd = process.cwd()): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(repo)) return repo;
  // git's own rule: a colon before the first slash makes it scp-like ssh (`git@host:org/repo`).
  const colon = repo.indexOf(":");
  const slash = repo.indexOf("/");
  if (colon > 0 && (slash === -1 || colon < slash)) return repo;
  return `file://${resolve(cwd, repo)}`;
}
