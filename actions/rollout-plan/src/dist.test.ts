import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";
import { buildOptions, repoRoot } from "./build.ts";

describe("actions/rollout-plan/dist", () => {
  it("is the bundle of the current sources (run `npm run build:action` and commit dist/ when this fails)", async () => {
    const result = await build({ ...buildOptions, write: false, logLevel: "silent" });
    const built = result.outputFiles[0]?.contents;
    expect(built).toBeDefined();
    const committed = await readFile(join(repoRoot, buildOptions.outfile));
    const same = built !== undefined && Buffer.compare(Buffer.from(built), committed) === 0;
    expect(
      same,
      "actions/rollout-plan/dist/index.js is stale: run `npm run build:action` and commit it",
    ).toBe(true);
  }, 60_000);
});
