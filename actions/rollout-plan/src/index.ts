/**
 * Entry of the rollout-plan action (bundled to dist/index.js). The only module that imports
 * @actions/core: it reads the inputs, runs the shared logic and reports back to the runner.
 */
import * as core from "@actions/core";
import { FleetwaveError } from "#fleetwave/errors.ts";
import {
  INPUT_DEFAULTS,
  type InputName,
  type Inputs,
  type Outputs,
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

async function main(): Promise<void> {
  try {
    const result = await runRolloutPlan(readInputs(), {
      workspace: process.env.GITHUB_WORKSPACE || process.cwd(),
      env: process.env,
      now: new Date(),
      log: (line) => core.info(line),
    });
    setOutputs(result.outputs);
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
