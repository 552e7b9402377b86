/**
 * `fleetwave sync-upstream` against real git repositories in temp dirs: an upstream repository,
 * the fork as a local bare repository (`origin`) and the fork's clone the sync works in. GitHub is
 * the local fake from test/support.
 */
import { execFile } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, type ExpectStatic, it } from "vitest";
import type { CliIO } from "#fleetwave/cli/command.ts";
import { syncUpstreamCommand } from "#fleetwave/cli/commands/sync-upstream.ts";
import { type FakeGitHub, startFakeGitHub } from "#test/support/fake-github.ts";
import { Git } from "./git.ts";
import { FORK_DEV, makeTempDir, refSha, TestRepo, UPSTREAM_DEV } from "./test-helpers.ts";

const DATE = "2026-11-27";
const SYNC = `sync/upstream-${DATE}`;
const BACKUP = `backup/pre-sync-${DATE}`;

const HOSTED = `
infrastructure: [".github/**"]
exclude:
  scopes: [cli]
  keywords: [heartbeat]
guards:
  - name: ui-hosted-mode
    description: new UI components must check hostedMode
    paths: ["ui/src/components/**/*.tsx"]
    require: "hostedMode"
    when: added
`;

interface World {
  tmp: { dir: string; cleanup: () => Promise<void> };
  upstream: TestRepo;
  originDir: string;
  fork: TestRepo;
  github: FakeGitHub;
  forkMain: string;
}

async function makeWorld(): Promise<World> {
  const tmp = await makeTempDir();
  const upstream = await TestRepo.init(join(tmp.dir, "upstream"), UPSTREAM_DEV);
  await upstream.commit("feat: first release", {
    "src/app.ts": "export const app = 1;\n",
    "src/shared.ts": "line 1\nline 2\nline 3\n",
    "README.md": "# app\n",
  });
  const originDir = join(tmp.dir, "fork.git");
  await new Git(tmp.dir).run(["clone", "--quiet", "--bare", upstream.dir, originDir]);
  const fork = await TestRepo.clone(originDir, join(tmp.dir, "fork"), FORK_DEV);
  await fork.commit("feat(hosted): hosted mode switch", {
    "src/hosted.ts": "export const hostedMode = true;\n",
    "scripts/hosted-mode.yaml": HOSTED,
  });
  await fork.git.run(["push", "--quiet", "origin", "main"]);
  const github = await startFakeGitHub();
  return { tmp, upstream, originDir, fork, github, forkMain: await fork.head() };
}

function cliIO(
  world: World,
  env: NodeJS.ProcessEnv = {},
): CliIO & { out: (l: string) => void; text: () => string } {
  const lines: string[] = [];
  return {
    out: (l) => lines.push(l),
    err: (l) => lines.push(l),
    text: () => lines.join("\n"),
    cwd: world.tmp.dir,
    env: {
      GITHUB_TOKEN: "test-token",
      GITHUB_REPOSITORY: "acme/app",
      GITHUB_API_URL: world.github.url,
      ...env,
    },
  };
}

function sync(world: World, ...extra: string[]) {
  const io = cliIO(world);
  const run = syncUpstreamCommand.run(
    ["--repo", world.fork.dir, "--upstream", world.upstream.dir, "--date", DATE, "--open-pr", ...extra],
    io,
  );
  return run.then((code) => ({ code, output: io.text() }));
}

/** Runs a line from the report's "finish by hand" block the way a person would, in bash. */
function shell(cwd: string, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      "bash",
      ["-c", command],
      {
        cwd,
        env: {
          ...process.env,
          GIT_AUTHOR_NAME: FORK_DEV.name,
          GIT_AUTHOR_EMAIL: FORK_DEV.email,
          GIT_COMMITTER_NAME: FORK_DEV.name,
          GIT_COMMITTER_EMAIL: FORK_DEV.email,
          GIT_EDITOR: "true",
        },
      },
      (error, stdout, stderr) => (error ? reject(new Error(`${command}: ${stderr}`)) : resolve(stdout)),
    );
  });
}

