import { execFile } from "node:child_process";
import { cp, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { git } from "../git/git.ts";
import { DesiredState } from "./desired-state.ts";
import { Workspace } from "./workspace.ts";

const run = promisify(execFile);
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

  it("with trust, a restart on an unverified tip acts on the recorded verified commit, never on the working tree", async () => {
    const root = await mkdtemp(join(tmpdir(), "fleetwave-desired-trust-"));
    const key = join(root, "ops");
    await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "ops", "-f", key]);
    const allowed = join(root, "allowed_signers");
    await writeFile(
      allowed,
      `ops ${(await readFile(`${key}.pub`, "utf8")).split(" ").slice(0, 2).join(" ")}\n`,
    );
    const work = join(root, "operator");
    await git(["init", "-q", "--initial-branch=main", work], { cwd: root });
    await cp(EXAMPLE, join(work, "fleet-state"), { recursive: true });
    await git(["add", "-A"], { cwd: work });
    const signed = ["-c", "gpg.format=ssh", "-c", `user.signingkey=${key}`, "-c", "commit.gpgsign=true"];
    await git([...OPERATOR, ...signed, "commit", "-q", "-m", "signed"], { cwd: work });
    const verified = (await git(["rev-parse", "HEAD"], { cwd: work })).stdout.trim();
    const dataDir = join(root, "data");
    const ws = new Workspace({
      repo: work,
      branch: "main",
      dir: join(dataDir, "repo"),
      identity: { name: "Agent", email: "agent@host-a.invalid" },
      host: "host-a",
      log: () => undefined,
    });
    await ws.open();
    const trust = { allowedSignersFile: allowed };
    expect(await new DesiredState(ws, dataDir, trust).load()).toMatchObject({ ok: true });

    await git(["rm", "-q", "-r", "fleet-state/tenants"], { cwd: work });
    await git([...OPERATOR, "commit", "-q", "-m", "unsigned: every tenant gone"], { cwd: work });
    const unsigned = (await git(["rev-parse", "HEAD"], { cwd: work })).stdout.trim();
    expect(await ws.sync()).toEqual({ ok: true });
    const restarted = await new DesiredState(ws, dataDir, trust).load();
    expect(restarted).toMatchObject({ ok: false, unverified: true, commit: unsigned });
    expect(restarted.ok ? undefined : restarted.fallback?.commit).toBe(verified);
    expect(restarted.ok ? 0 : restarted.fallback?.state.bots.length).toBeGreaterThan(0);
    expect(restarted.ok ? "" : restarted.problems[0]?.message).toContain("it is not signed");
  });
});
