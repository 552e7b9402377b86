/**
 * GitHub adapter: opens the sync PR, or updates the open one for the same branch (never a
 * duplicate). Talks to `GITHUB_API_URL` (GitHub Enterprise, or a local fake in tests).
 */
import { Octokit } from "@octokit/rest";
import { FleetwaveError } from "#fleetwave/errors.ts";

export interface GitHubTarget {
  owner: string;
  repo: string;
  token: string;
  baseUrl: string;
}

export interface PullRequestSpec {
  /** Branch name in the same repository (`sync/upstream-2026-11-27`). */
  head: string;
  base: string;
  title: string;
  body: string;
}

export interface PullRequestResult {
  action: "created" | "updated";
  number: number;
  url: string;
}

/** GitHub refused a request or could not be reached. */
export class GitHubError extends FleetwaveError {
  override name = "GitHubError";
}

/** `owner/repo` from a GitHub remote URL (https or ssh), or null. */
export function repoFromRemoteUrl(url: string): { owner: string; repo: string } | null {
  const match = /[/:]([A-Za-z0-9_.-]+)\/([A-Za-z0-9_.-]+?)(?:\.git)?\/?$/.exec(url.trim());
  if (!match || !/github/i.test(url)) return null;
  return { owner: match[1]!, repo: match[2]! };
}

/**
 * Where the PR goes: `GITHUB_REPOSITORY` (as set in Actions) or the origin remote's URL,
 * `GITHUB_TOKEN`, and `GITHUB_API_URL` (default https://api.github.com).
 */
export function resolveGitHubTarget(env: NodeJS.ProcessEnv, originUrl: string | null): GitHubTarget {
  const token = env.GITHUB_TOKEN;
  if (!token) throw new FleetwaveError("--open-pr needs GITHUB_TOKEN in the environment");
  let ownerRepo: { owner: string; repo: string } | null = null;
  if (env.GITHUB_REPOSITORY) {
    const [owner, repo, extra] = env.GITHUB_REPOSITORY.split("/");
    if (!owner || !repo || extra !== undefined) {
      throw new FleetwaveError(`GITHUB_REPOSITORY must be owner/repo, got "${env.GITHUB_REPOSITORY}"`);
    }
    ownerRepo = { owner, repo };
  } else if (originUrl) {
    ownerRepo = repoFromRemoteUrl(originUrl);
  }
  if (!ownerRepo) {
    throw new FleetwaveError("--open-pr needs GITHUB_REPOSITORY=owner/repo (or a GitHub URL for origin)");
  }
  const baseUrl = (env.GITHUB_API_URL || "https://api.github.com").replace(/\/+$/, "");
  return { ...ownerRepo, token, baseUrl };
}

function describe(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if (error && typeof error === "object" && "status" in error)
    return `HTTP ${String(error.status)}: ${message}`;
  return message;
}

export async function openOrUpdatePullRequest(
  target: GitHubTarget,
  spec: PullRequestSpec,
): Promise<PullRequestResult> {
  const octokit = new Octokit({ auth: target.token, baseUrl: target.baseUrl, userAgent: "fleetwave-sync" });
  const { owner, repo } = target;
  try {
    const open = await octokit.rest.pulls.list({
      owner,
      repo,
      head: `${owner}:${spec.head}`,
      base: spec.base,
      state: "open",
      per_page: 10,
    });
    const existing = open.data.find((pr) => pr.head.ref === spec.head);
    if (existing) {
      const updated = await octokit.rest.pulls.update({
        owner,
        repo,
        pull_number: existing.number,
        title: spec.title,
        body: spec.body,
      });
      return { action: "updated", number: updated.data.number, url: updated.data.html_url };
    }
    const created = await octokit.rest.pulls.create({
      owner,
      repo,
      head: spec.head,
      base: spec.base,
      title: spec.title,
      body: spec.body,
    });
    return { action: "created", number: created.data.number, url: created.data.html_url };
  } catch (error) {
    throw new GitHubError(`GitHub API (${target.baseUrl}, ${owner}/${repo}): ${describe(error)}`);
  }
}
