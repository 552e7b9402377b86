/**
 * GitHub adapter: opens the sync PR, or updates the open one for the same branch (never a
 * duplicate), and closes the sync PRs nobody merged, so a reviewer has exactly one to read.
 * Talks to `GITHUB_API_URL` (GitHub Enterprise, or a local fake in tests) through Octokit with
 * its retry plugin (server errors, lost connections) and throttling plugin (rate limits).
 */
import { retry } from "@octokit/plugin-retry";
import { throttling } from "@octokit/plugin-throttling";
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
  /** Open PRs into `base` from branches with this prefix are earlier syncs, replaced by this one. */
  replacesPrefix: string;
}

export interface ReplacedPullRequest {
  number: number;
  url: string;
  /** Its branch, for the caller to delete once the PR is closed. */
  head: string;
}

export interface PullRequestResult {
  action: "created" | "updated";
  number: number;
  url: string;
  /** Earlier sync PRs left open (nobody merged them), now closed with a comment naming this one. */
  replaced: ReplacedPullRequest[];
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

const RetryingOctokit = Octokit.plugin(retry, throttling);

/** Rate-limited requests wait as GitHub asks, at most this many times each. */
const RATE_LIMIT_RETRIES = 2;

export function githubClient(target: GitHubTarget, log: (line: string) => void): Octokit {
  const onLimit =
    (kind: string) =>
    (after: number, options: { method: string; url: string }, _o: unknown, count: number) => {
      log(`GitHub ${kind} on ${options.method} ${options.url}; retrying in ${after}s`);
      return count < RATE_LIMIT_RETRIES;
    };
  return new RetryingOctokit({
    auth: target.token,
    baseUrl: target.baseUrl,
    userAgent: "fleetwave-sync",
    // Octokit's own warnings (a failed request it retries) go to the sync's log, not the console.
    log: { debug: () => undefined, info: () => undefined, warn: log, error: log },
    throttle: { onRateLimit: onLimit("rate limit"), onSecondaryRateLimit: onLimit("secondary rate limit") },
  });
}

function replacesLine(replaced: ReplacedPullRequest[]): string {
  const refs = replaced.map((pr) => `#${pr.number}`).join(", ");
  return `Replaces ${refs}: ${replaced.length === 1 ? "that sync was" : "those syncs were"} not merged, so ${replaced.length === 1 ? "it is" : "they are"} closed and this PR carries everything since.`;
}

/**
 * Opens the sync PR, or updates the open one of the same branch. Earlier sync PRs still open
 * into the same base are then closed with a comment pointing to this one; the new PR's body
 * names them. The PR is created before any is closed, so there is never no sync PR to review.
 */
export async function openOrUpdatePullRequest(
  target: GitHubTarget,
  spec: PullRequestSpec,
  log: (line: string) => void = () => undefined,
): Promise<PullRequestResult> {
  const octokit = githubClient(target, log);
  const { owner, repo } = target;
  try {
    const open = await octokit.paginate(octokit.rest.pulls.list, {
      owner,
      repo,
      base: spec.base,
      state: "open",
      per_page: 100,
    });
    // Branches of this repository only: a contributor's fork may use the same branch names.
    const ours = open.filter((pr) => pr.head.repo?.full_name === `${owner}/${repo}`);
    const existing = ours.find((pr) => pr.head.ref === spec.head);
    const replaced: ReplacedPullRequest[] = ours
      .filter((pr) => pr.head.ref !== spec.head && pr.head.ref.startsWith(spec.replacesPrefix))
      .map((pr) => ({ number: pr.number, url: pr.html_url, head: pr.head.ref }));
    const body = replaced.length > 0 ? `${replacesLine(replaced)}\n\n${spec.body}` : spec.body;
    let result: PullRequestResult;
    if (existing) {
      const updated = await octokit.rest.pulls.update({
        owner,
        repo,
        pull_number: existing.number,
        title: spec.title,
        body,
      });
      result = { action: "updated", number: updated.data.number, url: updated.data.html_url, replaced };
    } else {
      const created = await octokit.rest.pulls.create({
        owner,
        repo,
        head: spec.head,
        base: spec.base,
        title: spec.title,
        body,
      });
      result = { action: "created", number: created.data.number, url: created.data.html_url, replaced };
    }
    for (const old of replaced) {
      await octokit.rest.issues.createComment({
        owner,
        repo,
        issue_number: old.number,
        body: `Replaced by #${result.number} (${spec.head}): it carries this sync's upstream commits and the newer ones. Closing this one and deleting its branch ${old.head}.`,
      });
      await octokit.rest.pulls.update({ owner, repo, pull_number: old.number, state: "closed" });
    }
    return result;
  } catch (error) {
    throw new GitHubError(`GitHub API (${target.baseUrl}, ${owner}/${repo}): ${describe(error)}`);
  }
}
