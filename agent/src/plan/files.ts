/**
 * The I/O around the pure planner, shared by `fleetwave plan` and the rollout-plan action: load
 * and validate fleet-state, read the changelog, write the rollout file.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { isDeepStrictEqual } from "node:util";
import { FleetwaveError } from "../errors.ts";
import type { FleetState } from "../model/fleet-state.ts";
import { type LoadOptions, loadFleetState } from "../model/load.ts";
import { formatProblem, type Problem } from "../model/problems.ts";
import { type Rollout, rolloutSchema, type UserChangelog, userChangelogSchema } from "../model/rollout.ts";
import { parseYaml } from "../model/yaml-source.ts";
import { type PlanInput, type PlanResult, planRollout } from "./planner.ts";
import { renderRolloutYaml, rolloutFileName } from "./render.ts";

/** fleet-state does not validate; no plan is made from an invalid state. */
export class InvalidFleetStateError extends FleetwaveError {
  override name = "InvalidFleetStateError";
  constructor(readonly problems: Problem[]) {
    super(
      `fleet-state is invalid (${problems.length} problem${problems.length === 1 ? "" : "s"}); fix it before planning:\n${problems
        .slice(0, 20)
        .map((p) => `  ${formatProblem(p)}`)
        .join(
          "\n",
        )}${problems.length > 20 ? `\n  … and ${problems.length - 20} more (run fleetwave validate)` : ""}`,
    );
  }
}

export async function loadValidState(
  stateDir: string,
  cwd: string,
  options: LoadOptions = {},
): Promise<FleetState> {
  const result = await loadFleetState(stateDir, cwd, options);
  if (!result.ok) throw new InvalidFleetStateError(result.problems);
  return result.state;
}

/** Reads a user-facing changelog JSON file (changelogs/user-facing/*.json). */
export async function readChangelog(path: string): Promise<UserChangelog> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new FleetwaveError(`cannot read changelog ${path}: ${(error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new FleetwaveError(`changelog ${path} is not valid JSON: ${(error as Error).message}`);
  }
  const result = userChangelogSchema.safeParse(json);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join(".") || "(file)"}: ${i.message}`);
    throw new FleetwaveError(`changelog ${path} is not a user-facing changelog: ${problems.join("; ")}`);
  }
  return result.data;
}

export interface PreparedPlan extends PlanResult {
  state: FleetState;
  /** The rollout file's text. */
  yaml: string;
  /** `rollouts/<id>.yaml`, relative to the fleet-state directory. */
  fileName: string;
}

/** Loads the state, reads the changelog, plans, and renders the file (nothing is written). */
export async function preparePlan(
  options: Omit<PlanInput, "state" | "changelog"> & {
    stateDir: string;
    cwd: string;
    changelogPath?: string;
    /** Host -> status text from the status refs (what already runs where); see LoadOptions. */
    statusFiles?: ReadonlyMap<string, string>;
  },
): Promise<PreparedPlan> {
  const { stateDir, cwd, changelogPath, statusFiles, ...input } = options;
  const state = await loadValidState(stateDir, cwd, statusFiles ? { statusFiles } : {});
  const changelog = changelogPath ? await readChangelog(changelogPath) : undefined;
  const result = planRollout({ ...input, state, ...(changelog ? { changelog } : {}) });
  const yaml = renderRolloutYaml(result.plan);
  assertRenderedPlanValid(yaml, result.plan);
  return { ...result, state, yaml, fileName: rolloutFileName(result.plan) };
}

/** Guard against a renderer bug: the text must parse back to exactly the plan. */
function assertRenderedPlanValid(yaml: string, plan: Rollout): void {
  const parsed = parseYaml(rolloutFileName(plan), yaml);
  const back = parsed.ok ? rolloutSchema.safeParse(parsed.source.data) : undefined;
  if (!back?.success || !isDeepStrictEqual(back.data, plan)) {
    throw new Error(`internal error: the rendered rollout ${plan.id} does not parse back to the plan`);
  }
}

/** Writes the rollout file; refuses to overwrite an existing one. Returns its absolute path. */
export async function writePlanFile(
  stateDir: string,
  prepared: Pick<PreparedPlan, "yaml" | "fileName">,
): Promise<string> {
  const path = join(stateDir, prepared.fileName);
  try {
    await writeFile(path, prepared.yaml, { flag: "wx" });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") {
      throw new FleetwaveError(`${path} already exists; plan again in a minute or remove it`);
    }
    if ((error as NodeJS.ErrnoException).code === "ENOENT") {
      await mkdir(join(stateDir, "rollouts"), { recursive: true });
      await writeFile(path, prepared.yaml, { flag: "wx" });
      return path;
    }
    throw error;
  }
  return path;
}
