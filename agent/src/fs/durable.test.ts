import { mkdtemp, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { CorruptFileError, fsyncDir, readJsonIfExists, writeFileAtomic } from "./durable.ts";

const tempDir = () => mkdtemp(join(tmpdir(), "fleetwave-durable-"));

describe("durable files", () => {
  it("replaces a file whole, private by default, leaving no temporary file", async () => {
    const dir = await tempDir();
    const path = join(dir, "state.json");
    await writeFile(path, "old");
    await writeFileAtomic(path, '{"a":1}');
    expect(await readFile(path, "utf8")).toBe('{"a":1}');
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await readdir(dir)).toEqual(["state.json"]);
    await writeFileAtomic(join(dir, "shared"), "x", { mode: 0o644 });
    expect((await stat(join(dir, "shared"))).mode & 0o777).toBe(0o644);
  });

  it("leaves the old file and no temporary file when the write fails", async () => {
    const dir = await tempDir();
    await expect(writeFileAtomic(join(dir, "missing-dir", "f"), "x")).rejects.toThrow(/ENOENT/);
    expect(await readdir(dir)).toEqual([]);
  });

  it("reads and validates JSON; undefined when absent; a named error naming the file when bad", async () => {
    const dir = await tempDir();
    const schema = z.object({ n: z.number() });
    expect(await readJsonIfExists(join(dir, "none.json"), schema)).toBeUndefined();
    await writeFile(join(dir, "ok.json"), '{"n":2}');
    expect(await readJsonIfExists(join(dir, "ok.json"), schema)).toEqual({ n: 2 });
    await writeFile(join(dir, "bad.json"), '{"n":');
    await expect(readJsonIfExists(join(dir, "bad.json"), schema)).rejects.toThrow(CorruptFileError);
    await writeFile(join(dir, "wrong.json"), '{"n":"x"}');
    await expect(readJsonIfExists(join(dir, "wrong.json"), schema)).rejects.toThrow(/wrong\.json: n: /);
  });

  it("treats a directory that does not exist as nothing to sync", async () => {
    await expect(fsyncDir(join(await tempDir(), "gone"))).resolves.toBeUndefined();
  });
});
