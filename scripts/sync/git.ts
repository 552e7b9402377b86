/**
 * Sync's view of the one git adapter (agent/src/git/git.ts): the same `Git`, committing as the
 * sync runner unless told otherwise.
 */
import { Git as AdapterGit, type GitIdentity, type GitOptions } from "#fleetwave/git/git.ts";

export { GitError, type GitIdentity, type GitResult } from "#fleetwave/git/git.ts";

export const DEFAULT_IDENTITY: GitIdentity = {
  name: "Fleetwave Sync",
  email: "fleetwave-sync@users.noreply.github.com",
};

/** Git in one directory; every commit is made as `identity` (default DEFAULT_IDENTITY). */
export class Git extends AdapterGit {
  constructor(cwd: string, options: Omit<GitOptions, "cwd"> = {}) {
    super(cwd, { ...options, identity: options.identity ?? DEFAULT_IDENTITY });
  }
}