function syncOn(world: World, date: string, ...extra: string[]) {
  const io = cliIO(world);
  return syncUpstreamCommand
    .run(["--repo", world.fork.dir, "--upstream", world.upstream.dir, "--date", date, ...extra], io)
    .then((code) => ({ code, output: io.text() }));
}

async function upstreamNews(world: World): Promise<string> {
  await world.upstream.commit("feat(ui): team avatars in the sidebar", {
    "ui/src/components/Avatars.tsx": "export function Avatars() { return null; }\n",
  });
  await world.upstream.commit("fix: the client reconnects after a timeout", {
    "src/app.ts": "export const app = 2;\n",
  });
  await world.upstream.commit("feat(cli): new --json flag", { "cli/main.ts": "json\n" });
  await world.upstream.commit("ci: run tests on pushes", { ".github/workflows/ci.yml": "on: push\n" });
  return world.upstream.head();
}

async function expectForkMainUntouched(expect: ExpectStatic, world: World): Promise<void> {
  expect(await refSha(world.originDir, "refs/heads/main")).toBe(world.forkMain);
  expect(await refSha(world.fork.dir, "refs/heads/main")).toBe(world.forkMain);
}

/** Each test gets its own repositories and fake GitHub, so the tests run concurrently. */
async function withWorld(test: (world: World) => Promise<void>): Promise<void> {
  const world = await makeWorld();
  try {
    await test(world);
  } finally {
    await world.github.close();
    await world.tmp.cleanup();
  }
}

