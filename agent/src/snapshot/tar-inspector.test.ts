import { execFileSync } from "node:child_process";
import { link, mkdir, mkdtemp, open, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TarFormatError, TarInspector } from "./tar-inspector.ts";

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "fleetwave-tar-inspector-"));
  const long = join(dir, "d".repeat(90), "e".repeat(90));
  await mkdir(long, { recursive: true });
  await writeFile(join(long, `${"f".repeat(120)}.txt`), "long name\n");
  await writeFile(join(dir, "empty-file"), "");
  await writeFile(join(dir, "exactly-512"), Buffer.alloc(512, 1));
  await writeFile(join(dir, "ünïcødé name"), "u\n");
  await link(join(dir, "exactly-512"), join(dir, "hardlink"));
  await symlink("x".repeat(150), join(dir, "long-symlink"));
  await mkdir(join(dir, "empty-dir"));
  // Many holes, so old-GNU sparse headers need extension blocks.
  const sparse = await open(join(dir, "sparse"), "w");
  for (let i = 0; i < 40; i += 1) await sparse.write(Buffer.alloc(10, 7), 0, 10, i * 65536);
  await sparse.truncate(40 * 65536);
  await sparse.close();
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function archive(format: string): Buffer {
  return execFileSync(
    "tar",
    ["--create", `--format=${format}`, "--sparse", "--xattrs", "-f", "-", "-C", dir, "."],
    {
      maxBuffer: 1 << 28,
    },
  );
}

function listed(tar: Buffer): number {
  return execFileSync("tar", ["--list", "-f", "-"], { input: tar }).toString("utf8").trim().split("\n")
    .length;
}

function inspect(tar: Buffer, chunk: number) {
  const inspector = new TarInspector();
  for (let i = 0; i < tar.length; i += chunk) inspector.write(tar.subarray(i, i + chunk));
  return inspector.finish();
}

describe("TarInspector", () => {
  it.each(["posix", "gnu"])("counts every entry of a GNU tar %s archive, whatever the chunking", (format) => {
    const tar =
      format === "posix"
        ? archive("posix")
        : execFileSync("tar", ["--create", "--format=gnu", "--sparse", "-f", "-", "-C", dir, "."], {
            maxBuffer: 1 << 28,
          });
    const expected = listed(tar);
    expect(expected).toBeGreaterThan(10);
    for (const chunk of [1, 7, 511, 512, 513, 65536, tar.length]) {
      expect(inspect(tar, chunk)).toEqual({ entries: expected, firstEntry: "./" });
    }
  });

  it("rejects a truncated archive", () => {
    const tar = archive("posix");
    for (const cut of [100, 512, 1536, tar.length - 10240 - 1]) {
      expect(() => inspect(tar.subarray(0, cut), 4096)).toThrow(TarFormatError);
    }
  });

  it("rejects a damaged header", () => {
    const tar = Buffer.from(archive("posix"));
    tar[10] = tar[10]! ^ 0xff;
    expect(() => inspect(tar, 4096)).toThrow(/checksum/);
  });
});
