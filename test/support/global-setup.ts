/**
 * vitest globalSetup of the "integration" project: starts (or reuses) the private Docker Engine
 * and registry of scripts/test-env.sh, and points the test workers at them.
 *
 * The variables are set on process.env here, in the main process, before any worker is forked,
 * so workers inherit them; they are also `provide`d for tests that prefer `inject`.
 * Teardown leaves the environment running for fast re-runs, unless FLEETWAVE_TEST_ENV_DOWN=1 or
 * CI=true.
 */
import { execFile } from "node:child_process";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { TestProject } from "vitest/node";

export interface FleetwaveTestEnv {
  /** unix:///…/docker.sock of the private engine */
  dockerHost: string;
  /** 127.0.0.1:<port> of the local registry */
  registry: string;
}

declare module "vitest" {
  export interface ProvidedContext {
    fleetwaveTestEnv: FleetwaveTestEnv;
  }
}

const SCRIPT = resolve(dirname(fileURLToPath(import.meta.url)), "../../scripts/test-env.sh");

interface ScriptResult {
  code: number;
  stdout: string;
  stderr: string;
}

function runScript(command: "up" | "down" | "env"): Promise<ScriptResult> {
  return new Promise((resolvePromise) => {
    execFile("bash", [SCRIPT, command], { maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
      resolvePromise({ code, stdout, stderr: error && !stderr ? error.message : stderr });
    });
  });
}

async function runOrThrow(command: "up" | "down" | "env"): Promise<string> {
  const result = await runScript(command);
  if (result.code !== 0) {
    // Fail the whole run: skipping integration tests because Docker is missing would pass a
    // broken build.
    throw new Error(
      `scripts/test-env.sh ${command} failed with exit code ${result.code}; integration tests need ` +
        `the private Docker Engine and registry.\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`,
    );
  }
  return result.stdout;
}

/** Parses the `export NAME=value` lines of `test-env.sh env` (values are plain paths and ports). */
export function parseEnvExports(output: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of output.split("\n")) {
    const match = /^export ([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (!match) continue;
    const [, name, value] = match;
    if (!name || value === undefined) continue;
    if (/[\\'"$`\s]/.test(value)) {
      throw new Error(`test-env.sh env printed a quoted value, which this parser does not support: ${line}`);
    }
    env[name] = value;
  }
  return env;
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  await runOrThrow("up");
  const exported = parseEnvExports(await runOrThrow("env"));
  const dockerHost = exported.DOCKER_HOST;
  const registry = exported.FLEETWAVE_REGISTRY;
  if (!dockerHost || !registry) {
    throw new Error(
      `scripts/test-env.sh env did not print DOCKER_HOST and FLEETWAVE_REGISTRY:\n${JSON.stringify(exported)}`,
    );
  }
  // Always overwrite: a DOCKER_HOST inherited from the shell could be the system engine, and
  // tests create and delete containers freely.
  process.env.DOCKER_HOST = dockerHost;
  process.env.FLEETWAVE_REGISTRY = registry;
  project.provide("fleetwaveTestEnv", { dockerHost, registry });

  return async () => {
    if (process.env.FLEETWAVE_TEST_ENV_DOWN === "1" || process.env.CI === "true") {
      await runOrThrow("down");
    }
  };
}
