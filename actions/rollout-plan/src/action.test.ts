/**
 * Runs the committed bundle the way a runner does: `node dist/index.js` in a checkout whose origin
 * is a local bare repository, inputs as INPUT_* variables, outputs and summary as files.
 */
import { execFile } from "node:child_process";
import { chmod, cp, mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { git } from "#fleetwave/git/git.ts";
import { loadFleetState } from "#fleetwave/model/load.ts";
import { startFakeGitHub } from "#test/support/fake-github.ts";
import { COMMENT_MARKER } from "./pr-comment.ts";

const execFileAsync = promisify(execFile);
const ROOT = join(import.meta.dirname, "../../..");
const DIST = join(ROOT, "actions/rollout-plan/dist/index.js");
const IMAGE = "ghcr.io/acme/paperclip:managed";
const DIGEST = `sha256:3f2a9c1b${"7e4d".repeat(14)}`;
const ID = ["-c", "user.name=Test", "-c", "user.email=test@example.com", "-c", "commit.gpgsign=false"];

interface Repo {
  root: string;
  bare: string;
  workspace: string;
  main: () => Promise<string>;
  subjects: () => Promise<string[]>;
}

/** origin.git (bare) holding the sample fleet-state on main, and a checkout of it as the workspace. */
async function fleetRepo(edit?: (seed: string) => Promise<void>): Promise<Repo> {
  const root = await mkdtemp(join(tmpdir(), "fleetwave-action-"));
  const bare = join(root, "origin.git");
  await git(["init", "-q", "--bare", "--initial-branch=main", bare], { cwd: root });
  const seed = join(root, "seed");
  await git(["init", "-q", "--initial-branch=main", seed], { cwd: root });
  await cp(join(ROOT, "fleet-state"), join(seed, "fleet-state"), { recursive: true });
  await mkdir(join(seed, "changelogs/user-facing"), { recursive: true });
  await writeFile(
    join(seed, "changelogs/user-facing/latest.json"),
    JSON.stringify({
      version: "1.4.0",
      date: "2026-11-27",
      sections: [{ title: "New", items: ["Dark mode"] }],
    }),
  );
  await edit?.(seed);
  await git(["add", "."], { cwd: seed });
  await git([...ID, "commit", "-q", "-m", "fleet-state"], { cwd: seed });
  await git(["remote", "add", "origin", bare], { cwd: seed });
  await git(["push", "-q", "origin", "main"], { cwd: seed });
  const workspace = join(root, "workspace");
  await git(["clone", "-q", "--branch", "main", bare, workspace], { cwd: root });
  return {
    root,
    bare,
    workspace,
    main: async () => (await git(["rev-parse", "main"], { cwd: bare })).stdout.trim(),
    subjects: async () =>
      (await git(["log", "--format=%s", "main"], { cwd: bare })).stdout.trim().split("\n"),
  };
}

interface ActionRun {
  code: number;
  stdout: string;
  outputs: Record<string, string>;
  summary: string;
}

/** The GITHUB_OUTPUT file format: `name<<delimiter\nvalue\ndelimiter\n`. */
function parseOutputs(text: string): Record<string, string> {
  const outputs: Record<string, string> = {};
  const re = /^([^<\n]+)<<(\S+)\n([\s\S]*?)\n\2$/gm;
  for (const match of text.matchAll(re)) outputs[match[1]!] = match[3]!;
  return outputs;
}

async function runAction(
  repo: Repo,
  inputs: Record<string, string>,
  runnerEnv: NodeJS.ProcessEnv = {},
): Promise<ActionRun> {
  const outputFile = join(repo.root, `output-${Math.random()}`);
  const summaryFile = join(repo.root, `summary-${Math.random()}`);
  await writeFile(outputFile, "");
  await writeFile(summaryFile, "");
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: repo.root,
    GITHUB_OUTPUT: outputFile,
    GITHUB_STEP_SUMMARY: summaryFile,
    GITHUB_WORKSPACE: repo.workspace,
    ...runnerEnv,
  };
  for (const [name, value] of Object.entries(inputs)) env[`INPUT_${name.toUpperCase()}`] = value;
  const { code, stdout } = await new Promise<{ code: number; stdout: string }>((resolve) => {
    execFile(process.execPath, [DIST], { cwd: repo.workspace, env, encoding: "utf8" }, (error, out, err) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout: `${out}${err}` });
    });
  });
  return {
    code,
    stdout,
    outputs: parseOutputs(await readFile(outputFile, "utf8")),
    summary: await readFile(summaryFile, "utf8"),
  };
}

