/**
 * The plan as a comment on the merged pull request that triggered the build: its waves, targets
 * and a link to the plan file. One comment per pull request, found again by a hidden marker and
 * updated when the workflow runs again (a re-run, or a rebuild of the same merge).
 */
import type { getOctokit } from "@actions/github";
import { formatPlanMarkdown } from "#fleetwave/plan/render.ts";
import type { LandedPlan } from "./run.ts";

type GitHub = ReturnType<typeof getOctokit>;

export const COMMENT_MARKER = "<!-- fleetwave:rollout-plan -->";

interface OwnerRepo {
  owner: string;
  repo: string;
}

function ownerRepo(value: string): OwnerRepo | undefined {
  const [owner, repo, extra] = value.split("/");
  return owner && repo && extra === undefined ? { owner, repo } : undefined;
}

/** owner/name of a GitHub remote URL (https or ssh), or undefined for anything else (a path). */
export function repositoryOfRemote(url: string): string | undefined {
  const match = /^(?:https?:\/\/[^/]+\/|git@[^:]+:|ssh:\/\/git@[^/]+\/)([^/]+)\/([^/]+?)(?:\.git)?\/?$/.exec(
    url.trim(),
  );
  return match ? `${match[1]}/${match[2]}` : undefined;
}

export interface CommentSettings {
  /** owner/name of the repository whose merged pull request built the image. */
  sourceRepository: string;
  /** The merge commit the image was built from. */
  sourceCommit: string;
  /** The pull request of a `pull_request: closed` event, when that triggered the workflow. */
  eventPullNumber?: number;
  /** owner/name of the fleet repository; empty: from its origin URL, else the source repository. */
  fleetRepository: string;
  serverUrl: string;
  /** This workflow run, linked from the comment. */
  runUrl?: string;
}

export function planCommentBody(landed: LandedPlan, settings: CommentSettings): string {
  const fleet = settings.fleetRepository || repositoryOfRemote(landed.originUrl) || settings.sourceRepository;
  const planUrl = `${settings.serverUrl}/${fleet}/blob/${landed.commit}/${landed.path}`;
  const markdown = formatPlanMarkdown(landed.plan, landed.excluded, { planPath: landed.path, planUrl });
  const footer = settings.runUrl ? `\nPlanned by [this workflow run](${settings.runUrl}).\n` : "";
  return `${COMMENT_MARKER}\n${markdown}${footer}`;
}

export interface CommentResult {
  action: "created" | "updated";
  pullNumber: number;
  url: string;
}

/** The merged pull request whose merge commit is `sha`, if GitHub knows one. */
async function mergedPull(github: GitHub, repo: OwnerRepo, sha: string): Promise<number | undefined> {
  const { data } = await github.rest.repos.listPullRequestsAssociatedWithCommit({ ...repo, commit_sha: sha });
  const merged = data.filter((pr) => pr.merged_at !== null);
  return (merged.find((pr) => pr.merge_commit_sha === sha) ?? merged[0])?.number;
}

/**
 * Creates or updates the plan comment. Undefined (and a log line saying why) when no merged pull
 * request built this commit: a push straight to the branch, or a manual run.
 */
export async function commentOnMergedPull(
  github: GitHub,
  landed: LandedPlan,
  settings: CommentSettings,
  log: (line: string) => void,
): Promise<CommentResult | undefined> {
  const repo = ownerRepo(settings.sourceRepository);
  if (!repo || !settings.sourceCommit) {
    log("No source repository and commit (GITHUB_REPOSITORY, GITHUB_SHA): no pull-request comment");
    return undefined;
  }
  const number = settings.eventPullNumber ?? (await mergedPull(github, repo, settings.sourceCommit));
  if (number === undefined) {
    log(`No merged pull request has ${settings.sourceCommit.slice(0, 12)} as its merge commit: no comment`);
    return undefined;
  }
  const body = planCommentBody(landed, settings);
  const comments = await github.paginate(github.rest.issues.listComments, {
    ...repo,
    issue_number: number,
    per_page: 100,
  });
  const ours = comments.find((c) => c.body?.startsWith(COMMENT_MARKER));
  if (ours) {
    const { data } = await github.rest.issues.updateComment({ ...repo, comment_id: ours.id, body });
    return { action: "updated", pullNumber: number, url: data.html_url };
  }
  const { data } = await github.rest.issues.createComment({ ...repo, issue_number: number, body });
  return { action: "created", pullNumber: number, url: data.html_url };
}
