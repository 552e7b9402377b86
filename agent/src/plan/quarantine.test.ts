import { describe, expect, it } from "vitest";
import { activeQuarantine, quarantineEntries } from "./quarantine.ts";

const IMAGE = "ghcr.io/acme/paperclip:managed";
const D = `sha256:${"d".repeat(64)}`;
const E = `sha256:${"e".repeat(64)}`;
const q = (digest: string, at: string) => ({
  image: IMAGE,
  digest,
  rollout: "r1",
  at,
  reason: "rolled back",
});

describe("quarantine lifts", () => {
  const statuses = [
    { host: "host-b", quarantine: [q(D, "2026-11-27T09:00:00Z")] },
    { host: "host-a", quarantine: [q(D, "2026-11-27T08:00:00Z"), q(E, "2026-11-27T08:30:00Z")] },
  ];

  it("a lift clears the records of its image and digest made before it, not later ones", () => {
    const lift = { image: IMAGE, digest: D, by: "alice", at: "2026-11-27T08:45:00Z" };
    const entries = quarantineEntries(statuses, [lift]);
    expect(entries.map((e) => [e.host, e.digest === D, e.liftedBy?.by])).toEqual([
      ["host-a", true, "alice"],
      ["host-a", false, undefined],
      ["host-b", true, undefined],
    ]);
    expect(activeQuarantine(statuses, [lift], IMAGE, D).map((e) => e.host)).toEqual(["host-b"]);
    const later = { ...lift, at: "2026-11-27T09:00:00Z" };
    expect(activeQuarantine(statuses, [later], IMAGE, D)).toEqual([]);
    expect(activeQuarantine(statuses, [{ ...later, image: "ghcr.io/acme/other:x" }], IMAGE, D)).toHaveLength(
      2,
    );
    expect(activeQuarantine(statuses, [later], IMAGE, E)).toHaveLength(1);
  });
});
