import { writeFile } from "node:fs/promises";
import { isAbsolute, resolve } from "node:path";
import { z } from "zod";
import { UsageError } from "#fleetwave/errors.ts";
import { calendarDate, utcToday } from "#scripts/changelog/files.ts";
import { DEFAULT_IDENTITY } from "#scripts/sync/git.ts";
import { syncUpstream } from "#scripts/sync/sync.ts";
import { type Command, parseFlags } from "../command.ts";

const usage = `Usage: fleetwave sync-upstream --repo PATH [--upstream URL] [--strategy rebase|merge] [--open-pr]
                               [--branch main] [--upstream-branch main] [--date YYYY-MM-DD]
                               [--config FILE] [--report FILE] [--no-push]
                               [--author-name NAME] [--author-email EMAIL]

The nightly sync of the fork with its upstream, in the fork's clone:
  1. fetch upstream (--upstream sets or updates the \`upstream\` remote) and origin
  2. record backup/pre-sync-DATE at the fork's main
  3. create sync/upstream-DATE from main and rebase it onto upstream (or merge upstream into it);
     on conflicts abort, keep main untouched and report the files and the commands to finish by hand
  4. guard scan: files upstream changed must match the hosted-mode guard rules
  5. write and commit changelogs/internal/DATE.md, changelogs/user-facing/DATE.json and latest.json
  6. push sync/upstream-DATE to origin (--force-with-lease; only ever that branch)
  7. --open-pr: open the PR, or update the open one for the same branch
     (GITHUB_TOKEN, GITHUB_REPOSITORY, GITHUB_API_URL for GitHub Enterprise)

Flags:
  --repo PATH           the fork's clone (default: current directory)
  --upstream URL        the upstream repository
  --strategy S          rebase (default: the fork's commits replayed on top) or merge (long-lived forks)
  --branch B            the fork's branch to sync and the PR's base (default: main)
  --upstream-branch B   upstream's branch (default: main)
  --date DATE           the day in branch and file names (default: today, UTC)
  --config FILE         hosted-mode exclusions and guards (default: scripts/hosted-mode.yaml, optional)
  --report FILE         also write the report (the PR body) there, e.g. "$GITHUB_STEP_SUMMARY"
  --no-push             keep the sync branch local (cannot be combined with --open-pr)
  --author-name, --author-email   identity of the sync's commits
                        (default: ${DEFAULT_IDENTITY.name} <${DEFAULT_IDENTITY.email}>)

Exit codes: 0 synced, 2 nothing new upstream, 1 conflicts or failure (the report is still printed).`;

const schema = z
  .strictObject({
    repo: z.string().min(1).optional(),
    upstream: z.string().min(1).optional(),
    strategy: z.enum(["rebase", "merge"]).default("rebase"),
    branch: z
      .string()
      .regex(/^[A-Za-z0-9._/-]+$/, "not a branch name")
      .default("main"),
    "upstream-branch": z
      .string()
      .regex(/^[A-Za-z0-9._/-]+$/, "not a branch name")
      .default("main"),
    date: calendarDate.optional(),
    config: z.string().min(1).optional(),
    report: z.string().min(1).optional(),
    "open-pr": z.boolean().default(false),
    "no-push": z.boolean().default(false),
    "author-name": z.string().min(1).default(DEFAULT_IDENTITY.name),
    "author-email": z.email().default(DEFAULT_IDENTITY.email),
  })
  .refine((f) => !(f["open-pr"] && f["no-push"]), {
    message: "--open-pr needs the branch pushed; drop --no-push",
    path: ["no-push"],
  });

/** URLs and `user@host:path` pass through; a local path is made absolute against the caller's cwd. */
function upstreamUrl(value: string, cwd: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value) || /^[^/]+@[^/:]+:/.test(value)) return value;
  return isAbsolute(value) ? value : resolve(cwd, value);
}

export const syncUpstreamCommand: Command = {
  name: "sync-upstream",
  summary: "nightly sync of the fork with upstream: sync branch, changelogs, guard scan, PR",
  usage,
  async run(argv, io) {
    const { flags } = parseFlags(argv, schema);
    if (flags.upstream?.startsWith("-")) {
      throw new UsageError(`--upstream: "${flags.upstream}" is not a URL`);
    }
    const result = await syncUpstream({
      repo: resolve(io.cwd, flags.repo ?? "."),
      ...(flags.upstream !== undefined ? { upstreamUrl: upstreamUrl(flags.upstream, io.cwd) } : {}),
      upstreamBranch: flags["upstream-branch"],
      branch: flags.branch,
      strategy: flags.strategy,
      date: flags.date ?? utcToday(),
      identity: { name: flags["author-name"], email: flags["author-email"] },
      ...(flags.config !== undefined ? { configPath: resolve(io.cwd, flags.config) } : {}),
      push: !flags["no-push"],
      openPr: flags["open-pr"],
      env: io.env,
      log: (line) => io.err(line),
    });
    if (flags.report) await writeFile(resolve(io.cwd, flags.report), result.report, "utf8");
    io.out(result.report.trimEnd());
    return result.exitCode;
  },
};
