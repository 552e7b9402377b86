import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../testing.ts";

describe("fleetwave agent --verify-commits", () => {
  it("refuses to start without the allowed signers file or a signing key, naming what is missing", async () => {
    const dir = await mkdtemp(join(tmpdir(), "fleetwave-trust-flags-"));
    await writeFile(join(dir, "allowed"), "");
    await writeFile(join(dir, "key"), "");
    const agent = (...flags: string[]) =>
      runCli(
        ["agent", "--repo", dir, "--host", "host-a", "--data-dir", join(dir, "data"), "--once", ...flags],
        dir,
      );

    const noSigners = await agent("--verify-commits", "--signing-key", "key");
    expect(noSigners.code).toBe(2);
    expect(noSigners.err).toContain("--verify-commits needs --allowed-signers FILE");
    const noKey = await agent("--verify-commits", "--allowed-signers", "allowed");
    expect(noKey.err).toContain("--verify-commits needs --signing-key KEY");
    const missing = await agent("--verify-commits", "--allowed-signers", "nope", "--signing-key", "key");
    expect(missing.err).toContain("--allowed-signers nope: the file does not exist or cannot be read");
    const stray = await agent("--allowed-signers", "allowed");
    expect(stray.err).toContain("--allowed-signers is used only with --verify-commits");
  });
});
