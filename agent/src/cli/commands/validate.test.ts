import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { copyOfSample as copyOfFleet, runCli } from "../testing.ts";

const run = runCli;

const copyOfSample = () => copyOfFleet("fleetwave-validate-");

describe("fleetwave validate", () => {
  it("accepts the sample fleet with a one-line summary", async () => {
    const root = await copyOfSample();
    const { code, out } = await run(["validate"], root);
    expect(code).toBe(0);
    expect(out).toBe("fleet-state is valid: 3 tenants, 6 bots, 2 hosts, 0 rollouts");
  });

  it("prints every problem with file and line, and exits 1 without a stack trace", async () => {
    const root = await copyOfSample();
    await writeFile(join(root, "fleet-state/tenants/broken.yaml"), "tenant: broken\nbots: [\n");
    await writeFile(
      join(root, "fleet-state/tenants/wrong.yaml"),
      "tenant: wrong\nupdate: { mode: sometimes }\n",
    );
    const { code, out, err } = await run(["validate"], root);
    expect(code).toBe(1);
    expect(out).toMatch(/^fleet-state\/tenants\/broken\.yaml:\d+: \(yaml\): invalid YAML/m);
    expect(out).toContain('fleet-state/tenants/wrong.yaml:2: update.mode: must be one of "auto", "manual"');
    expect(err).toContain("fleet-state is invalid: 2 problems");
    expect(`${out}${err}`).not.toMatch(/\bat .+:\d+:\d+\)/);
  });

  it("prints GitHub annotations with --format github", async () => {
    const root = await copyOfSample();
    await writeFile(
      join(root, "fleet-state/tenants/wrong.yaml"),
      "tenant: wrong\nupdate: { mode: sometimes }\n",
    );
    const { code, out } = await run(["validate", "--format", "github"], root);
    expect(code).toBe(1);
    expect(out).toContain(
      "::error file=fleet-state/tenants/wrong.yaml,line=2,title=update.mode::must be one of",
    );
  });

  it("takes --state and names a missing directory", async () => {
    const root = await copyOfSample();
    expect((await run(["validate", "--state", join(root, "fleet-state")], "/")).code).toBe(0);
    const missing = await run(["validate", "--state", "nowhere"], root);
    expect(missing.code).toBe(2);
    expect(missing.err).toContain("no fleet-state directory at");
  });

  it("rejects an unknown flag or format as a usage error", async () => {
    const root = await copyOfSample();
    expect((await run(["validate", "--colour"], root)).err).toContain("Unknown option '--colour'");
    expect((await run(["validate", "--format", "xml"], root)).err).toContain("--format:");
  });
});

describe("fleetwave validate --json", () => {
  it("prints the counts of a valid fleet, or every problem, as one JSON object", async () => {
    const root = await copyOfSample();
    const valid = await run(["validate", "--json"], root);
    expect(valid.code).toBe(0);
    expect(JSON.parse(valid.out)).toEqual({
      valid: true,
      counts: { tenants: 3, bots: 6, hosts: 2, rollouts: 0 },
    });
    await writeFile(
      join(root, "fleet-state/tenants/wrong.yaml"),
      "tenant: wrong\nupdate: { mode: sometimes }\n",
    );
    const invalid = await run(["validate", "--json"], root);
    expect(invalid.code).toBe(1);
    expect(JSON.parse(invalid.out)).toEqual({
      valid: false,
      problems: [
        {
          file: "fleet-state/tenants/wrong.yaml",
          line: 2,
          field: "update.mode",
          message: expect.stringContaining("must be one of"),
        },
      ],
    });
  });

  it("refuses --json with --format github: exit 2", async () => {
    const root = await copyOfSample();
    const both = await run(["validate", "--json", "--format", "github"], root);
    expect(both.code).toBe(2);
    expect(both.err).toContain("--json and --format github are two output formats");
  });
});
