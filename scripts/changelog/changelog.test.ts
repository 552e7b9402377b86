/** `fleetwave changelog` on a real git repository in a temp dir. */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CliIO } from "#fleetwave/cli/command.ts";
import { changelogCommand } from "#fleetwave/cli/commands/changelog.ts";
import { makeTempDir, TestRepo } from "../sync/test-helpers.ts";

const CONFIG = `
infrastructure: [".github/**", "docker/**"]
exclude:
  scopes: [adapters]
  paths: ["packages/adapters/**"]
  keywords: [cli, thinking effort]
unconventional: improved
scopeNames: { api: Config files }
`;

function io(cwd: string): CliIO & { lines: string[]; errors: string[] } {
  const lines: string[] = [];
  const errors: string[] = [];
  return { lines, errors, out: (l) => lines.push(l), err: (l) => errors.push(l), cwd, env: {} };
}

describe("fleetwave changelog", () => {
  let tmp: { dir: string; cleanup: () => Promise<void> };
  let repo: TestRepo;
  let base: string;
  const shas: Record<string, string> = {};

  beforeAll(async () => {
    tmp = await makeTempDir();
    repo = await TestRepo.init(join(tmp.dir, "app"));
    base = await repo.commit("chore: initial import", {
      "src/app.ts": "export {};\n",
      "README.md": "# app\n",
    });
    shas.breakingBang = await repo.commit("feat(agent)!: drop the v1 status format", {
      "src/status.ts": "v2\n",
    });
    shas.footer = await repo.commit(
      "fix(api): reject unknown config keys\n\nBREAKING CHANGE: configs with typos now fail to load",
      { "src/config.ts": "strict\n" },
    );
    await repo.git.run(["checkout", "--quiet", "-b", "topic"]);
    shas.topic = await repo.commit("feat: export conversations as PDF", { "src/export.ts": "pdf\n" });
    await repo.git.run(["checkout", "--quiet", "main"]);
    shas.merge = await repo.merge("topic", "Merge branch 'topic'");
    shas.reverted = await repo.commit("feat: confetti on every save", { "src/confetti.ts": "boom\n" });
    shas.revert = await repo.revert(shas.reverted);
    shas.nonConventional = await repo.commit("Polish the onboarding screens", {
      "src/onboarding.ts": "nice\n",
    });
    shas.ci = await repo.commit("ci: cache npm between jobs", { "src/ci-notes.ts": "// ci\n" });
    shas.infra = await repo.commit("fix: pin the base image", {
      "docker/Dockerfile": "FROM scratch\n",
      ".github/workflows/ci.yml": "on: push\n",
    });
    shas.scope = await repo.commit("feat(adapters): add a Gemini adapter", { "src/gemini.ts": "g\n" });
    shas.path = await repo.commit("perf: stream tokens sooner", {
      "packages/adapters/claude/index.ts": "fast\n",
    });
    shas.keyword = await repo.commit("feat: choose the thinking effort per agent", {
      "src/effort.ts": "e\n",
    });
    shas.cli = await repo.commit("feat: new CLI flag --json for exports", { "src/cli-flags.ts": "j\n" });
    shas.client = await repo.commit("fix: the client reconnects after a network timeout", {
      "src/client.ts": "r\n",
    });
    shas.clicking = await repo.commit("fix: clicking Save twice no longer sends twice.", {
      "src/save.ts": "s\n",
    });
    await writeFile(join(tmp.dir, "hosted.yaml"), CONFIG);
  });
  afterAll(() => tmp.cleanup());

  it("writes the internal markdown, the user-facing JSON and latest.json", async () => {
    const cli = io(tmp.dir);
    const code = await changelogCommand.run(
      ["--repo", repo.dir, "--from", base, "--to", "HEAD", "--date", "2026-11-27", "--config", "hosted.yaml"],
      cli,
    );
    expect(cli.errors).toEqual([]);
    expect(code).toBe(0);
    const out = join(repo.dir, "changelogs");
    const json = JSON.parse(await readFile(join(out, "user-facing", "2026-11-27.json"), "utf8"));
    expect(json).toEqual({
      version: `2026-11-27+${shas.clicking!.slice(0, 7)}`,
      date: "2026-11-27",
      range: { from: base, to: shas.clicking },
      sections: [
        { title: "New", items: ["Export conversations as PDF", "Agent: drop the v1 status format"] },
        { title: "Improved", items: ["Polish the onboarding screens"] },
        {
          title: "Fixed",
          items: [
            "Clicking Save twice no longer sends twice",
            "The client reconnects after a network timeout",
            "Config files: reject unknown config keys",
          ],
        },
      ],
    });
    expect(await readFile(join(out, "user-facing", "latest.json"), "utf8")).toBe(
      await readFile(join(out, "user-facing", "2026-11-27.json"), "utf8"),
    );

    const md = await readFile(join(out, "internal", "2026-11-27.md"), "utf8");
    const line = (sha: string) => md.split("\n").find((l) => l.includes(`\`${sha.slice(0, 7)}\``)) ?? "";
    // every kept commit with sha, scope and author; hidden ones say why
    expect(line(shas.breakingBang!)).toContain("**agent:** drop the v1 status format");
    expect(line(shas.breakingBang!)).toContain("Ada Upstream");
    expect(md).toMatch(/## ⚠ Breaking changes[\s\S]*configs with typos now fail to load/);
    expect(line(shas.ci!)).toContain("internal only");
    expect(line(shas.scope!)).toContain('hidden from users by scope "adapters"');
    expect(line(shas.path!)).toContain('hidden from users by path "packages/adapters/**"');
    expect(line(shas.keyword!)).toContain('hidden from users by keyword "thinking effort"');
    expect(line(shas.cli!)).toContain('hidden from users by keyword "cli"');
    expect(line(shas.client!)).toContain("users: Fixed");
    // dropped from both views, and said so
    expect(md).toMatch(new RegExp(`\`${shas.merge!.slice(0, 7)}\` Merge branch 'topic' — merge commit`));
    expect(md).toContain(
      `\`${shas.revert!.slice(0, 7)}\` Revert "feat: confetti on every save" — revert pair`,
    );
    expect(md).toContain(`\`${shas.reverted!.slice(0, 7)}\` feat: confetti on every save — revert pair`);
    expect(md).toContain(
      `\`${shas.infra!.slice(0, 7)}\` fix: pin the base image — touches only infrastructure paths`,
    );
    expect(JSON.stringify(json)).not.toMatch(/confetti|base image|Gemini|thinking|\bCLI\b|cache npm/i);
  });

  it("starts at the previous changelog's range.to when --from is omitted", async () => {
    const next = await repo.commit("feat: dark mode", { "src/theme.ts": "dark\n" });
    const cli = io(repo.dir);
    const code = await changelogCommand.run(["--date", "2026-11-28", "--config", "../hosted.yaml"], cli);
    expect(code).toBe(0);
    const out = join(repo.dir, "changelogs", "user-facing");
    const json = JSON.parse(await readFile(join(out, "2026-11-28.json"), "utf8"));
    expect(json.range).toEqual({ from: shas.clicking, to: next });
    expect(json.sections).toEqual([{ title: "New", items: ["Dark mode"] }]);
    expect(JSON.parse(await readFile(join(out, "latest.json"), "utf8"))).toEqual(json);
  });

  it("keeps latest.json on the newest day when an older day is written", async () => {
    const cli = io(repo.dir);
    expect(
      await changelogCommand.run(["--from", base, "--to", shas.footer!, "--date", "2026-11-01"], cli),
    ).toBe(0);
    const out = join(repo.dir, "changelogs", "user-facing");
    expect(JSON.parse(await readFile(join(out, "latest.json"), "utf8")).date).toBe("2026-11-28");
  });

  it("rejects unknown revisions and bad dates", async () => {
    await expect(
      changelogCommand.run(["--repo", repo.dir, "--from", "nope", "--to", "HEAD"], io(tmp.dir)),
    ).rejects.toThrow(/--from: unknown revision "nope"/);
    await expect(
      changelogCommand.run(["--repo", repo.dir, "--date", "2026-02-30"], io(tmp.dir)),
    ).rejects.toThrow(/--date: not a calendar date/);
  });
});
