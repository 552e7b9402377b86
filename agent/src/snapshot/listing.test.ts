import { spawnSync } from "node:child_process";
import { mkdir, mkdtemp, readFile, rename, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { forgetMovedDirectories, ListingFormatError, parseListing, serializeListing } from "./listing.ts";

const roots: string[] = [];
afterAll(async () => {
  for (const root of roots) await rm(root, { recursive: true, force: true });
});

const record = (name: string, ino: number, dumpdir: string[] | null) =>
  `0\u00001\u00002\u000066\u0000${ino}\u0000${name}\u0000${dumpdir ? `${dumpdir.map((e) => `${e}\u0000`).join("")}\u0000` : ""}\u0000`;

describe("GNU tar's listing", () => {
  it("splits records with, without and with an empty dumpdir, and writes them back byte for byte", () => {
    const text = `GNU tar-1.34-2\n17\u000042\u0000${record("./a", 7, ["Yf", "Dsub"])}${record("./a/sub", 8, null)}${record(".", 5, [])}`;
    const listing = parseListing(Buffer.from(text, "latin1"));
    expect(listing.records.map((r) => [r.name, r.ino])).toEqual([
      ["./a", 7n],
      ["./a/sub", 8n],
      [".", 5n],
    ]);
    expect(serializeListing(listing).toString("latin1")).toBe(text);
    const dropped = serializeListing({ ...listing, records: [listing.records[0]!, listing.records[2]!] });
    expect(parseListing(dropped).records.map((r) => r.name)).toEqual(["./a", "."]);
  });

  it("refuses another format or a cut record", () => {
    expect(() => parseListing(Buffer.from("GNU tar-1.34-1\n"))).toThrow(ListingFormatError);
    expect(() => parseListing(Buffer.from("GNU tar-1.34-2\n1\u00002\u00000\u00001\u0000"))).toThrow(
      /middle of a record/,
    );
  });

  it("forgets the directories that moved since tar listed them, and only those", async () => {
    const root = await mkdtemp(join(tmpdir(), "fleetwave-listing-"));
    roots.push(root);
    const volume = join(root, "v");
    await mkdir(join(volume, "stays/inner"), { recursive: true });
    await mkdir(join(volume, "moves/inner"), { recursive: true });
    // More directories than one batch of lstats.
    const many = Array.from({ length: 70 }, (_, i) => `./stays/d${i}`);
    for (const name of many) await mkdir(join(volume, name));
    const listing = join(root, "l.snar");
    const tar = spawnSync("tar", [
      "--create",
      `--listed-incremental=${listing}`,
      "--file=/dev/null",
      "-C",
      volume,
      ".",
    ]);
    expect(tar.status).toBe(0);
    await rename(join(volume, "moves"), join(volume, "moved"));
    expect(await forgetMovedDirectories(listing, volume)).toBe(2);
    const names = parseListing(await readFile(listing)).records.map((r) => r.name);
    expect(names.sort()).toEqual([".", "./stays", ...many, "./stays/inner"].sort());
    expect(await forgetMovedDirectories(listing, volume)).toBe(0);
  });
});
