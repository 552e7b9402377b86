import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { lockDataDir } from "./data-dir-lock.ts";
import { heldByOther, heldMessage, holdingOf, hostGuard, LIVE_FOR_MS, loadInstanceId } from "./host-claim.ts";

const self = { instance: "i-self", machine: "m1", dataDir: "/var/lib/fleetwave/host-a" };
const now = new Date("2026-12-03T12:00:00Z");
const ago = (ms: number) => new Date(now.getTime() - ms).toISOString();

describe("host claim", () => {
  it("keeps one instance id per data dir across restarts", async () => {
    const dir = await mkdtemp(join(tmpdir(), "fleetwave-claim-"));
    const first = await loadInstanceId(dir);
    expect(first).toMatch(/^[0-9a-f-]{36}$/);
    expect(await loadInstanceId(dir)).toBe(first);
    expect(await loadInstanceId(await mkdtemp(join(tmpdir(), "fleetwave-claim-")))).not.toBe(first);
  });

  it("holds the host for another instance seen recently on another machine, and not for itself", () => {
    const other = { instance: "i-other", machine: "m2", dataDir: "/data" };
    expect(heldByOther(undefined, self, now, false)).toBe(false);
    expect(heldByOther({ claim: self, updatedAt: ago(1000) }, self, now, true)).toBe(false);
    expect(heldByOther({ claim: other, updatedAt: ago(1000) }, self, now, false)).toBe(true);
    expect(heldByOther({ claim: other, updatedAt: ago(LIVE_FOR_MS + 1) }, self, now, false)).toBe(false);
    // The same data dir copied to another machine is another agent.
    const copy = { ...self, machine: "m2" };
    expect(heldByOther({ claim: copy, updatedAt: ago(1000) }, self, now, false)).toBe(true);
  });

  it("on the same machine asks whether the holder still runs, however recent its heartbeat", () => {
    const sibling = { instance: "i-sibling", machine: "m1", dataDir: "/other" };
    expect(heldByOther({ claim: sibling, updatedAt: ago(1000) }, self, now, true)).toBe(true);
    expect(heldByOther({ claim: sibling, updatedAt: ago(1000) }, self, now, false)).toBe(false);
  });

  it("reads the holder from a status file and says how to proceed in one line", () => {
    const text = `host: host-a\nobservedCommit: none\nupdatedAt: ${ago(5000)}\nagent:\n  instance: i-other\n  machine: m2\n  dataDir: /data\n`;
    const holding = holdingOf(text);
    expect(holding).toEqual({
      claim: { instance: "i-other", machine: "m2", dataDir: "/data" },
      updatedAt: ago(5000),
    });
    expect(holdingOf("host: host-a\n")).toBeUndefined();
    expect(holdingOf(": : not yaml [")).toBeUndefined();
    expect(holdingOf(undefined)).toBeUndefined();
    const message = heldMessage("host-a", holding!, self);
    expect(message).not.toContain("\n");
    expect(message).toMatch(/held by another fleetwave agent, instance i-other on m2 \(data dir \/data\)/);
    expect(message).toMatch(/stop that agent first; if it is gone for good, this agent takes over after/);
  });

  it("asks the data-dir lock of a holder on this machine", async () => {
    const mine = await mkdtemp(join(tmpdir(), "fleetwave-claim-"));
    const theirs = await mkdtemp(join(tmpdir(), "fleetwave-claim-"));
    const me = { instance: await loadInstanceId(mine), machine: "m1", dataDir: mine };
    const guard = hostGuard("host-a", me, () => now);
    const text = `host: host-a\nobservedCommit: none\nupdatedAt: ${ago(1000)}\nagent:\n  instance: i-theirs\n  machine: m1\n  dataDir: ${theirs}\n`;
    expect(await guard(text)).toBeUndefined();
    const lock = await lockDataDir(theirs);
    expect(await guard(text)).toMatch(/held by another fleetwave agent, instance i-theirs on m1/);
    await lock.release();
    expect(await guard(text)).toBeUndefined();
  });

  it("reads each new status text, not only the first it saw", async () => {
    const me = { instance: "i-me", machine: "m1", dataDir: "/mine" };
    const guard = hostGuard("host-a", me, () => now);
    const other = `host: host-a\nobservedCommit: none\nupdatedAt: ${ago(1000)}\nagent:\n  instance: i-other\n  machine: m2\n  dataDir: /data\n`;
    const mine = other.replace("i-other", "i-me").replace("m2", "m1");
    expect(await guard(mine)).toBeUndefined();
    expect(await guard(other)).toMatch(/instance i-other on m2/);
    expect(await guard(mine)).toBeUndefined();
    expect(await guard(undefined)).toBeUndefined();
    expect(await guard(other)).toMatch(/instance i-other on m2/);
  });
});
