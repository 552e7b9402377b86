import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { formatAuditCommit } from "#fleetwave/audit/commit-message.ts";
import { git } from "#fleetwave/git/git.ts";
import { loadFleetState } from "#fleetwave/model/load.ts";
import { copyOfSample, runCli } from "../testing.ts";

const IMAGE = "ghcr.io/acme/paperclip:managed";
const A = `sha256:${"a".repeat(64)}`;
const B = `sha256:${"b".repeat(64)}`;
const C = `sha256:${"c".repeat(64)}`;
const IDENTITY = { name: "Operator", email: "ops@acme.example" };

function status(digest: string, quarantine: string): string {
  return `host: host-a
observedCommit: abc1234
updatedAt: 2026-11-27T05:00:00Z
bots:
  acme-main: { digest: ${digest}, state: running }
quarantine:
${quarantine}`;
}

/** The sample fleet in a git repository whose log holds acme-main's updates: none -> A -> B, C rolled back. */
async function fleetRepoWithHistory(): Promise<string> {
  const root = await copyOfSample("fleetwave-rollback-");
  const commit = async (file: string, text: string, message: string) => {
    await writeFile(join(root, file), text);
    await git(["add", "-A"], { cwd: root, identity: IDENTITY });
    await git(["commit", "-q", "--cleanup=verbatim", "-m", message], { cwd: root, identity: IDENTITY });
  };
  await git(["init", "-q", "--initial-branch=main"], { cwd: root });
  await git(["config", "user.name", "Operator"], { cwd: root });
  await git(["config", "user.email", "ops@acme.example"], { cwd: root });
  const update = (result: "updated" | "rolled-back", from: string | null, to: string) =>
    formatAuditCommit({
      host: "host-a",
      subject: "reconcile",
      records: [{ bot: "acme-main", result, from, to, reason: "" }],
    });
  await commit("fleet-state/status/host-a.yaml", status(A, "  []\n"), update("updated", null, A));
  await commit("fleet-state/status/host-a.yaml", `${status(B, "  []\n")}\n`, update("updated", A, B));
  const q = `  - { image: ${IMAGE}, digest: ${C}, rollout: 2026-11-27T0612Z-cccccccc, at: 2026-11-27T06:30:00Z, reason: "acme-main: health check timed out" }\n`;
  await commit("fleet-state/status/host-a.yaml", status(B, q), update("rolled-back", B, C));
  return root;
}

const pin = async (root: string) =>
  parse(await readFile(join(root, "fleet-state/tenants/acme.yaml"), "utf8")).bots[0].pinnedDigest;

