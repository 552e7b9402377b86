import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { build, type Metafile } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildOptions, nodeTarget, repoRoot } from "./build.ts";

const run = promisify(execFile);
const pkg = JSON.parse(await readFile(join(repoRoot, "package.json"), "utf8")) as { version: string };

let outdir: string;
let metafile: Metafile;

/** Every output file a chunk loads at import time (static imports, transitively), and the packages. */
function staticClosure(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (path: string) => {
    if (files.has(path)) return;
    files.add(path);
    for (const imported of metafile.outputs[path]?.imports ?? []) {
      if (imported.kind !== "import-statement") continue;
      if (imported.external) packages.add(imported.path);
      else visit(imported.path);
    }
  };
  visit(entry);
  return { files, packages };
}

const output = (pattern: RegExp) => {
  const found = Object.keys(metafile.outputs).find((p) => pattern.test(p) && p.endsWith(".js"));
  if (!found) throw new Error(`no output matches ${pattern}`);
  return found;
};

beforeAll(async () => {
  outdir = await mkdtemp(join(tmpdir(), "fleetwave-build-"));
  const result = await build({ ...buildOptions("0123abc"), outdir, metafile: true });
  metafile = result.metafile;
}, 120_000);

afterAll(() => rm(outdir, { recursive: true, force: true }));

describe("scripts/build.ts", () => {
  it("targets the Node major of package.json's engines", () => {
    expect(nodeTarget(">=20")).toBe("node20");
    expect(() => nodeTarget("^20")).toThrow(/engines\.node/);
  });

  it("keeps commands lazy: start-up and validate load none of the agent's, sync's or the API's packages", () => {
    const entry = output(/\/fleetwave\.js$/);
    const atStart = staticClosure(entry);
    const validate = staticClosure(output(/\/validate-[A-Z0-9]+\.js$/));
    const loaded = new Set([...atStart.packages, ...validate.packages].filter((p) => !p.startsWith("node:")));
    expect([...loaded]).toEqual([]);
    expect(validate.files.size).toBeGreaterThan(1);
    const agent = staticClosure(output(/\/agent-[A-Z0-9]+\.js$/));
    expect([...agent.packages]).toEqual(expect.arrayContaining(["dockerode", "hono"]));
  });

  it("embeds the version, the commit and the dashboard script: no file is read at start-up", async () => {
    const { stdout } = await run(process.execPath, [join(outdir, "fleetwave.js"), "--version"], { cwd: "/" });
    expect(stdout.trim()).toBe(`fleetwave ${pkg.version} (commit 0123abc)`);
    const script = await readFile(join(repoRoot, "agent/src/http/dashboard.client.js"), "utf8");
    const all = await Promise.all(
      Object.keys(metafile.outputs)
        .filter((p) => p.endsWith(".js"))
        .map((p) => readFile(join(repoRoot, p), "utf8")),
    );
    expect(all.some((text) => text.includes(JSON.stringify(script).slice(1, 200)))).toBe(true);
    // What `fleetwave init` copies into a new fleet repository travels inside the bundle too.
    for (const copied of ["scripts/hosted-mode.yaml", "changelogs/README.md"]) {
      const text = await readFile(join(repoRoot, copied), "utf8");
      expect(
        all.some((chunk) => chunk.includes(JSON.stringify(text).slice(1, 200))),
        copied,
      ).toBe(true);
    }
    // Reading /proc or a lock file at run time is fine; a file beside the module is what a bundle must not need.
    expect(all.join("\n")).not.toMatch(/readFileSync\(new URL|dashboard\.client\.js|tsx\/esm/);
  });

  it("starts with a node shebang and has a source map per chunk", async () => {
    const text = await readFile(join(outdir, "fleetwave.js"), "utf8");
    expect(text.startsWith("#!/usr/bin/env node\n")).toBe(true);
    const maps = Object.keys(metafile.outputs).filter((p) => p.endsWith(".js.map"));
    expect(maps.length).toBe(Object.keys(metafile.outputs).filter((p) => p.endsWith(".js")).length);
  });
});
