import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { git } from "#fleetwave/git/git.ts";
import { loadFleetState } from "#fleetwave/model/load.ts";
import { copyOfSample as copyOfFleet, runCli } from "../testing.ts";

const IMAGE = "ghcr.io/acme/paperclip:managed";
const DIGEST = `sha256:3f2a9c1b${"7e4d".repeat(14)}`;

const run = runCli;

const copyOfSample = () => copyOfFleet("fleetwave-plan-");

const rollouts = async (root: string) =>
  (await readdir(join(root, "fleet-state/rollouts"))).filter((f) => !f.startsWith("."));

describe("fleetwave plan", () => {
  it("prints the summary and writes a rollout file that validates", async () => {
    const root = await copyOfSample();
    const { code, out, err } = await run(
      ["plan", "--image", IMAGE, "--digest", DIGEST, "--based-on", "abc1234"],
      root,
    );
    expect(err).toBe("");
    expect(code).toBe(0);
    expect(out).toMatch(/^Rollout plan \d{4}-\d{2}-\d{2}T\d{4}Z-3f2a9c1b$/m);
    expect(out).toContain("Wave 1: 2 bots");
    expect(out).toMatch(
      /- {2}initech-lab +initech +host-b +other-image: follows ghcr\.io\/acme\/paperclip:canary/,
    );
    expect(out).toContain("Plan: 5 bots in 3 waves across 3 tenants on 2 hosts; 1 excluded.");
    const files = await rollouts(root);
    expect(files).toHaveLength(1);
    expect(out).toContain(`Wrote fleet-state/rollouts/${files[0]}`);
    const state = await loadFleetState(join(root, "fleet-state"), root);
    expect(state.ok).toBe(true);
    if (state.ok) expect(state.state.rollouts[0]).toMatchObject({ basedOn: "abc1234", digest: DIGEST });
  });

  it("--json prints the plan, the excluded bots and the file written as one JSON object", async () => {
    const root = await copyOfSample();
    const dry = await run(["plan", "--image", IMAGE, "--digest", DIGEST, "--dry-run", "--json"], root);
    expect(dry.code).toBe(0);
    const planned = JSON.parse(dry.out);
    expect(planned).toMatchObject({ result: "dry-run", file: null, plan: { image: IMAGE, digest: DIGEST } });
    expect(planned.plan.targets).toHaveLength(5);
    expect(planned.excluded).toEqual([
      expect.objectContaining({ bot: "initech-lab", reason: "other-image" }),
    ]);
    expect(await rollouts(root)).toEqual([]);
    const written = await run(["plan", "--image", IMAGE, "--digest", DIGEST, "--json"], root);
    expect(written.code).toBe(0);
    expect(JSON.parse(written.out)).toMatchObject({
      result: "written",
      file: `fleet-state/rollouts/${(await rollouts(root))[0]}`,
    });
    const none = ["plan", "--image", "ghcr.io/acme/paperclip:nobody", "--digest", DIGEST, "--json"];
    const empty = await run(none, root);
    expect(empty.code).toBe(1);
    expect(JSON.parse(empty.out)).toMatchObject({ result: "no-targets", plan: { targets: [] } });
    const allowed = await run([...none, "--allow-empty"], root);
    expect(allowed.code).toBe(0);
    expect(JSON.parse(allowed.out)).toMatchObject({ result: "nothing-to-do" });
  });

  it("--dry-run writes nothing", async () => {
    const root = await copyOfSample();
    const { code, out } = await run(["plan", "--image", IMAGE, "--digest", DIGEST, "--dry-run"], root);
    expect(code).toBe(0);
    expect(out).toContain("Dry run: nothing written");
    expect(await rollouts(root)).toEqual([]);
  });

  it("takes basedOn from the state directory's git HEAD, else 'unknown'", async () => {
    const root = await copyOfSample();
    const dry = [
      "plan",
      "--image",
      IMAGE,
      "--digest",
      DIGEST,
      "--dry-run",
      "--state",
      join(root, "fleet-state"),
    ];
    expect((await run(dry, "/")).out).toMatch(/based on +unknown/);
    await git(["init", "-q"], { cwd: root });
    await git(["add", "."], { cwd: root });
    await git(["-c", "user.name=T", "-c", "user.email=t@example.com", "commit", "-q", "-m", "x"], {
      cwd: root,
    });
    const head = (await git(["rev-parse", "HEAD"], { cwd: root })).stdout.trim();
    expect((await run(dry, "/")).out).toContain(`based on  ${head}`);
  });

  it("--bot makes a single-bot plan; --changelog is embedded", async () => {
    const root = await copyOfSample();
    const changelog = join(root, "latest.json");
    await writeFile(
      changelog,
      JSON.stringify({
        version: "1.4.0",
        date: "2026-11-27",
        sections: [{ title: "New", items: ["Dark mode"] }],
      }),
    );
    const { code, out } = await run(
      ["plan", "--image", IMAGE, "--digest", DIGEST, "--bot", "acme-main", "--changelog", changelog],
      root,
    );
    expect(code).toBe(0);
    expect(out).toContain("single-bot: one bot");
    expect(out).toContain("changelog  1.4.0 (2026-11-27): 1 new");
    const text = await readFile(join(root, "fleet-state/rollouts", (await rollouts(root))[0]!), "utf8");
    expect(text).toContain("  - { bot: acme-main, tenant: acme, host: host-a, wave: 1 }");
    expect(text).toContain("      - Dark mode");
  });

  it("fails with a clear message for a malformed digest, a foreign image, an invalid state and a bad changelog", async () => {
    const root = await copyOfSample();
    const bad = await run(["plan", "--image", IMAGE, "--digest", "sha256:abc"], root);
    expect(bad.code).toBe(1);
    expect(bad.err).toBe(
      'fleetwave plan: digest "sha256:abc": must be "sha256:" followed by 64 lowercase hex digits',
    );
    const foreign = await run(["plan", "--image", "docker.io/evil/app:1", "--digest", DIGEST], root);
    expect(foreign.err).toContain(
      'image "docker.io/evil/app:1" is not allowed; fleet.yaml images.allowlist has ghcr.io/acme/',
    );
    const changelog = join(root, "bad.json");
    await writeFile(changelog, '{"version": "1"}');
    const badLog = await run(["plan", "--image", IMAGE, "--digest", DIGEST, "--changelog", changelog], root);
    expect(badLog.err).toMatch(/changelog .*bad\.json is not a user-facing changelog: date: /);
    await writeFile(
      join(root, "fleet-state/tenants/wrong.yaml"),
      "tenant: wrong\nupdate: { mode: sometimes }\n",
    );
    const invalid = await run(["plan", "--image", IMAGE, "--digest", DIGEST], root);
    expect(invalid.code).toBe(1);
    expect(invalid.err).toContain("fleet-state is invalid (1 problem); fix it before planning:");
    expect(invalid.err).toContain(
      'fleet-state/tenants/wrong.yaml:2: update.mode: must be one of "auto", "manual"',
    );
    expect(`${invalid.err}${bad.err}`).not.toMatch(/\bat .+:\d+:\d+\)/);
    expect(await rollouts(root)).toEqual([]);
  });

  it("no targets: exit 1, or exit 0 with 'nothing to do' when --allow-empty", async () => {
    const root = await copyOfSample();
    const argv = ["plan", "--image", "ghcr.io/acme/paperclip:nobody", "--digest", DIGEST];
    const strict = await run(argv, root);
    expect(strict.code).toBe(1);
    expect(strict.err).toContain("no bot is a target of ghcr.io/acme/paperclip:nobody@");
    const lenient = await run([...argv, "--allow-empty"], root);
    expect(lenient.code).toBe(0);
    expect(lenient.out).toContain("Nothing to do");
    expect(await rollouts(root)).toEqual([]);
  });

  it("refuses to plan the same digest twice", async () => {
    const root = await copyOfSample();
    expect((await run(["plan", "--image", IMAGE, "--digest", DIGEST], root)).code).toBe(0);
    const again = await run(["plan", "--image", IMAGE, "--digest", DIGEST], root);
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/rollout \S+ already plans/);
  });

  it("reports usage errors for missing or unknown flags", async () => {
    const root = await copyOfSample();
    const missing = await run(["plan", "--digest", DIGEST], root);
    expect(missing.code).toBe(2);
    expect(missing.err).toContain("--image: required");
    expect(
      (await run(["plan", "--image", IMAGE, "--digest", DIGEST, "--strategy", "yolo"], root)).err,
    ).toContain("--strategy: must be one of rolling-wave, immediate, single-bot");
    expect(
      (
        await run(
          ["plan", "--image", IMAGE, "--digest", DIGEST, "--strategy", "immediate", "--bot", "acme-main"],
          root,
        )
      ).err,
    ).toContain("only be named with the single-bot strategy");
    expect(
      (await run(["plan", "--image", IMAGE, "--digest", DIGEST, "--state", "nowhere"], root)).err,
    ).toContain("no fleet-state directory");
  });
});
