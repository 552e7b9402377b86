import type { GeneratedChangelog } from "../changelog/generate.ts";
import type { SyncSummary } from "../changelog/render.ts";
import type { GitIdentity } from "./git.ts";
import type { PullRequestResult } from "./github.ts";

export type SyncStrategy = "rebase" | "merge";

export interface SyncOptions {
  /** The fork's clone (remotes `origin` = the fork, `upstream` = the public app). */
  repo: string;
  /** Sets (or updates) the `upstream` remote's URL; without it the remote must exist. */
  upstreamUrl?: string;
  /** Upstream's branch to take. */
  upstreamBranch: string;
  /** The fork's branch the sync starts from and the PR targets. */
  branch: string;
  strategy: SyncStrategy;
  /** UTC day used in branch and file names, YYYY-MM-DD. */
  date: string;
  identity: GitIdentity;
  /** Hosted-mode YAML; relative paths are taken from the repository root. */
  configPath?: string;
  /** Push the sync branch to origin (default true). */
  push: boolean;
  openPr: boolean;
  env: NodeJS.ProcessEnv;
  log: (line: string) => void;
}

export type SyncOutcome = "synced" | "up-to-date" | "conflicts";

export interface SyncResult {
  outcome: SyncOutcome;
  /** 0 synced, 2 nothing new upstream, 1 conflicts. (Other failures throw.) */
  exitCode: 0 | 1 | 2;
  report: string;
  title: string | null;
  summary: SyncSummary | null;
  changelog: GeneratedChangelog | null;
  pushed: boolean;
  pullRequest: PullRequestResult | null;
}
