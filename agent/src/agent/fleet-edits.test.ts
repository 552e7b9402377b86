import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { fleetSchema } from "../model/fleet.ts";
import { EditError, liftQuarantine, pinBot, setFleetPaused, setRolloutControl } from "./fleet-edits.ts";

const FLEET = `# the fleet
updates:
  mode: manual # tenants click
  windowMinutes: 60
images:
  allowlist: ["ghcr.io/acme/"]
`;

describe("fleet edits", () => {
  it("pauses and resumes the fleet back to its previous mode, keeping comments", () => {
    const paused = setFleetPaused(FLEET, true, "alice");
    expect(parse(paused).updates.mode).toBe("paused");
    expect(paused).toContain("# the fleet");
    expect(paused).toContain("paused by alice; was: manual");
    const resumed = setFleetPaused(paused, false, "bob");
    expect(parse(resumed).updates.mode).toBe("manual");
    expect(setFleetPaused(FLEET, false, "bob")).toBe(FLEET);
    expect(setFleetPaused(paused, true, "carol")).toBe(paused);
  });

  it("resumes to auto when no previous mode was noted", () => {
    expect(parse(setFleetPaused("updates:\n  mode: paused\n", false, "x")).updates.mode).toBe("auto");
  });

  it("sets a rollout's control with actor and reason; aborted is final", () => {
    const text = "id: r1\ncontrol: { state: active }\ntargets: []\n";
    const at = new Date("2026-11-27T10:00:00Z");
    const paused = setRolloutControl(text, "r1.yaml", {
      state: "paused",
      by: "alice",
      at,
      reason: "tenant call",
    });
    expect(parse(paused).control).toEqual({
      state: "paused",
      by: "alice",
      at: "2026-11-27T10:00:00.000Z",
      reason: "tenant call",
    });
    const aborted = setRolloutControl(paused, "r1.yaml", { state: "aborted", by: "bob", at });
    expect(() => setRolloutControl(aborted, "r1.yaml", { state: "active", by: "carol", at })).toThrow(
      EditError,
    );
  });

  it("pins one bot of a tenant file, keeping the other bots and comments", () => {
    const digest = `sha256:${"a".repeat(64)}`;
    const text = `tenant: acme # the first customer
bots:
  - id: acme-main
    image: ghcr.io/acme/paperclip:managed
  - id: acme-dev # staging
    image: ghcr.io/acme/paperclip:managed
    pinnedDigest: null
`;
    const pinned = pinBot(text, "acme.yaml", "acme-dev", digest, "rolled back by alice");
    expect(parse(pinned).bots).toEqual([
      { id: "acme-main", image: "ghcr.io/acme/paperclip:managed" },
      { id: "acme-dev", image: "ghcr.io/acme/paperclip:managed", pinnedDigest: digest },
    ]);
    expect(pinned).toContain("# the first customer");
    expect(pinned).toContain("# staging");
    expect(pinned).toContain(`pinnedDigest: ${digest} # rolled back by alice`);
    // A bot without the key gets it, with the note.
    expect(pinBot(text, "acme.yaml", "acme-main", digest, "by bob")).toContain(
      `    pinnedDigest: ${digest} # by bob\n  - id: acme-dev`,
    );
    expect(() => pinBot(text, "acme.yaml", "ghost", digest, "x")).toThrow(/acme.yaml declares no bot ghost/);
  });

  it("appends quarantine lifts to fleet.yaml in the shape its schema accepts", () => {
    const digest = `sha256:${"b".repeat(64)}`;
    const lift = {
      image: "ghcr.io/acme/paperclip:managed",
      digest,
      by: "alice",
      at: new Date("2026-11-27T10:00:00Z"),
    };
    const once = liftQuarantine(FLEET, { ...lift, reason: "fixed upstream" });
    const twice = liftQuarantine(once, { ...lift, by: "bob" });
    expect(twice).toContain("# the fleet");
    const fleet = fleetSchema.parse(parse(twice));
    expect(fleet.quarantine.lifted).toEqual([
      { ...lift, at: "2026-11-27T10:00:00.000Z", reason: "fixed upstream" },
      { ...lift, by: "bob", at: "2026-11-27T10:00:00.000Z" },
    ]);
    expect(fleetSchema.parse(parse(FLEET)).quarantine.lifted).toEqual([]);
  });
});
