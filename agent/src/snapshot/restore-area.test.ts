import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mountIdOf } from "./restore-area.ts";

let dir: string;
let mountinfo: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "fleetwave-mountinfo-"));
  await mkdir(join(dir, "with space/inner"), { recursive: true });
  await mkdir(join(dir, "docker/volumes/v/_data"), { recursive: true });
  await mkdir(join(dir, "dock"), { recursive: true });
  const escaped = (path: string) => path.replace(/ /g, "\\040");
  mountinfo = [
    "26 1 254:0 / / rw,relatime - ext4 /dev/vda rw",
    // The Docker Engine bind-mounts its data root onto itself.
    `41 26 254:0 ${join(dir, "docker")} ${join(dir, "docker")} rw,relatime shared:1 - ext4 /dev/vda rw`,
    `50 26 0:40 / ${escaped(join(dir, "with space"))} rw - tmpfs tmpfs rw`,
    `51 26 0:41 / ${join(dir, "dock")} rw - tmpfs tmpfs rw`,
    `52 26 0:42 / ${join(dir, "dock")} rw - tmpfs tmpfs rw`,
    "",
  ].join("\n");
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("mountIdOf", () => {
  it("finds the longest mount point that contains the path", async () => {
    expect(await mountIdOf(dir, mountinfo)).toBe("26");
    expect(await mountIdOf(join(dir, "docker/volumes/v/_data"), mountinfo)).toBe("41");
    expect(await mountIdOf(join(dir, "docker"), mountinfo)).toBe("41");
  });

  it("does not take a mount point for a prefix of another name", async () => {
    // `<dir>/dock` is mounted; `<dir>/docker` is not inside it.
    expect(await mountIdOf(join(dir, "docker"), mountinfo)).not.toBe("52");
  });

  it("decodes escaped mount points and takes the last of two mounts on one point", async () => {
    expect(await mountIdOf(join(dir, "with space/inner"), mountinfo)).toBe("50");
    expect(await mountIdOf(join(dir, "dock"), mountinfo)).toBe("52");
  });

  it("is undefined for a path that does not exist, and reads the real table by default", async () => {
    expect(await mountIdOf(join(dir, "missing"), mountinfo)).toBeUndefined();
    expect(await mountIdOf("/")).toMatch(/^\d+$/);
  });
});
