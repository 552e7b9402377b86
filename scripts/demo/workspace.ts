/**
 * The demo workspace: `fleet.git` (the bare remote, standing in for GitHub), `operator/` (a
 * person's clone with fleet-state/), `agent/` (the agent's data dir) and `agent.log`.
 */
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { DemoError } from "./narrate.ts";
import { git } from "./run.ts";

const MARKER = ".fleetwave-demo";
const PID_FILE = "demo.pid";

export interface Workspace {
  dir: string;
  bare: string;
  operator: string;
  agentData: string;
  agentLog: string;
}

export function workspacePaths(dir: string): Workspace {
  const root = resolve(dir);
  return {
    dir: root,
    bare: join(root, "fleet.git"),
    operator: join(root, "operator"),
    agentData: join(root, "agent"),
    agentLog: join(root, "agent.log"),
  };
}

/** The pid of a `fleetwave demo --serve` still running on this workspace, if any. */
async function runningDemo(dir: string): Promise<number | undefined> {
  const text = await readFile(join(dir, PID_FILE), "utf8").catch(() => "");
  const pid = Number(text.trim());
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return undefined;
  const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
  return cmdline.includes("fleetwave") && cmdline.includes("demo") ? pid : undefined;
}

async function assertNotServing(dir: string): Promise<void> {
  const pid = await runningDemo(dir);
  if (pid) throw new DemoError(`a demo is still serving from ${dir} (pid ${pid}); stop it with Ctrl-C first`);
}

/**
 * Fails unless `dir` may be wiped: absent, empty, or a demo workspace (marker file) that no
 * `--serve` demo is using. A mistyped FLEETWAVE_DEMO_DIR must not delete someone's files.
 */
export async function assertRemovable(dir: string): Promise<void> {
  if (!existsSync(dir)) return;
  await assertNotServing(dir);
  const entries = await readdir(dir);
  if (entries.length > 0 && !entries.includes(MARKER)) {
    throw new DemoError(
      `${dir} exists and is not a Fleetwave demo workspace (no ${MARKER} file); ` +
        "set FLEETWAVE_DEMO_DIR to another directory or remove it yourself",
    );
  }
  if (dirname(dir) === dir) throw new DemoError(`refusing to delete ${dir}`);
}

/** Deletes a previous demo workspace (see assertRemovable); false when there was none. */
export async function removeWorkspace(dir: string): Promise<boolean> {
  if (!existsSync(dir)) return false;
  await assertRemovable(dir);
  await rm(dir, { recursive: true, force: true });
  return true;
}

export async function createWorkspace(ws: Workspace): Promise<void> {
  await mkdir(ws.dir, { recursive: true });
  await writeFile(join(ws.dir, MARKER), "A Fleetwave demo workspace; `fleetwave demo --clean` removes it.\n");
  await writeFile(join(ws.dir, PID_FILE), `${process.pid}\n`);
  await git(ws.dir, "init", "--quiet", "--bare", "--initial-branch=main", ws.bare);
  await git(ws.dir, "clone", "--quiet", ws.bare, ws.operator);
  await git(ws.operator, "checkout", "--quiet", "-B", "main");
  // The CLI's own commits (fleetwave rollback) use the clone's identity, as on an operator's machine.
  await git(ws.operator, "config", "user.name", "Demo Operator");
  await git(ws.operator, "config", "user.email", "operator@fleetwave-demo.invalid");
}

/** Removes the pid file, if it is this process's (a refused run must not unlock another demo's workspace). */
export async function releaseWorkspace(ws: Workspace): Promise<void> {
  const text = await readFile(join(ws.dir, PID_FILE), "utf8").catch(() => "");
  if (Number(text.trim()) === process.pid) await rm(join(ws.dir, PID_FILE), { force: true });
}

export async function writeFiles(root: string, files: Record<string, string>): Promise<void> {
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), text);
  }
}

/** Commits everything in the operator's clone and pushes, rebasing over the agent's status commits. */
export async function commitAndPush(ws: Workspace, message: string): Promise<string> {
  await git(ws.operator, "add", "-A");
  await git(ws.operator, "commit", "--quiet", "-m", message);
  return push(ws);
}

/** Pushes the operator's clone, rebasing over the agent's status commits; returns the short HEAD. */
export async function push(ws: Workspace): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    try {
      await git(ws.operator, "push", "--quiet", "origin", "HEAD:main");
      break;
    } catch (error) {
      if (attempt >= 5) throw error;
      await git(ws.operator, "pull", "--quiet", "--rebase", "origin", "main");
    }
  }
  return (await git(ws.operator, "rev-parse", "--short", "HEAD")).trim();
}

/** Brings the operator's clone up to date with the remote (the agent pushes status commits). */
export async function pull(ws: Workspace): Promise<void> {
  // A plain fetch also brings the hosts' status refs, which `fleetwave history` and `status` read.
  await git(ws.operator, "fetch", "--quiet", "--prune", "origin");
  await git(ws.operator, "pull", "--quiet", "--rebase", "origin", "main");
}
