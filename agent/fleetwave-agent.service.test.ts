/**
 * agent/fleetwave-agent@.service, checked by systemd itself: `systemd-analyze verify` on an
 * instance of the template reports unknown or malformed directives, a missing ExecStart binary
 * and missing dependencies. The test installs Debian's systemd package when it runs as root
 * without it, and fails (never skips) when it cannot verify.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const UNIT = join(import.meta.dirname, "fleetwave-agent@.service");

async function systemdAnalyze(): Promise<string> {
  const found = await run("sh", ["-c", "command -v systemd-analyze"]).catch(() => undefined);
  if (found) return found.stdout.trim();
  if (process.getuid?.() !== 0) {
    throw new Error(
      "systemd-analyze is missing: install Debian's systemd package (or run the tests as root)",
    );
  }
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  await run("apt-get", ["install", "-y", "--no-install-recommends", "systemd"], { env }).catch(async () => {
    await run("apt-get", ["update"], { env });
    await run("apt-get", ["install", "-y", "--no-install-recommends", "systemd"], { env });
  });
  return (await run("sh", ["-c", "command -v systemd-analyze"])).stdout.trim();
}

let analyze: string;
beforeAll(async () => {
  analyze = await systemdAnalyze();
}, 600_000);

const directives = async () =>
  (await readFile(UNIT, "utf8"))
    .split("\n")
    .filter((line) => /^[A-Z]\w*=/.test(line))
    .map((line) => line.split(/=(.*)/s).slice(0, 2) as [string, string]);

describe("fleetwave-agent@.service", () => {
  it("passes systemd-analyze verify with no warning", async () => {
    const dir = await mkdtemp(join(tmpdir(), "fleetwave-unit-"));
    let unit = await readFile(UNIT, "utf8");
    // verify checks that ExecStart's binary exists. Where node lives elsewhere (a CI runner's
    // toolcache), the copy runs that node; the next test pins the unit's own path.
    if (!existsSync("/usr/bin/node"))
      unit = unit.replace("ExecStart=/usr/bin/node ", `ExecStart=${process.execPath} `);
    await writeFile(join(dir, "fleetwave-agent@.service"), unit);
    const result = await run(analyze, ["verify", "--man=no", "./fleetwave-agent@host-a.service"], {
      cwd: dir,
    }).catch((error: { stdout: string; stderr: string; code: number }) => error);
    expect(result.stderr).toBe("");
    expect("code" in result ? result.code : 0).toBe(0);
  });

  it("runs node on the installed package, with defaults for every variable but the repository", async () => {
    const all = await directives();
    const exec = all.find(([key]) => key === "ExecStart")?.[1] ?? "";
    expect(exec).toMatch(/^\/usr\/bin\/node \$\{FLEETWAVE_CLI\} agent /);
    expect(exec).not.toMatch(/npx|\bsh\b|env /);
    const defaults = new Map(
      all
        .filter(([key]) => key === "Environment")
        .map(([, value]) => value.split(/=(.*)/s) as [string, string]),
    );
    for (const variable of exec.match(/\$\{(\w+)\}/g) ?? []) {
      const name = variable.slice(2, -1);
      if (name !== "FLEETWAVE_REPO") expect(defaults.get(name), name).toBeTruthy();
    }
    expect(defaults.get("FLEETWAVE_BRANCH")).toBe("main");
    expect(defaults.get("FLEETWAVE_CLI")).toBe("/usr/lib/node_modules/fleetwave/dist/fleetwave.js");
  });

  it("is sandboxed but can still reach the Engine socket and Docker's volumes", async () => {
    const all = new Map(await directives());
    expect(all.get("ProtectSystem")).toBe("strict");
    expect(all.get("NoNewPrivileges")).toBe("yes");
    expect(all.get("ReadWritePaths")?.split(" ")).toEqual(["/var/lib/docker/volumes", "-/run/docker.sock"]);
    expect(all.get("RestrictAddressFamilies")).toContain("AF_UNIX");
    expect(all.get("CapabilityBoundingSet")).toContain("CAP_DAC_READ_SEARCH");
  });
});
