import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Journal, type JournalEntry } from "./journal.ts";

const entry = (bot: string): JournalEntry => ({
  bot: {
    id: bot,
    tenant: "t",
    host: "h",
    image: "r/app:tag",
    pinnedDigest: null,
    volumes: [],
    env: {},
    command: null,
    network: "host",
    ports: [],
    health: null,
  },
  repository: "r/app",
  fromDigest: null,
  toDigest: `sha256:${"a".repeat(64)}`,
  oldContainerId: "abc",
  snapshots: [],
  precopies: [],
  keepSnapshots: 0,
  phase: "stopping",
  startedAt: "2026-11-27T00:00:00Z",
  steps: [],
});

describe("Journal", () => {
  it("records each step, lists open updates and forgets finished ones", async () => {
    const journal = new Journal(await mkdtemp(join(tmpdir(), "fleetwave-journal-")));
    expect(await journal.list()).toEqual([]);
    await journal.finish("never-started");
    const first = entry("bot-1");
    await journal.write(first);
    const next = await journal.advance(first, "snapshotting", { snapshots: [{ id: "s1", volume: "v" }] });
    expect(next.steps.map((s) => s.phase)).toEqual(["snapshotting"]);
    const [listed] = await journal.list();
    expect(listed).toMatchObject({ phase: "snapshotting", snapshots: [{ id: "s1", volume: "v" }] });
    await journal.finish("bot-1");
    expect(await journal.list()).toEqual([]);
  });
});