describe("actions/rollout-plan (dist/index.js)", { timeout: 30_000 }, () => {
  it("commits the plan, pushes it to origin's main, sets outputs and writes the step summary", async () => {
    const repo = await fleetRepo();
    const before = await repo.main();
    const run = await runAction(repo, {
      image: IMAGE,
      digest: DIGEST,
      "state-path": repo.workspace,
      push: "true",
    });
    expect(run.stdout).not.toContain("::error");
    expect(run.code).toBe(0);

    const id = run.outputs["rollout-id"]!;
    expect(id).toMatch(/^\d{4}-\d{2}-\d{2}T\d{4}Z-3f2a9c1b$/);
    expect(run.outputs).toMatchObject({
      "plan-path": `fleet-state/rollouts/${id}.yaml`,
      targets: "5",
      waves: "3",
      pushed: "true",
      commit: await repo.main(),
    });
    expect(await repo.subjects()).toEqual([
      `fleetwave: plan rollout ${id} for ${IMAGE}@3f2a9c1b7e4d`,
      "fleet-state",
    ]);
    const message = (await git(["log", "-1", "--format=%B", "main"], { cwd: repo.bare })).stdout;
    expect(message).toContain(`\nFleetwave-Rollout: ${id}\n`);
    const author = (await git(["log", "-1", "--format=%an <%ae>", "main"], { cwd: repo.bare })).stdout.trim();
    expect(author).toBe("github-actions[bot] <41898282+github-actions[bot]@users.noreply.github.com>");
    const files = (await git(["diff", "--name-only", before, "main"], { cwd: repo.bare })).stdout.trim();
    expect(files).toBe(`fleet-state/rollouts/${id}.yaml`);

    const state = await loadFleetState(join(repo.workspace, "fleet-state"));
    expect(state.ok && state.state.rollouts[0]?.changelog?.version).toBe("1.4.0");
    expect(run.summary).toContain(`### Rollout plan \`${id}\``);
    expect(run.summary).toContain("| Wave | Bots | Tenants | Hosts |");
    expect(run.summary).toMatch(/\| 1 \| 2: \S+, \S+ \|/);
    expect(run.stdout).toContain("Plan: 5 bots in 3 waves across 3 tenants on 2 hosts; 1 excluded.");

    // Running again for the same digest changes nothing and says where the plan is.
    const again = await runAction(repo, { image: IMAGE, digest: DIGEST });
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(new RegExp(`::notice::rollout ${id} already plans`));
    expect(again.outputs["rollout-id"]).toBe(id);
    expect((await repo.subjects()).length).toBe(2);
  });

  it("signs the plan commit, and its rebased copy, with the signing-key input", async () => {
    const repo = await fleetRepo();
    const key = join(repo.root, "plan-key");
    await execFileAsync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "plans", "-f", key]);
    const allowed = join(repo.root, "allowed_signers");
    const pub = (await readFile(`${key}.pub`, "utf8")).split(" ").slice(0, 2).join(" ");
    await writeFile(allowed, `plans ${pub}\n`);
    // origin moves after the checkout: the plan commit is rebased before it is pushed.
    const other = join(repo.root, "other");
    await git(["clone", "-q", repo.bare, other], { cwd: repo.root });
    await writeFile(join(other, "NOTES"), "elsewhere\n");
    await git(["add", "NOTES"], { cwd: other });
    await git([...ID, "commit", "-q", "-m", "meanwhile"], { cwd: other });
    await git(["push", "-q", "origin", "main"], { cwd: other });

    const run = await runAction(repo, {
      image: IMAGE,
      digest: DIGEST,
      "signing-key": await readFile(key, "utf8"),
    });
    expect(run.stdout).not.toContain("::error");
    expect(run.code).toBe(0);
    expect((await repo.subjects())[1]).toBe("meanwhile");
    const verified = await git(
      ["-c", `gpg.ssh.allowedSignersFile=${allowed}`, "log", "-1", "--format=%G? %GS", "main"],
      { cwd: repo.bare },
    );
    expect(verified.stdout.trim()).toBe("G plans");
    expect(run.stdout).not.toContain("PRIVATE KEY");

    const bad = await runAction(repo, {
      image: IMAGE,
      digest: `sha256:${"ab".repeat(32)}`,
      "signing-key": "nope",
    });
    expect(bad.code).not.toBe(0);
    expect(bad.stdout).toContain("input signing-key: expected an SSH private key");
  });

  it("comments the plan on the merged pull request that built the image, and updates it on a re-run", async () => {
    const github = await startFakeGitHub();
    try {
      const repo = await fleetRepo();
      const merge = "5e1f".repeat(10);
      github.addMergedPull({
        owner: "acme",
        repo: "paperclip",
        title: "feat: x",
        head: "feat/x",
        base: "main",
        sha: merge,
      });
      const runner = {
        GITHUB_API_URL: github.url,
        GITHUB_SERVER_URL: "https://github.example",
        GITHUB_REPOSITORY: "acme/paperclip",
        GITHUB_SHA: merge,
        GITHUB_RUN_ID: "77",
      };
      const inputs = {
        image: IMAGE,
        digest: DIGEST,
        "github-token": "t0ken",
        "fleet-repository": "acme/fleet",
      };
      const first = await runAction(repo, inputs, runner);
      expect(first.stdout).not.toContain("::warning");
      expect(first.code).toBe(0);
      const id = first.outputs["rollout-id"]!;
      const path = `fleet-state/rollouts/${id}.yaml`;
      expect(github.comments).toHaveLength(1);
      const comment = github.comments[0]!;
      expect(comment.issue).toBe(1);
      expect(comment.body.startsWith(`${COMMENT_MARKER}\n### Rollout plan \`${id}\``)).toBe(true);
      expect(comment.body).toContain(
        `- **Plan file:** [\`${path}\`](https://github.example/acme/fleet/blob/${first.outputs.commit}/${path})`,
      );
      expect(comment.body).toMatch(/\| 1 \| 2: \S+, \S+ \|/);
      expect(comment.body).toContain(
        "Planned by [this workflow run](https://github.example/acme/paperclip/actions/runs/77).",
      );
      expect(first.stdout).toContain(
        `Plan comment created on #1: ${github.url}/issues/1#issuecomment-${comment.id}`,
      );
      expect(github.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
        `GET /repos/acme/paperclip/commits/${merge}/pulls`,
        "GET /repos/acme/paperclip/issues/1/comments",
        "POST /repos/acme/paperclip/issues/1/comments",
      ]);
      expect(github.requests[0]!.authorization).toBe("token t0ken");

      // The workflow re-run: the plan is already there; the same comment is updated, none added.
      comment.body = `${COMMENT_MARKER}\nstale`;
      const again = await runAction(repo, inputs, runner);
      expect(again.code).toBe(0);
      expect(github.comments).toHaveLength(1);
      expect(comment.body).toContain(`### Rollout plan \`${id}\``);
      expect(github.requests.slice(3).map((r) => `${r.method} ${r.path}`)).toEqual([
        `GET /repos/acme/paperclip/commits/${merge}/pulls`,
        "GET /repos/acme/paperclip/issues/1/comments",
        `PATCH /repos/acme/paperclip/issues/comments/${comment.id}`,
      ]);
    } finally {
      await github.close();
    }
  });

  it("lands the plan when origin moves between the action's fetch and its push", async () => {
    const repo = await fleetRepo();
    const other = join(repo.root, "other");
    await git(["clone", "-q", "--branch", "main", repo.bare, other], { cwd: repo.root });
    // A real pre-push hook: the first time the action pushes, another writer lands a commit on
    // origin's main first (touching another file), so the action's push is rejected.
    const hook = join(repo.workspace, ".git/hooks/pre-push");
    await writeFile(
      hook,
      `#!/bin/sh
[ -e "${repo.root}/raced" ] && exit 0
touch "${repo.root}/raced"
unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE GIT_PREFIX
cd "${other}" || exit 1
sed -i 's/contacts: \\[it@globex.example, cto@globex.example\\]/contacts: [it@globex.example]/' fleet-state/tenants/globex.yaml
git add -A && git ${ID.join(" ")} commit -q -m "globex: one contact" && git push -q origin HEAD:main
`,
    );
    await chmod(hook, 0o755);
    const run = await runAction(repo, { image: IMAGE, digest: DIGEST });
    expect(run.stdout).not.toContain("::error");
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/Push attempt 1 to origin\/main failed .*; retrying in \d+ ms/);
    expect(run.stdout).toContain("after 2 attempts");
    const [plan, racer, base] = await repo.subjects();
    expect(plan).toMatch(/^fleetwave: plan rollout /);
    expect([racer, base]).toEqual(["globex: one contact", "fleet-state"]);
    expect(run.outputs.commit).toBe(await repo.main());
    const tree = (await git(["show", "main:fleet-state/tenants/globex.yaml"], { cwd: repo.bare })).stdout;
    expect(tree).toContain("contacts: [it@globex.example]\n");
  });

  it("fails with an operator-facing message and leaves origin unchanged for bad inputs", async () => {
    const [good, invalid] = await Promise.all([
      fleetRepo(),
      fleetRepo((seed) =>
        writeFile(
          join(seed, "fleet-state/tenants/wrong.yaml"),
          "tenant: wrong\nupdate: { mode: sometimes }\n",
        ),
      ),
    ]);
    const goodMain = await good.main();
    const invalidMain = await invalid.main();
    const [digest, image, state, strategy] = await Promise.all([
      runAction(good, { image: IMAGE, digest: "sha256:abc" }),
      runAction(good, { image: "docker.io/evil/app:latest", digest: DIGEST }),
      runAction(invalid, { image: IMAGE, digest: DIGEST }),
      runAction(good, { image: IMAGE, digest: DIGEST, strategy: "yolo" }),
    ]);
    expect(digest.code).toBe(1);
    expect(digest.stdout).toContain(
      '::error::digest "sha256:abc": must be "sha256:" followed by 64 lowercase hex digits',
    );
    expect(image.code).toBe(1);
    expect(image.stdout).toContain(
      '::error::image "docker.io/evil/app:latest" is not allowed; fleet.yaml images.allowlist has ghcr.io/acme/',
    );
    expect(state.code).toBe(1);
    expect(state.stdout).toContain(
      "::error file=fleet-state/tenants/wrong.yaml,line=2::update.mode: must be one of",
    );
    expect(state.stdout).toContain("::error::fleet-state is invalid (1 problem); fix it before planning:");
    expect(strategy.code).toBe(1);
    expect(strategy.stdout).toContain(
      '::error::input strategy: must be one of rolling-wave, immediate, single-bot, got "yolo"',
    );
    for (const run of [digest, image, state, strategy]) expect(run.stdout).not.toContain("crashed");
    expect(await good.main()).toBe(goodMain);
    expect(await invalid.main()).toBe(invalidMain);
    expect((await git(["status", "--porcelain"], { cwd: good.workspace })).stdout).toBe("");
  });

  it("with push: false commits locally only; with no targets it fails unless allow-empty", async () => {
    const repo = await fleetRepo();
    const before = await repo.main();
    const local = await runAction(repo, { image: IMAGE, digest: DIGEST, push: "false" });
    expect(local.code).toBe(0);
    expect(local.outputs.pushed).toBe("false");
    expect((await git(["rev-parse", "HEAD"], { cwd: repo.workspace })).stdout.trim()).toBe(
      local.outputs.commit,
    );
    expect(await repo.main()).toBe(before);

    const nobody = { image: "ghcr.io/acme/paperclip:nobody", digest: DIGEST };
    const strict = await runAction(repo, nobody);
    expect(strict.code).toBe(1);
    expect(strict.stdout).toContain("::error::no bot is a target of ghcr.io/acme/paperclip:nobody@");
    const lenient = await runAction(repo, { ...nobody, "allow-empty": "true" });
    expect(lenient.code).toBe(0);
    expect(lenient.summary).toContain("Nothing to do");
    expect(await repo.main()).toBe(before);
  });

  it("reads what runs where from the hosts' status refs, which the checkout does not have", async () => {
    const repo = await fleetRepo();
    // host-b's agent reports acme-support already on the digest, on its status ref only.
    const agent = join(repo.root, "agent");
    await git(["init", "-q", "--initial-branch=fleetwave/status/host-b", agent], { cwd: repo.root });
    await mkdir(join(agent, "fleet-state/status"), { recursive: true });
    await writeFile(
      join(agent, "fleet-state/status/host-b.yaml"),
      `host: host-b\nobservedCommit: none\nupdatedAt: 2026-11-27T05:00:00Z\nbots:\n  acme-support: { digest: "${DIGEST}", state: running }\nrollouts: {}\nquarantine: []\n`,
    );
    await git(["add", "."], { cwd: agent });
    await git([...ID, "commit", "-q", "-m", "fleetwave(host-b): reconcile"], { cwd: agent });
    await git(["push", "-q", repo.bare, "HEAD:refs/heads/fleetwave/status/host-b"], { cwd: agent });

    const run = await runAction(repo, { image: IMAGE, digest: DIGEST, push: "false" });
    expect(run.code, run.stdout).toBe(0);
    // Five targets without the ref (the first test); acme-support is excluded as already there.
    expect(run.outputs.targets).toBe("4");
  });
});