describe.concurrent("fleetwave sync-upstream", { timeout: 120_000 }, () => {
  for (const strategy of ["rebase", "merge"] as const) {
    it(`syncs cleanly with --strategy ${strategy}: branch, changelogs, one PR; a second run updates it`, ({
      expect,
    }) =>
      withWorld(async (world) => {
        const upstreamHead = await upstreamNews(world);
        const { code, output } = await sync(world, "--strategy", strategy);
        expect(output).not.toContain("Stopped on conflicts");
        expect(code).toBe(0);

        // the sync branch on origin: upstream and the fork's own commit, plus the changelog commit
        const pushed = await refSha(world.originDir, `refs/heads/${SYNC}`);
        expect(pushed).not.toBeNull();
        const origin = new Git(world.originDir);
        expect(await origin.isAncestor(upstreamHead, pushed!)).toBe(true);
        const subjects = (await origin.run(["log", "--format=%s", pushed!])).split("\n");
        expect(subjects[0]).toMatch(/^chore\(changelog\): upstream sync 2026-11-27/);
        expect(subjects).toContain("feat(hosted): hosted mode switch");
        if (strategy === "rebase") {
          // fork commit replayed on top of upstream, then the marker merge of the old main
          expect(subjects[1]).toBe(
            `fleetwave: ${SYNC} supersedes origin/main at ${world.forkMain.slice(0, 7)}`,
          );
          expect(subjects[2]).toBe("feat(hosted): hosted mode switch");
          const marker = (await origin.run(["log", "-1", "--format=%P%n%B", `${pushed}^`])).trim();
          expect(marker).toContain(`Fleetwave-Sync-Supersedes: ${world.forkMain}`);
          const [replayed] = marker.split("\n")[0]!.split(" ");
          expect(await origin.isAncestor(upstreamHead, replayed!)).toBe(true);
          expect(await origin.isAncestor(world.forkMain, replayed!)).toBe(false);
          // the marker keeps the rebased tree as is
          expect((await origin.run(["diff", "--stat", replayed!, `${pushed}^`])).trim()).toBe("");
        } else {
          const parents = (await origin.run(["log", "-1", "--format=%P", `${pushed}^`])).trim().split(" ");
          expect(parents).toEqual([world.forkMain, upstreamHead]);
        }
        // either way the PR merges into main without conflicts: main is behind the branch
        expect(await origin.isAncestor(world.forkMain, pushed!)).toBe(true);
        const committer = (await origin.run(["log", "-1", "--format=%cn <%ce>", pushed!])).trim();
        expect(committer).toBe("Fleetwave Sync <fleetwave-sync@users.noreply.github.com>");

        // changelogs on the branch
        const userFacing = JSON.parse(
          await origin.run(["show", `${pushed}:changelogs/user-facing/${DATE}.json`]),
        );
        expect(userFacing.range.to).toBe(upstreamHead);
        expect(userFacing.sections).toEqual([
          { title: "New", items: ["UI: team avatars in the sidebar"] },
          { title: "Fixed", items: ["The client reconnects after a timeout"] },
        ]);
        expect(await origin.run(["show", `${pushed}:changelogs/user-facing/latest.json`])).toBe(
          await origin.run(["show", `${pushed}:changelogs/user-facing/${DATE}.json`]),
        );
        const internal = await origin.run(["show", `${pushed}:changelogs/internal/${DATE}.md`]);
        expect(internal).toContain(`- Strategy: ${strategy}`);
        expect(internal).toContain('hidden from users by scope "cli"');
        expect(internal).toContain("`ui/src/components/Avatars.tsx`: rule `ui-hosted-mode`");

        // backup at the fork's main; main itself untouched; the clone is back on main
        expect(await refSha(world.fork.dir, `refs/heads/${BACKUP}`)).toBe(world.forkMain);
        await expectForkMainUntouched(expect, world);
        expect((await world.fork.git.run(["symbolic-ref", "--short", "HEAD"])).trim()).toBe("main");

        // exactly one PR creation, with the right shape
        const calls = world.github.requests.map((r) => `${r.method} ${r.path}`);
        expect(calls).toEqual(["GET /repos/acme/app/pulls", "POST /repos/acme/app/pulls"]);
        expect(world.github.requests[0]!.query).toMatchObject({ state: "open", base: "main" });
        const create = world.github.requests[1]!;
        expect(create.authorization).toBe("token test-token");
        const body = create.body as { title: string; head: string; base: string; body: string };
        expect(body.head).toBe(SYNC);
        expect(body.base).toBe("main");
        expect(body.title).toBe(
          `Sync upstream ${DATE}: 4 commits up to ${upstreamHead.slice(0, 7)} (${strategy})`,
        );
        expect(body.body).toContain(
          `| Range | \`${userFacing.range.from.slice(0, 7)}..${upstreamHead.slice(0, 7)}\``,
        );
        expect(body.body).toContain("| Commits | 4 upstream: 3 listed, 1 dropped");
        expect(body.body).toContain("- UI: team avatars in the sidebar");
        expect(body.body).toContain("| Guard findings | 1 |");
        expect(body.body).toContain(
          "`ui/src/components/Avatars.tsx`: rule `ui-hosted-mode` — missing `/hostedMode/`",
        );
        expect(body.body).toContain("| Conflicts | none |");

        // second run the same day, after upstream moved: same branch force-updated, PR updated
        const newer = await world.upstream.commit("perf: faster startup", {
          "src/app.ts": "export const app = 3;\n",
        });
        const again = await sync(world, "--strategy", strategy);
        expect(again.code).toBe(0);
        const repushed = await refSha(world.originDir, `refs/heads/${SYNC}`);
        expect(await origin.isAncestor(newer, repushed!)).toBe(true);
        expect(world.github.requests.slice(2).map((r) => `${r.method} ${r.path}`)).toEqual([
          "GET /repos/acme/app/pulls",
          "PATCH /repos/acme/app/pulls/1",
        ]);
        expect(world.github.pulls).toHaveLength(1);
        expect(world.github.pulls[0]!.title).toContain(`up to ${newer.slice(0, 7)}`);
        expect(world.github.pulls[0]!.body).toContain("- Faster startup");
        await expectForkMainUntouched(expect, world);
      }));
  }

  it("rebase, next night: replays only the fork's current commits, so a conflict fixed by hand stays fixed", ({
    expect,
  }) =>
    withWorld(async (world) => {
      // night 1: the fork and upstream both change line 2 -> conflict
      await world.fork.commit("feat(hosted): fork wording", { "src/shared.ts": "line 1\nfork 2\nline 3\n" });
      await world.fork.git.run(["push", "--quiet", "origin", "main"]);
      await world.upstream.commit("feat: upstream wording", {
        "src/shared.ts": "line 1\nupstream 2\nline 3\n",
      });
      const first = await sync(world);
      expect(first.code).toBe(1);

      // a person finishes it with the commands from the report (conflict resolved to "both 2")
      const fork = world.fork.git;
      const commands = first.output.split("```sh\n")[1]!.split("\n```")[0]!.split("\n");
      const rebaseLine = commands.find((c) => c.startsWith("git rebase"))!;
      expect(rebaseLine).toBe("git rebase upstream/main");
      const sh = (command: string) => shell(world.fork.dir, command);
      await sh(commands.find((c) => c.startsWith("git checkout --no-track -B"))!);
      await expect(sh(rebaseLine)).rejects.toThrow(/git rebase upstream\/main/);
      await writeFile(join(world.fork.dir, "src/shared.ts"), "line 1\nboth 2\nline 3\n");
      await fork.run(["add", "src/shared.ts"]);
      await fork.run(["rebase", "--continue"]);
      const markerLine = commands.find((c) => c.startsWith("git merge -s ours"))!;
      expect(markerLine).toContain(`Fleetwave-Sync-Supersedes: ${await world.fork.head("origin/main")}`);
      await sh(markerLine);
      // the PR is merged with a merge commit
      await fork.run(["checkout", "--quiet", "main"]);
      await fork.run(["merge", "--quiet", "--no-ff", "-m", "Merge pull request #1", SYNC]);
      await fork.run(["push", "--quiet", "origin", "main"]);
      expect(await readFile(join(world.fork.dir, "src/shared.ts"), "utf8")).toBe("line 1\nboth 2\nline 3\n");
      await fork.run(["branch", "-D", SYNC]);

      // nothing new upstream now
      expect((await syncOn(world, "2026-11-28")).code).toBe(2);

      // night 2: upstream moves elsewhere, the fork adds a commit; the old conflict must not return
      await world.upstream.commit("feat: more", { "src/more.ts": "more\n" });
      await world.fork.commit("fix(hosted): fork-only tweak", {
        "src/hosted.ts": "export const hostedMode = 2;\n",
      });
      await fork.run(["push", "--quiet", "origin", "main"]);
      const second = await syncOn(world, "2026-11-29");
      expect(second.output).not.toContain("Stopped on conflicts");
      expect(second.code).toBe(0);
      const branch = "sync/upstream-2026-11-29";
      const origin = new Git(world.originDir);
      expect(await origin.run(["show", `${branch}:src/shared.ts`])).toBe("line 1\nboth 2\nline 3\n");
      // the branch's own line (first parents): changelog, marker, then exactly the fork's stack
      const upstreamTip = await world.upstream.head();
      const line = await origin.run(["log", "--first-parent", "--format=%s", `${upstreamTip}..${branch}`]);
      expect(line.trim().split("\n")).toEqual([
        expect.stringMatching(/^chore\(changelog\): upstream sync 2026-11-29 /),
        expect.stringMatching(/^fleetwave: sync\/upstream-2026-11-29 supersedes origin\/main/),
        "fix(hosted): fork-only tweak",
        "feat(hosted): fork wording",
        "feat(hosted): hosted mode switch",
      ]);
      expect(second.output).toContain("3 fork commit(s) kept on top");
    }));

  it("keeps one sync PR open: an unmerged one is replaced, linked, closed with a comment, its branch deleted", ({
    expect,
  }) =>
    withWorld(async (world) => {
      const nights = ["2026-11-27", "2026-11-28", "2026-11-29"];
      for (const [i, night] of nights.entries()) {
        await world.upstream.commit(`feat: change of night ${i + 1}`, {
          [`src/night-${i + 1}.ts`]: `${i}\n`,
        });
        // Night 3's first request fails with a 502: the retry plugin asks again.
        if (i === 2) world.github.failNext(502);
        const { code, output } = await syncOn(world, night, "--open-pr");
        expect(code, output).toBe(0);

        const open = world.github.pulls.filter((p) => p.state === "open");
        expect(open.map((p) => p.head)).toEqual([`sync/upstream-${night}`]);
        expect(open[0]!.number).toBe(i + 1);
        if (i === 0) {
          expect(open[0]!.body).not.toContain("Replaces");
          continue;
        }
        const previous = nights[i - 1]!;
        expect(open[0]!.body.split("\n")[0]).toBe(
          `Replaces #${i}: that sync was not merged, so it is closed and this PR carries everything since.`,
        );
        expect(world.github.pulls[i - 1]!.state).toBe("closed");
        expect(world.github.comments.filter((c) => c.issue === i).map((c) => c.body)).toEqual([
          `Replaced by #${i + 1} (sync/upstream-${night}): it carries this sync's upstream commits and the newer ones. Closing this one and deleting its branch sync/upstream-${previous}.`,
        ]);
        expect(await refSha(world.originDir, `refs/heads/sync/upstream-${previous}`)).toBeNull();
        expect(await refSha(world.originDir, `refs/heads/sync/upstream-${night}`)).not.toBeNull();
        expect(output).toContain(`closed #${i} (sync/upstream-${previous}), replaced by #${i + 1}`);
      }
      const tonight = world.github.requests.slice(-5).map((r) => `${r.method} ${r.path}`);
      expect(tonight).toEqual([
        "GET /repos/acme/app/pulls",
        "GET /repos/acme/app/pulls",
        "POST /repos/acme/app/pulls",
        "POST /repos/acme/app/issues/2/comments",
        "PATCH /repos/acme/app/pulls/2",
      ]);
      await expectForkMainUntouched(expect, world);
    }));

  it("stops on conflicts: exit 1, files named, nothing pushed, main untouched, backup kept", ({ expect }) =>
    withWorld(async (world) => {
      await world.fork.commit("fix: fork wording", { "src/shared.ts": "line 1\nfork line 2\nline 3\n" });
      await world.fork.git.run(["push", "--quiet", "origin", "main"]);
      world.forkMain = await world.fork.head();
      await world.upstream.commit("feat: upstream wording", {
        "src/shared.ts": "line 1\nupstream line 2\nline 3\n",
      });
      await world.upstream.commit("feat: unrelated", { "src/other.ts": "x\n" });

      for (const strategy of ["rebase", "merge"] as const) {
        const { code, output } = await sync(world, "--strategy", strategy);
        expect(code).toBe(1);
        expect(output).toContain("**Stopped on conflicts**");
        expect(output).toContain("- `src/shared.ts`");
        expect(output).toContain(strategy === "rebase" ? "git rebase --continue" : "git commit --no-edit");
        expect(output).toContain(`git push --force-with-lease origin ${SYNC}`);
        expect(await refSha(world.originDir, `refs/heads/${SYNC}`)).toBeNull();
        expect(await refSha(world.fork.dir, `refs/heads/${SYNC}`)).toBeNull();
        expect(await refSha(world.fork.dir, `refs/heads/${BACKUP}`)).toBe(world.forkMain);
        await expectForkMainUntouched(expect, world);
        const status = await world.fork.git.run(["status", "--porcelain"]);
        expect(status).toBe("");
        expect(await readFile(join(world.fork.dir, "src/shared.ts"), "utf8")).toBe(
          "line 1\nfork line 2\nline 3\n",
        );
        expect((await world.fork.git.run(["symbolic-ref", "--short", "HEAD"])).trim()).toBe("main");
      }
      expect(world.github.requests).toEqual([]);
    }));

  it("exits 2 when upstream has nothing new: no branch, no PR", ({ expect }) =>
    withWorld(async (world) => {
      const { code, output } = await sync(world);
      expect(code).toBe(2);
      expect(output).toContain("Nothing new upstream");
      expect(await refSha(world.originDir, `refs/heads/${SYNC}`)).toBeNull();
      expect(await refSha(world.fork.dir, `refs/heads/${SYNC}`)).toBeNull();
      expect(world.github.requests).toEqual([]);
      await expectForkMainUntouched(expect, world);
    }));

  it("refuses a dirty work tree and changes nothing", ({ expect }) =>
    withWorld(async (world) => {
      await upstreamNews(world);
      await writeFile(join(world.fork.dir, "src/hosted.ts"), "edited\n");
      await expect(sync(world)).rejects.toThrow(/uncommitted changes/);
      expect(await refSha(world.fork.dir, `refs/heads/${BACKUP}`)).toBeNull();
      expect(world.github.requests).toEqual([]);
    }));
});
