import { mkdtemp, readFile, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { main } from "../main.ts";
import { runCli } from "../testing.ts";
import { registryOf } from "./init.ts";

const FLAGS = ["--image", "ghcr.io/acme/app:managed", "--admins", "ops@acme.example, cto@acme.example"];

describe("fleetwave init", () => {
  it("writes a fleet repository that validates, with the image's repository allowed and the admins set", async () => {
    const root = await mkdtemp(join(tmpdir(), "fleetwave-init-"));
    const run = await runCli(["init", "fleet", ...FLAGS, "--upstream", "https://example.com/app.git"], root);
    expect(run.code, run.err).toBe(0);
    const dir = join(root, "fleet");
    expect((await stat(join(dir, ".git"))).isDirectory()).toBe(true);
    for (const path of [
      "fleet-state/tenants/.gitkeep",
      "fleet-state/schema/tenant.schema.json",
      "scripts/hosted-mode.yaml",
      "changelogs/README.md",
      ".github/workflows/build-and-rollout.yml",
      ".github/workflows/validate-fleet-state.yml",
      ".github/workflows/upstream-sync.yml",
      ".github/workflows/ci.yml",
    ])
      expect((await stat(join(dir, path))).isFile(), path).toBe(true);
    const fleet = parse(await readFile(join(dir, "fleet-state/fleet.yaml"), "utf8"));
    expect(fleet.images.allowlist).toEqual(["ghcr.io/acme/app"]);
    expect(fleet.notifications.email.admins).toEqual(["ops@acme.example", "cto@acme.example"]);
    const sync = await readFile(join(dir, ".github/workflows/upstream-sync.yml"), "utf8");
    expect(sync).toContain("vars.UPSTREAM_URL || 'https://example.com/app.git'");
    // The last three lines are the next commands: import, push, agent.
    expect(
      run.out
        .split("\n")
        .slice(-3)
        .map((l) => l.trim().split(" ")[0]),
    ).toEqual(["fleetwave", "git", "fleetwave"]);
    expect(run.out).toMatch(/fleetwave import --host HOST --state fleet\/fleet-state/);

    const valid = await runCli(["validate", "--state", "fleet/fleet-state"], root);
    expect(valid.code, valid.out).toBe(0);
    expect(valid.out).toContain("0 tenants, 0 bots");
  });

  it("refuses to overwrite without --force and writes nothing then; --force overwrites", async () => {
    const root = await mkdtemp(join(tmpdir(), "fleetwave-init-"));
    await writeFile(join(root, "README.md"), "the app\n");
    expect((await runCli(["init", ...FLAGS], root)).code).toBe(0);
    const fleetPath = join(root, "fleet-state/fleet.yaml");
    await writeFile(fleetPath, "edited\n");
    const again = await runCli(["init", ...FLAGS], root);
    expect(again.code).toBe(1);
    expect(again.err).toContain("fleet-state/fleet.yaml");
    expect(again.err).toContain("--force");
    expect(await readFile(fleetPath, "utf8")).toBe("edited\n");
    expect(await readFile(join(root, "README.md"), "utf8")).toBe("the app\n");
    expect((await runCli(["init", ...FLAGS, "--force"], root)).code).toBe(0);
    expect(await readFile(fleetPath, "utf8")).toContain("allowlist");
  });

  it("asks for what the flags leave out on a terminal, and is a usage error without one", async () => {
    const root = await mkdtemp(join(tmpdir(), "fleetwave-init-"));
    const noTerminal = await runCli(["init"], root);
    expect(noTerminal.code).toBe(2);
    expect(noTerminal.err).toContain("--image is required");

    const answers = ["not an image", "registry.example:5000/team/bot:stable", "", "ops@acme.example"];
    const questions: string[] = [];
    const errors: string[] = [];
    const code = await main(["init"], {
      out: () => {},
      err: (line) => errors.push(line),
      cwd: root,
      env: {},
      ask: async (question) => {
        questions.push(question);
        return answers.shift() ?? "";
      },
    });
    expect(code, errors.join("\n")).toBe(0);
    expect(questions).toHaveLength(4); // the bad image was asked again
    const build = await readFile(join(root, ".github/workflows/build-and-rollout.yml"), "utf8");
    expect(build).toContain("vars.FLEETWAVE_IMAGE || 'registry.example:5000/team/bot:stable'");
    expect(build).toContain("registry: registry.example:5000");
    expect(await readFile(join(root, ".github/workflows/upstream-sync.yml"), "utf8")).toContain(
      "UPSTREAM_URL: \u0024{{ vars.UPSTREAM_URL }}",
    );
  });

  it("bad flags are usage errors", async () => {
    const root = await mkdtemp(join(tmpdir(), "fleetwave-init-"));
    const run = await runCli(["init", "--image", "ghcr.io/acme/app@sha256:abc", "--admins", "nobody"], root);
    expect(run.code).toBe(2);
    expect(run.err).toContain("--image: must be repository:tag without a digest");
    expect(run.err).toContain("--admins");
  });

  it("names the image's registry the way Docker does", () => {
    expect(registryOf("ghcr.io/acme/app:1")).toBe("ghcr.io");
    expect(registryOf("localhost/app:1")).toBe("localhost");
    expect(registryOf("127.0.0.1:5000/app:1")).toBe("127.0.0.1:5000");
    expect(registryOf("acme/app:1")).toBe("docker.io");
    expect(registryOf("app:1")).toBe("docker.io");
  });
});
