import { describe, expect, it } from "vitest";
import type { FleetBot } from "../model/fleet-state.ts";
import type { HostStatus } from "../model/status.ts";
import { chooseCreateDigest, confirmedDigest, tagChoice } from "./create-digest.ts";
import { digestOf, IMAGE } from "./testing.ts";

const A = digestOf("a");
const B = digestOf("b");
const T = digestOf("f");

function bot(id: string, host: string, extra: Partial<FleetBot> = {}): FleetBot {
  return {
    id,
    host,
    tenant: "t",
    image: IMAGE,
    pinnedDigest: null,
    volumes: [],
    env: {},
    command: null,
    network: "host",
    ports: [],
    health: null,
    ...extra,
  };
}

function status(
  host: string,
  bots: HostStatus["bots"] = {},
  quarantine: HostStatus["quarantine"] = [],
): HostStatus {
  return { host, observedCommit: "x", updatedAt: "2026-01-01T00:00:00Z", bots, rollouts: {}, quarantine };
}

const updated = (to: string, at: string) => ({
  result: "updated" as const,
  from: null,
  to,
  at,
  durationMs: 1,
});
const quarantined = (digest: string) => ({
  image: IMAGE,
  digest,
  rollout: "r1",
  at: "2026-01-01T00:00:00Z",
  reason: "bad",
});

describe("the digest a missing bot is created at", () => {
  const fresh = bot("new", "h1");
  const bots = [
    fresh,
    bot("old1", "h2"),
    bot("old2", "h2"),
    bot("other", "h2", { image: "ghcr.io/acme/x:1" }),
  ];

  it("takes the newest digest a bot of the same image runs after a successful update", () => {
    const h2 = status("h2", {
      old1: { digest: A, state: "running", last: updated(A, "2026-01-01T01:00:00Z") },
      old2: { digest: B, state: "running", last: updated(B, "2026-01-02T01:00:00Z") },
      other: { digest: T, state: "running", last: updated(T, "2026-01-03T01:00:00Z") },
    });
    expect(confirmedDigest(IMAGE, bots, [h2])).toBe(B);
    expect(chooseCreateDigest(fresh, bots, [h2], status("h1"))).toMatchObject({ kind: "digest", digest: B });
  });

  it("never takes a quarantined digest, a failed update's digest or a stopped bot's", () => {
    const h2 = status(
      "h2",
      {
        old1: { digest: A, state: "running", last: updated(A, "2026-01-01T01:00:00Z") },
        old2: { digest: B, state: "running", last: updated(B, "2026-01-02T01:00:00Z") },
      },
      [quarantined(B)],
    );
    expect(confirmedDigest(IMAGE, bots, [h2])).toBe(A);
    const failed = status("h2", {
      old1: {
        digest: A,
        state: "running",
        last: { ...updated(B, "2026-01-01T01:00:00Z"), result: "rolled-back" },
      },
      old2: { digest: B, state: "stopped", last: updated(B, "2026-01-02T01:00:00Z") },
    });
    expect(confirmedDigest(IMAGE, bots, [failed])).toBeUndefined();
  });

  it("prefers the pin, then the digest this host last ran the bot at unless it is quarantined", () => {
    const h2 = status("h2", { old1: { digest: A, state: "running" } });
    expect(chooseCreateDigest(bot("new", "h1", { pinnedDigest: T }), bots, [h2], status("h1"))).toMatchObject(
      {
        digest: T,
      },
    );
    const own = status("h1", { new: { digest: B, state: "missing" } });
    expect(chooseCreateDigest(fresh, bots, [h2], own)).toMatchObject({ digest: B });
    const bad = status("h1", { new: { digest: B, state: "missing" } }, [quarantined(B)]);
    expect(chooseCreateDigest(fresh, bots, [h2], bad)).toMatchObject({ digest: A });
  });

  it("with nothing confirmed, uses the tag's digest only when it is not quarantined", () => {
    expect(chooseCreateDigest(fresh, bots, [], status("h1"))).toEqual({ kind: "resolve-tag" });
    const ok = tagChoice(fresh, T, []);
    expect(ok).toMatchObject({ ok: true, digest: T });
    expect(ok.ok && ok.why).toContain("no digest of");
    const refused = tagChoice(fresh, T, [status("h2", {}, [quarantined(T)])]);
    expect(refused).toMatchObject({ ok: false });
    expect(!refused.ok && refused.reason).toContain("quarantined");
  });
});
