/**
 * Entry of the rollout-plan action (bundled to dist/index.js). The only module that imports
 * @actions/core and reads @actions/github's context: it reads the inputs, runs the shared logic,
 * comments on the pull request and reports back to the runner.
 */
import * as core from "@actions/core";
import { context, getOctokit } from "@actions/github";
import { FleetwaveError } from "#fleetwave/errors.ts";
import { commentOnMergedPull } from "./pr-comment.ts";
import {
  INPUT_DEFAULTS,
  type InputName,
  type Inputs,
  type LandedPlan,
  type Outputs,
  parseBoolean,
  problemsOf,
  runRolloutPlan,
} from "./run.ts";

function readInputs(): Inputs {
  const names: InputName[] = [
    "image",
    "digest",
    ...(Object.keys(INPUT_DEFAULTS) as (keyof typeof INPUT_DEFAULTS)[]),
  ];
  const inputs = {} as Inputs;
  for (const name of names) {
    const value = core.getInput(name);
    inputs[name] =
      value !== ""
        ? value
        : name in INPUT_DEFAULTS
          ? INPUT_DEFAULTS[name as keyof typeof INPUT_DEFAULTS]
          : "";
  }
  return inputs;
}

function setOutputs(outputs: Outputs): void {
  for (const [name, value] of Object.entries(outputs)) core.setOutput(name, value);
}

async function writeSummary(markdown: string): Promise<void> {
  if (!process.env.GITHUB_STEP_SUMMARY) return;
  await core.summary.addRaw(markdown, true).write();
}

/**
 * The plan landed; a comment that cannot be written is a warning, not a failed step (the agents
 * act on the plan either way).
 */
async function commentPlan(inputs: Inputs, landed: LandedPlan): Promise<void> {
  if (!parseBoolean("comment", inputs.comment)) return;
  const token = inputs["github-token"] || process.env.GITHUB_TOKEN;
  if (!token) {
    core.info("No github-token (or GITHUB_TOKEN): no pull-request comment");
    return;
  }
  const pull = context.payload.pull_request;
  const env = process.env;
  const serverUrl = env.GITHUB_SERVER_URL || "https://github.com";
  try {
    const result = await commentOnMergedPull(
      getOctokit(token),
      landed,
      {
        sourceRepository: inputs["source-repository"] || env.GITHUB_REPOSITORY || "",
        sourceCommit: inputs["source-commit"] || env.GITHUB_SHA || "",
        ...(pull?.merged === true ? { eventPullNumber: pull.number } : {}),
        fleetRepository: inputs["fleet-repository"],
        serverUrl,
        ...(env.GITHUB_RUN_ID && env.GITHUB_REPOSITORY
          ? { runUrl: `${serverUrl}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}` }
          : {}),
      },
      (line) => core.info(line),
    );
    if (result) core.info(`Plan comment ${result.action} on #${result.pullNumber}: ${result.url}`);
  } catch (error) {
    core.warning(
      `could not comment on the pull request (${error instanceof Error ? error.message : String(error)}); the plan is committed all the same. The token needs pull-requests: write`,
    );
  }
}

async function main(): Promise<void> {
  try {
    const inputs = readInputs();
    const result = await runRolloutPlan(inputs, {
      workspace: process.env.GITHUB_WORKSPACE || process.cwd(),
      env: process.env,
      now: new Date(),
      log: (line) => core.info(line),
    });
    setOutputs(result.outputs);
    if (result.kind !== "nothing-to-do") await commentPlan(inputs, result.landed);
    if (result.kind === "already-planned") {
      core.notice(`${result.message}; nothing committed`);
      await writeSummary(`### Rollout plan\n\n${result.message}; nothing committed.\n`);
      return;
    }
    await writeSummary(
      result.kind === "nothing-to-do"
        ? `${result.markdown}\nNothing to do: nothing committed.\n`
        : result.markdown,
    );
  } catch (error) {
    for (const problem of problemsOf(error)) {
      core.error(`${problem.field}: ${problem.message}`, { file: problem.file, startLine: problem.line });
    }
    if (error instanceof FleetwaveError) {
      core.setFailed(error.message);
    } else {
      core.setFailed(
        `rollout-plan crashed (please report): ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
      );
    }
  }
}

await main();
