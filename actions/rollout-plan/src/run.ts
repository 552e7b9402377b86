/**
 * The rollout-plan action without the runner: plan with the shared planner, commit the rollout
 * file, land it with fetch-rebase-retry. The entry module (index.ts) is the only place that talks
 * to @actions/core; everything here takes plain values so it runs the same in tests.
 */
import { access, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { isAbsolute, join, relative, resolve, sep } from "node:path";
import { FleetwaveError } from "#fleetwave/errors.ts";
import { currentBranch, git, headCommit, pushWithRetry } from "#fleetwave/git/git.ts";
import { checkoutStatusFiles, fetchStatusRefs } from "#fleetwave/git/status-refs.ts";
import { signingConfig } from "#fleetwave/git/verify.ts";
import type { Problem } from "#fleetwave/model/problems.ts";
import type { Rollout } from "#fleetwave/model/rollout.ts";
import { strategyNames } from "#fleetwave/model/strategy.ts";
import { InvalidFleetStateError, loadValidState, preparePlan, writePlanFile } from "#fleetwave/plan/files.ts";
import { DuplicatePlanError, type Exclusion, waveCount } from "#fleetwave/plan/planner.ts";
import {
  formatPlanCommitMessage,
  formatPlanMarkdown,
  formatPlanSummary,
  rolloutFileName,
} from "#fleetwave/plan/render.ts";

/** Defaults of the optional inputs; action.yml declares the same (a test keeps them equal). */
export const INPUT_DEFAULTS = {
  changelog: "",
  strategy: "",
  bot: "",
  "state-path": "",
  push: "true",
  "commit-author": "github-actions[bot] <41898282+github-actions[bot]@users.noreply.github.com>",
  branch: "",
  "allow-empty": "false",
  "source-repository": "",
  "source-commit": "",
  "source-run": "",
  "signing-key": "",
  comment: "true",
  "github-token": "",
  "fleet-repository": "",
} as const;

export type InputName = "image" | "digest" | keyof typeof INPUT_DEFAULTS;
export type Inputs = Record<InputName, string>;

/** The action's outputs; action.yml declares the same names (a test keeps them equal). */
export const OUTPUT_NAMES = ["rollout-id", "plan-path", "targets", "waves", "commit", "pushed"] as const;
export type Outputs = Record<(typeof OUTPUT_NAMES)[number], string>;

export interface RunContext {
  /** GITHUB_WORKSPACE. */
  workspace: string;
  /** The runner's environment, for GITHUB_REPOSITORY / GITHUB_SHA / GITHUB_RUN_ID defaults. */
  env: NodeJS.ProcessEnv;
  now: Date;
  log: (line: string) => void;
}

/** A plan in the fleet repository, for the comment on the pull request that triggered it. */
export interface LandedPlan {
  plan: Rollout;
  excluded: Exclusion[];
  /** Relative to the fleet repository's root. */
  path: string;
  /** The commit that has the plan file (the plan commit, or HEAD for an earlier plan). */
  commit: string;
  /** The fleet repository's origin URL, to name it on GitHub. */
  originUrl: string;
}

export type RunResult =
  | { kind: "planned"; outputs: Outputs; summary: string; markdown: string; landed: LandedPlan }
  | { kind: "nothing-to-do"; outputs: Outputs; summary: string; markdown: string }
  | { kind: "already-planned"; outputs: Outputs; message: string; landed: LandedPlan };

/** An input is missing or malformed; the message names the input. */
export class InputError extends FleetwaveError {
  override name = "InputError";
}

export function parseBoolean(name: InputName, value: string): boolean {
  const v = value.trim().toLowerCase();
  if (["true", "yes", "1", "on"].includes(v)) return true;
  if (["false", "no", "0", "off"].includes(v)) return false;
  throw new InputError(`input ${name}: expected true or false, got "${value}"`);
}

function parseAuthor(value: string): { name: string; email: string } {
  const match = /^\s*(.+?)\s*<([^<>\s]+@[^<>\s]+)>\s*$/.exec(value);
  if (!match) throw new InputError(`input commit-author: expected "Name <email>", got "${value}"`);
  return { name: match[1]!, email: match[2]! };
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

const posixPath = (path: string) => path.split(sep).join("/");

/** `state-path` may name the repository checkout or its fleet-state directory. */
async function locateState(
  workspace: string,
  statePath: string,
): Promise<{ repo: string; stateDir: string }> {
  const base = resolve(workspace, statePath || ".");
  if (await exists(join(base, "fleet.yaml"))) {
    const top = await git(["rev-parse", "--show-toplevel"], { cwd: base }).catch(() => undefined);
    if (!top) throw new InputError(`input state-path: ${base} is not inside a git checkout`);
    return { repo: top.stdout.trim(), stateDir: base };
  }
  if (await exists(join(base, "fleet-state", "fleet.yaml"))) {
    const top = await git(["rev-parse", "--show-toplevel"], { cwd: base }).catch(() => undefined);
    if (!top)
      throw new InputError(
        `input state-path: ${base} is not a git checkout; check out the fleet repository first`,
      );
    return { repo: top.stdout.trim(), stateDir: join(base, "fleet-state") };
  }
  throw new InputError(
    `input state-path: no fleet-state/fleet.yaml under ${base}; check out the fleet repository (actions/checkout) and point state-path at it`,
  );
}

function sourceOf(inputs: Inputs, env: NodeJS.ProcessEnv): Rollout["source"] {
  const repository = inputs["source-repository"] || env.GITHUB_REPOSITORY || "";
  const commit = inputs["source-commit"] || env.GITHUB_SHA || "";
  if (!repository || !commit) return undefined;
  const run =
    inputs["source-run"] ||
    (env.GITHUB_RUN_ID && env.GITHUB_REPOSITORY
      ? `${env.GITHUB_SERVER_URL || "https://github.com"}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}`
      : "");
  return { repository, commit, ...(run ? { run } : {}) };
}

function outputsOf(
  plan: Pick<Rollout, "id" | "targets">,
  planPath: string,
  commit: string,
  pushed: boolean,
): Outputs {
  return {
    "rollout-id": plan.id,
    "plan-path": planPath,
    targets: String(plan.targets.length),
    waves: String(waveCount(plan)),
    commit,
    pushed: String(pushed),
  };
}

/** Problems to show as annotations when fleet-state is invalid. */
export function problemsOf(error: unknown): Problem[] {
  return error instanceof InvalidFleetStateError ? error.problems : [];
}

export async function runRolloutPlan(inputs: Inputs, context: RunContext): Promise<RunResult> {
  const { workspace, env, now, log } = context;
  if (!inputs.image.trim()) throw new InputError("input image is required, e.g. ghcr.io/acme/app:managed");
  if (!inputs.digest.trim())
    throw new InputError("input digest is required (the build step's digest output)");
  const strategy = inputs.strategy.trim();
  if (strategy && !(strategyNames as readonly string[]).includes(strategy)) {
    throw new InputError(`input strategy: must be one of ${strategyNames.join(", ")}, got "${strategy}"`);
  }
  const bot = inputs.bot.trim();
  const push = parseBoolean("push", inputs.push);
  const allowEmpty = parseBoolean("allow-empty", inputs["allow-empty"]);
  const author = parseAuthor(inputs["commit-author"]);

  const { repo, stateDir } = await locateState(workspace, inputs["state-path"]);
  const branch = inputs.branch.trim() || (await currentBranch(repo)) || env.GITHUB_REF_NAME || "";
  if (push && !branch) {
    throw new InputError(
      "input branch: the checkout is on a detached HEAD; set branch (e.g. main) to push to",
    );
  }
  const basedOn = await headCommit(repo);
  if (!basedOn) throw new InputError(`input state-path: ${repo} has no commits`);

  let changelogPath: string | undefined;
  if (inputs.changelog.trim()) {
    changelogPath = isAbsolute(inputs.changelog) ? inputs.changelog : resolve(repo, inputs.changelog);
    if (!(await exists(changelogPath)))
      throw new InputError(`input changelog: ${changelogPath} does not exist`);
  } else if (await exists(join(repo, "changelogs/user-facing/latest.json"))) {
    changelogPath = join(repo, "changelogs/user-facing/latest.json");
  }

  // What already runs where lives on the hosts' status refs, not on the branch the job checked out.
  const unfetched = await fetchStatusRefs(repo);
  if (unfetched)
    log(
      `Could not fetch the hosts' status refs (${firstLine(unfetched)}); planning from the status files the checkout has`,
    );
  const statusFiles = await checkoutStatusFiles(repo);

  const strategyName = (strategy || (bot ? "single-bot" : "")) as (typeof strategyNames)[number] | "";
  let prepared: Awaited<ReturnType<typeof preparePlan>>;
  try {
    prepared = await preparePlan({
      stateDir,
      cwd: repo,
      image: inputs.image.trim(),
      digest: inputs.digest.trim(),
      ...(changelogPath ? { changelogPath } : {}),
      ...(strategyName ? { strategy: { name: strategyName } } : {}),
      ...(bot ? { bot } : {}),
      now,
      basedOn,
      source: sourceOf(inputs, env),
      statusFiles,
    });
  } catch (error) {
    // Re-running a workflow for a digest that is already planned is a no-op; an aborted digest
    // stays a failure so nobody mistakes it for a fresh plan.
    if (error instanceof DuplicatePlanError && error.existing.control.state !== "aborted") {
      const existing = error.existing;
      const existingFile = join(stateDir, rolloutFileName(existing));
      const planPath = posixPath(relative(workspace, existingFile));
      return {
        kind: "already-planned",
        message: error.message,
        outputs: outputsOf(existing, planPath, "", false),
        landed: {
          plan: existing,
          excluded: [],
          path: posixPath(relative(repo, existingFile)),
          commit: basedOn,
          originUrl: await originUrl(repo),
        },
      };
    }
    throw error;
  }

  const { plan, excluded, state } = prepared;
  const planFile = join(stateDir, prepared.fileName);
  const planPath = posixPath(relative(workspace, planFile));
  const summary = formatPlanSummary(plan, excluded, {
    fleet: state.fleet,
    tenants: state.tenants,
    limit: 200,
  });
  const markdown = formatPlanMarkdown(plan, excluded, { planPath });
  for (const line of summary.split("\n")) log(line);

  if (plan.targets.length === 0) {
    if (!allowEmpty) {
      throw new FleetwaveError(
        `no bot is a target of ${plan.image}@${plan.digest}: ${describeNoTargets(excluded)}. ` +
          "Check the image input against the bots' image in tenants/*.yaml, or set allow-empty: true",
      );
    }
    log("Nothing to do: no bot needs this digest; nothing committed.");
    return { kind: "nothing-to-do", summary, markdown, outputs: outputsOf(plan, "", "", false) };
  }

  await writePlanFile(stateDir, prepared);
  const repoRelative = posixPath(relative(repo, planFile));
  const signing = inputs["signing-key"].trim()
    ? await signingKeyFile(inputs["signing-key"], context)
    : undefined;
  try {
    // Author and committer of the plan commit and of its rebased copies; never a global config.
    // Signing is set through the environment (GIT_CONFIG_COUNT) so that rebased copies are
    // signed as well.
    const gitEnv: NodeJS.ProcessEnv = {
      GIT_AUTHOR_NAME: author.name,
      GIT_AUTHOR_EMAIL: author.email,
      GIT_COMMITTER_NAME: author.name,
      GIT_COMMITTER_EMAIL: author.email,
      ...configEnv(signing ? signingConfig(signing.file) : [["commit.gpgsign", "false"]]),
    };
    await git(["add", "--", repoRelative], { cwd: repo });
    await git(
      ["commit", "--quiet", "--no-verify", "-m", formatPlanCommitMessage(plan, excluded), "--", repoRelative],
      { cwd: repo, env: gitEnv },
    );
    let commit = (await git(["rev-parse", "HEAD"], { cwd: repo })).stdout.trim();
    log(`Committed ${repoRelative} as ${commit}${signing ? " (signed)" : ""}`);

    if (push) {
      const result = await pushWithRetry({
        cwd: repo,
        env: gitEnv,
        branch,
        attempts: 5,
        onRetry: ({ attempt, delayMs, error }) =>
          log(
            `Push attempt ${attempt} to origin/${branch} failed (${firstLine(error.message)}); retrying in ${delayMs} ms`,
          ),
        // Other commits may have landed since the checkout: the plan must still validate on top.
        verify: async () => {
          await loadValidState(stateDir, repo);
        },
      });
      commit = result.commit;
      log(
        `Pushed ${commit} to origin/${branch}${result.attempts > 1 ? ` after ${result.attempts} attempts` : ""}`,
      );
    }
    return {
      kind: "planned",
      summary,
      markdown,
      outputs: outputsOf(plan, planPath, commit, push),
      landed: { plan, excluded, path: repoRelative, commit, originUrl: await originUrl(repo) },
    };
  } finally {
    await signing?.remove();
  }
}

async function originUrl(repo: string): Promise<string> {
  const url = await git(["remote", "get-url", "origin"], { cwd: repo }).catch(() => undefined);
  return url?.stdout.trim() ?? "";
}

/** Git settings as environment variables, which every git call (commit, rebase) reads. */
function configEnv(pairs: readonly (readonly [string, string])[]): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { GIT_CONFIG_COUNT: String(pairs.length) };
  pairs.forEach(([key, value], i) => {
    env[`GIT_CONFIG_KEY_${i}`] = key;
    env[`GIT_CONFIG_VALUE_${i}`] = value;
  });
  return env;
}

/**
 * The signing-key input (an SSH private key, from a secret) as a file only this user can read,
 * in the runner's temp directory, removed when the plan is committed.
 */
async function signingKeyFile(
  text: string,
  context: RunContext,
): Promise<{ file: string; remove(): Promise<void> }> {
  if (!/-----BEGIN OPENSSH PRIVATE KEY-----/.test(text))
    throw new InputError(
      "input signing-key: expected an SSH private key (-----BEGIN OPENSSH PRIVATE KEY-----), e.g. from ssh-keygen -t ed25519",
    );
  const dir = await mkdtemp(join(context.env.RUNNER_TEMP || tmpdir(), "fleetwave-signing-"));
  const file = join(dir, "key");
  await writeFile(file, `${text.trim()}\n`, { mode: 0o600 });
  return { file, remove: () => rm(dir, { recursive: true, force: true }) };
}

function firstLine(text: string): string {
  return text.split("\n").find((l) => l.trim()) ?? text;
}

function describeNoTargets(excluded: Exclusion[]): string {
  if (excluded.length === 0) return "fleet-state declares no bots";
  const counts = new Map<string, number>();
  for (const e of excluded) counts.set(e.reason, (counts.get(e.reason) ?? 0) + 1);
  return [...counts].map(([reason, n]) => `${n} ${reason}`).join(", ");
}
