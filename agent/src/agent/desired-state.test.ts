import { cp, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { git } from "../git/git.ts";
import { DesiredState } from "./desired-state.ts";
import { Workspace } from "./workspace.ts";

const OPERATOR = [
  "-c",
  "user.name=Operator",
  "-c",
  "user.email=ops@acme.example",
  "-c",
  "commit.gpgsign=false",
];
const EXAMPLE = resolve(import.meta.dirname, "../../../fleet-state");

describe("DesiredState", { timeout: 60_000 }, () => {
  it("after a restart on an invalid commit, rebuilds the last valid state from the recorded commit (git archive)", async () => {
    const root = await mkdtemp(join(tmpdir(), "fleetwave-desired-"));
    const work = join(root, "operator");
    await git(["init", "-q", "--initial-branch=main", work], { cwd: root });
    await cp(EXAMPLE, join(work, "fleet-state"), { recursive: true });
    await git(["add", "-A"], { cwd: work });
    await git([...OPERATOR, "commit", "-q", "-m", "valid"], { cwd: work });
    const valid = (await git(["rev-parse", "HEAD"], { cwd: work })).stdout.trim();
    const dataDir = join(root, "data");
    const workspace = (dir: string) =>
      new Workspace({
        repo: work,
        branch: "main",
        dir,
        identity: { name: "Agent", email: "agent@host-a.invalid" },
        host: "host-a",
        log: () => undefined,
      });
    const ws = workspace(join(dataDir, "repo"));
    await ws.open();
    const first = await new DesiredState(ws, dataDir).load();
    expect(first).toMatchObject({ ok: true, commit: valid });

    await writeFile(join(work, "fleet-state", "fleet.yaml"), "updates: [not, a, mapping]\n");
    await git([...OPERATOR, "commit", "-q", "-am", "broken"], { cwd: work });
    expect(await ws.sync()).toEqual({ ok: true });
    const restarted = await new DesiredState(ws, dataDir).load();
    expect(restarted.ok).toBe(false);
    expect(restarted.ok ? undefined : restarted.fallback?.commit).toBe(valid);
    expect(restarted.ok ? undefined : restarted.fallback?.state.bots.length).toBe(
      first.ok ? first.state.bots.length : -1,
    );
  });
});
