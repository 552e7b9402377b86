/** Glue for one changelog: read the range from git, build, render, optionally write. */
import type { Git } from "#fleetwave/git/git.ts";
import { buildChangelog, type Changelog, toUserFacing, type UserFacingChangelog } from "./build.ts";
import type { HostedModeConfig } from "./exclusions.ts";
import { type ChangelogFiles, writeChangelogFiles } from "./files.ts";
import { describeVersion, readCommits, upstreamGitHubPage } from "./git-commits.ts";
import { renderInternalMarkdown, type SyncSummary } from "./render.ts";

export interface GenerateOptions {
  git: Git;
  /** Full sha of the exclusive start. */
  from: string;
  /** Full sha of the inclusive end. */
  to: string;
  date: string;
  config: HostedModeConfig;
  /** Where to write (`<repo>/changelogs`); null renders without writing. */
  outDir: string | null;
  sync?: SyncSummary;
  /**
   * The upstream's GitHub page, for `(#123)` links; by default read from the `upstream` remote
   * (null: no links).
   */
  github?: string | null;
}

export interface GeneratedChangelog {
  changelog: Changelog;
  userFacing: UserFacingChangelog;
  internalMarkdown: string;
  files: ChangelogFiles | null;
}

export async function generateChangelog(options: GenerateOptions): Promise<GeneratedChangelog> {
  const { git, from, to, date } = options;
  const [commits, version, github] = await Promise.all([
    readCommits(git, from, to),
    describeVersion(git, to, date),
    options.github === undefined ? upstreamGitHubPage(git) : options.github,
  ]);
  const changelog = buildChangelog({
    commits,
    config: options.config,
    date,
    version,
    range: { from, to },
    github,
  });
  const userFacing = toUserFacing(changelog);
  const internalMarkdown = renderInternalMarkdown(changelog, options.sync);
  const files = options.outDir
    ? await writeChangelogFiles(options.outDir, userFacing, internalMarkdown)
    : null;
  return { changelog, userFacing, internalMarkdown, files };
}
