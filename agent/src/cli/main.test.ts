import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { commands } from "./commands/index.ts";
import { runCli } from "./testing.ts";

const pkg = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as {
  version: string;
};

describe("fleetwave (no command)", () => {
  it("--version prints the package version and, from a checkout, its HEAD", async () => {
    const head = execFileSync("git", ["rev-parse", "HEAD"], { cwd: import.meta.dirname, encoding: "utf8" });
    const { code, out } = await runCli(["--version"], "/");
    expect(code).toBe(0);
    expect(out).toBe(`fleetwave ${pkg.version} (commit ${head.trim()})`);
  });

  it("exits 2 with the help on stderr for no command or an unknown one", async () => {
    const none = await runCli([], "/");
    expect(none.code).toBe(2);
    expect(none.out).toBe("");
    expect(none.err).toContain("Usage: fleetwave <command> [flags]");
    const unknown = await runCli(["deploy"], "/");
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/^fleetwave: unknown command "deploy"/);
  });

  it("exits 2 with the command's usage on stderr for a bad flag", async () => {
    const { code, out, err } = await runCli(["validate", "--nope"], "/");
    expect(code).toBe(2);
    expect(out).toBe("");
    expect(err).toContain("fleetwave validate: Unknown option '--nope'");
    expect(err).toContain("Usage: fleetwave validate");
  });

  it("--help goes to stdout with exit 0", async () => {
    const { code, out } = await runCli(["--help"], "/");
    expect(code).toBe(0);
    expect(out).toContain("Commands:");
  });
});

describe("the command table", () => {
  it("names each command with the name and summary of the module it loads", async () => {
    for (const entry of commands) {
      const command = await entry.load();
      expect({ name: command.name, summary: command.summary }).toEqual({
        name: entry.name,
        summary: entry.summary,
      });
    }
  }, 60_000);
});