describe("fleetwave rollback and quarantine", () => {
  it("pins a bot to its previous healthy digest in a commit with the audit trailers", async () => {
    const root = await fleetRepoWithHistory();
    const dry = await runCli(["rollback", "acme-main", "--previous", "--dry-run"], root);
    expect(dry.out).toContain("acme-main (acme on host-a): sha256:bbbbbbbbbbbb -> sha256:aaaaaaaaaaaa");
    expect(await pin(root)).toBeNull();

    const { code, out, err } = await runCli(
      ["rollback", "acme-main", "--previous", "--actor", "alice", "--reason", "exports broke"],
      root,
    );
    expect(err).toBe("");
    expect(code).toBe(0);
    expect(out).toMatch(/Committed [0-9a-f]{10} on main: fleet-state\/tenants\/acme.yaml pins acme-main/);
    expect(await pin(root)).toBe(A);
    const tenant = await readFile(join(root, "fleet-state/tenants/acme.yaml"), "utf8");
    expect(tenant).toContain(`pinnedDigest: ${A} # rolled back by alice: exports broke;`);
    expect(tenant).toContain("# yaml-language-server");
    expect((await loadFleetState(join(root, "fleet-state"), root)).ok).toBe(true);
    const message = (await git(["log", "-1", "--format=%B"], { cwd: root })).stdout;
    expect(message).toMatch(/^fleetwave: roll back acme-main to sha256:aaaaaaaaaaaa\n/);
    expect(message).toContain(`Fleetwave-Actor: alice\nFleetwave-Action: bot.rollback acme-main ${A}\n`);
    expect((await git(["status", "--porcelain"], { cwd: root })).stdout).toBe("");

    const history = await runCli(["history", "--actor", "alice", "--format", "json"], root);
    expect(JSON.parse(history.out)).toEqual([
      expect.objectContaining({ kind: "action", result: "bot.rollback", bot: "acme-main", to: A }),
    ]);
    // Pinned already: a second rollback to the same digest changes nothing.
    const again = await runCli(["rollback", "acme-main", "--to", A.slice(0, 19)], root);
    expect(again.code).toBe(1);
    expect(again.err).toContain("already pins acme-main");
  });

  it("refuses what it cannot do, and changes nothing", async () => {
    const root = await fleetRepoWithHistory();
    const head = (await git(["rev-parse", "HEAD"], { cwd: root })).stdout;
    expect((await runCli(["rollback", "acme-main"], root)).code).toBe(2);
    expect((await runCli(["rollback", "acme-main", "--previous", "--to", A], root)).code).toBe(2);
    expect((await runCli(["rollback", "--previous"], root)).code).toBe(2);
    const never = await runCli(["rollback", "acme-main", "--to", `sha256:${"d".repeat(64)}`], root);
    expect(never.code).toBe(1);
    expect(never.err).toMatch(/never ran .*digests it ran: sha256:cccccccccccc, sha256:bbbbbbbbbbbb/);
    const ghost = await runCli(["rollback", "ghost", "--previous"], root);
    expect(ghost.err).toContain("bot ghost is not declared");
    const tenantFile = join(root, "fleet-state/tenants/acme.yaml");
    await writeFile(tenantFile, `${await readFile(tenantFile, "utf8")}# a local edit\n`);
    const dirty = await runCli(["rollback", "acme-main", "--previous", "--actor", "a"], root);
    expect(dirty.code).toBe(1);
    expect(dirty.err).toContain("has uncommitted changes");
    expect((await git(["rev-parse", "HEAD"], { cwd: root })).stdout).toBe(head);
    expect(await pin(root)).toBeNull();
  });

  it("lists quarantines and lifts one in fleet.yaml, which the planner then honours", async () => {
    const root = await fleetRepoWithHistory();
    const list = await runCli(["quarantine", "list"], root);
    expect(list.out).toMatch(
      /^IMAGE\s+DIGEST\s+HOST\s+ROLLOUT\s+AT\s+REASON\s+LIFTED\nghcr\.io\/acme\/paperclip:managed\s+cccccccccccc\s+host-a\s+2026-11-27T0612Z-cccccccc\s+2026-11-27T06:30:00Z\s+acme-main: health check timed out\s+-$/,
    );
    expect((await runCli(["quarantine", "lift", A, "--actor", "bob"], root)).err).toContain(
      "is not quarantined",
    );
    expect((await runCli(["quarantine", "drop"], root)).code).toBe(2);

    const lift = await runCli(["quarantine", "lift", "sha256:cccccccccccc", "--actor", "bob"], root);
    expect(lift.err).toBe("");
    expect(lift.code).toBe(0);
    const message = (await git(["log", "-1", "--format=%B"], { cwd: root })).stdout;
    expect(message).toContain(`Fleetwave-Action: quarantine.lift ${IMAGE} ${C}\n`);
    expect((await runCli(["quarantine", "list"], root)).out).toBe("No digest is quarantined.");
    expect((await runCli(["quarantine", "list", "--all"], root)).out).toMatch(/\sby bob at \d{4}-/);

    const planned = await runCli(
      ["plan", "--image", IMAGE, "--digest", C, "--strategy", "immediate", "--dry-run"],
      root,
    );
    expect(planned.out).not.toContain("quarantined");
    expect(planned.out).toContain("acme-main");
    const history = await runCli(["history", "--actor", "bob"], root);
    expect(history.out.split("\n")[1]).toMatch(/-\s+-\s+-\s+cccccccccccc\s+quarantine\.lift\s+bob\s+-/);
  });
});
