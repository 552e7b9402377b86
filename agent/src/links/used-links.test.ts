import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CorruptFileError } from "../fs/durable.ts";
import { UsedLinks } from "./used-links.ts";

const sig = (c: string) => c.repeat(64);
const entry = (s: string, expires: number) => ({
  sig: s,
  bot: "acme-main",
  rollout: "2026-11-27T0612Z-b2b2b2b2",
  expires,
  at: "2026-11-27T06:12:00Z",
});

describe("UsedLinks", () => {
  it("remembers a used link across a reopen, and forgets links once they expired", async () => {
    const path = join(await mkdtemp(join(tmpdir(), "fleetwave-links-")), "used-links.json");
    let nowMs = 1_000_000_000;
    const first = await UsedLinks.open(path, () => nowMs);
    expect(first.has(sig("a"))).toBe(false);
    await first.add(entry(sig("a"), 1_000_000 + 10));
    expect(first.has(sig("a"))).toBe(true);

    const reopened = await UsedLinks.open(path, () => nowMs);
    expect(reopened.has(sig("a"))).toBe(true);

    nowMs = (1_000_000 + 11) * 1000;
    await reopened.add(entry(sig("b"), 2_000_000));
    expect(reopened.has(sig("a"))).toBe(false);
    const file = JSON.parse(await readFile(path, "utf8")) as { used: { sig: string }[] };
    expect(file.used.map((u) => u.sig)).toEqual([sig("b")]);
  });

  it("refuses a corrupt file by name instead of forgetting what was used", async () => {
    const path = join(await mkdtemp(join(tmpdir(), "fleetwave-links-")), "used-links.json");
    await writeFile(path, '{"version":1,"used":[{"sig":"nope"}]}');
    await expect(UsedLinks.open(path)).rejects.toThrow(CorruptFileError);
    await expect(UsedLinks.open(path)).rejects.toThrow(/used-links\.json: used\.0\.sig/);
  });
});
