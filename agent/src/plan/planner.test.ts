import { describe, expect, it } from "vitest";
import { buildFleetState } from "../model/fleet-state.ts";
import { defaultStrategy, type Strategy } from "../model/strategy.ts";
import {
  DuplicatePlanError,
  PlanError,
  planRollout,
  resolveStrategy,
  rolloutIdFor,
  waveOf,
  waveSize,
} from "./planner.ts";
import {
  formatPlanCommitMessage,
  formatPlanMarkdown,
  formatPlanSummary,
  renderRolloutYaml,
} from "./render.ts";
import { digestOf, type FleetSpec, fleetFiles, fleetState, IMAGE } from "./testing.ts";

const DIGEST = digestOf("3f2a9c1b7e4d");
const OLD = digestOf("aaaa");
const NOW = new Date("2026-11-27T06:12:34.567Z");

/** n tenants "t01".. with one bot each on host-a/host-b, all at the same hour. */
function flatFleet(n: number, extra: Partial<FleetSpec> = {}): FleetSpec {
  return {
    tenants: Array.from({ length: n }, (_, i) => {
      const t = `t${String(i + 1).padStart(2, "0")}`;
      return { tenant: t, hour: 7, bots: [{ id: `${t}-bot`, host: i % 2 === 0 ? "host-a" : "host-b" }] };
    }),
    ...extra,
  };
}

function plan(spec: FleetSpec, overrides: Partial<Parameters<typeof planRollout>[0]> = {}) {
  return planRollout({
    state: fleetState(spec),
    image: IMAGE,
    digest: DIGEST,
    now: NOW,
    basedOn: "abc1234",
    ...overrides,
  });
}

const wavesOf = (targets: { wave: number }[]) => {
  const sizes: number[] = [];
  for (const t of targets) sizes[t.wave - 1] = (sizes[t.wave - 1] ?? 0) + 1;
  return sizes;
};

describe("planRollout: strategies", () => {
  it("rolling-wave: ceil(total × batchPercent / 100) bots per wave, counted on the total", () => {
    const { plan: p } = plan(flatFleet(10));
    expect(p.strategy.name).toBe("rolling-wave");
    expect(wavesOf(p.targets)).toEqual([3, 3, 3, 1]);
    expect(p.targets.map((t) => t.bot)).toEqual(
      Array.from({ length: 10 }, (_, i) => `t${String(i + 1).padStart(2, "0")}-bot`),
    );
  });

  it("rolling-wave: a tiny batchPercent still moves one bot per wave", () => {
    const { plan: p } = plan(flatFleet(3), { strategy: { batchPercent: 1 } });
    expect(wavesOf(p.targets)).toEqual([1, 1, 1]);
  });

  it("rolling-wave: takes fleet.yaml's strategy, then the override field by field", () => {
    const spec = flatFleet(4, { strategy: { batchPercent: 50, pauseSeconds: 300, maxParallel: 2 } });
    const { plan: p } = plan(spec, { strategy: { maxParallel: 8 } });
    expect(p.strategy).toMatchObject({
      name: "rolling-wave",
      batchPercent: 50,
      pauseSeconds: 300,
      maxParallel: 8,
    });
    expect(wavesOf(p.targets)).toEqual([2, 2]);
  });

  it("immediate: every target in wave 1, no pause", () => {
    const { plan: p } = plan(flatFleet(9), { strategy: { name: "immediate" } });
    expect(wavesOf(p.targets)).toEqual([9]);
    expect(p.strategy).toMatchObject({ name: "immediate", batchPercent: 100, pauseSeconds: 0 });
  });

  it("single-bot: exactly the named bot; the others are not-selected", () => {
    const { plan: p, excluded } = plan(flatFleet(4), { strategy: { name: "single-bot" }, bot: "t03-bot" });
    expect(p.targets).toEqual([{ bot: "t03-bot", tenant: "t03", host: "host-a", wave: 1 }]);
    expect(excluded.filter((e) => e.reason === "not-selected").map((e) => e.bot)).toEqual([
      "t01-bot",
      "t02-bot",
      "t04-bot",
    ]);
  });

  it("single-bot without a name: the first target in plan order", () => {
    const { plan: p } = plan(flatFleet(4), { strategy: { name: "single-bot" } });
    expect(p.targets.map((t) => t.bot)).toEqual(["t01-bot"]);
  });

  it("single-bot: a named bot that is not a target is an error saying why", () => {
    const spec = flatFleet(2);
    spec.tenants[0]!.bots[0]!.pinnedDigest = OLD;
    expect(() => plan(spec, { strategy: { name: "single-bot" }, bot: "t01-bot" })).toThrow(
      /bot t01-bot is not a target of this plan: pinned/,
    );
    expect(() => plan(spec, { strategy: { name: "single-bot" }, bot: "ghost" })).toThrow(/not declared/);
  });

  it("a bot may only be named for single-bot", () => {
    expect(() => plan(flatFleet(2), { bot: "t01-bot" })).toThrow(
      /only be named with the single-bot strategy/,
    );
  });

  it("rejects an invalid strategy override", () => {
    expect(() => plan(flatFleet(2), { strategy: { batchPercent: 0 } })).toThrow(PlanError);
    expect(() => resolveStrategy(fleetState(flatFleet(1)).fleet.strategy, { maxParallel: 0 })).toThrow(
      /maxParallel/,
    );
  });
});

describe("planRollout: targets", () => {
  const spec: FleetSpec = {
    tenants: [
      {
        tenant: "acme",
        bots: [
          { id: "acme-main", host: "host-a" },
          { id: "acme-pinned", host: "host-a", pinnedDigest: OLD },
          { id: "acme-canary", host: "host-b", image: "ghcr.io/acme/app:canary" },
          { id: "acme-current", host: "host-b" },
          { id: "acme-old", host: "host-b" },
        ],
      },
    ],
    statuses: [{ host: "host-b", bots: { "acme-current": DIGEST, "acme-old": OLD } }],
  };

  it("excludes other images, pinned bots and bots already on the digest, with reasons", () => {
    const { plan: p, excluded } = plan(spec);
    expect(p.targets.map((t) => t.bot)).toEqual(["acme-main", "acme-old"]);
    expect(excluded.map((e) => [e.bot, e.reason])).toEqual([
      ["acme-pinned", "pinned"],
      ["acme-canary", "other-image"],
      ["acme-current", "up-to-date"],
    ]);
    expect(excluded[0]!.detail).toContain(OLD);
  });

  it("reads a bot's running digest from its own host's status file", () => {
    const moved: FleetSpec = { ...spec, statuses: [{ host: "host-a", bots: { "acme-current": DIGEST } }] };
    expect(plan(moved).plan.targets.map((t) => t.bot)).toContain("acme-current");
  });

  it("excludes every bot when the digest is quarantined for the image", () => {
    const quarantined: FleetSpec = {
      ...spec,
      statuses: [
        {
          host: "host-a",
          quarantine: [
            { image: IMAGE, digest: DIGEST, rollout: "2026-11-26T0600Z-3f2a9c1b", reason: "aborted" },
          ],
        },
      ],
    };
    const { plan: p, excluded } = plan(quarantined);
    expect(p.targets).toEqual([]);
    const q = excluded.filter((e) => e.reason === "quarantined");
    expect(q.map((e) => e.bot)).toEqual(["acme-main", "acme-current", "acme-old"]);
    expect(q[0]!.detail).toContain("rollout 2026-11-26T0600Z-3f2a9c1b on host-a: aborted");
  });

  it("plans a quarantined digest again once fleet.yaml lifts the quarantine", () => {
    const quarantine = [
      { image: IMAGE, digest: DIGEST, rollout: "2026-11-26T0600Z-3f2a9c1b", reason: "aborted" },
    ];
    const lift = (at: string) =>
      `quarantine:\n  lifted:\n    - { image: ${IMAGE}, digest: ${DIGEST}, by: alice, at: ${at} }\n`;
    const lifted: FleetSpec = {
      ...spec,
      statuses: [{ host: "host-a", quarantine }],
      fleetExtra: lift("2026-11-27T06:00:00Z"),
    };
    expect(plan(lifted).plan.targets.map((t) => t.bot)).toEqual(["acme-current", "acme-main", "acme-old"]);
    // The record (05:00) is newer than this lift: the digest failed again after it was lifted.
    const stale: FleetSpec = { ...lifted, fleetExtra: lift("2026-11-27T04:00:00Z") };
    expect(plan(stale).plan.targets).toEqual([]);
  });

  it("ignores a quarantine of the same digest for another image", () => {
    const other: FleetSpec = {
      ...spec,
      statuses: [
        {
          host: "host-a",
          quarantine: [
            {
              image: "ghcr.io/acme/app:canary",
              digest: DIGEST,
              rollout: "2026-11-26T0600Z-3f2a9c1b",
              reason: "x",
            },
          ],
        },
      ],
    };
    expect(plan(other).plan.targets.map((t) => t.bot)).toEqual(["acme-current", "acme-main", "acme-old"]);
  });

  it("returns an empty plan (not an error) when nothing needs the digest", () => {
    const { plan: p } = plan({
      tenants: [{ tenant: "a", bots: [{ id: "a-1", host: "h", image: "ghcr.io/acme/app:other" }] }],
    });
    expect(p.targets).toEqual([]);
  });
});

describe("planRollout: order", () => {
  const spec: FleetSpec = {
    defaultHour: 3,
    windowMinutes: 120,
    tenants: [
      { tenant: "late", hour: 22, bots: [{ id: "late-1", host: "h1" }] },
      {
        tenant: "early",
        hour: 2,
        bots: [
          { id: "early-2", host: "h1" },
          { id: "early-1", host: "h2" },
        ],
      },
      { tenant: "default", bots: [{ id: "default-1", host: "h1" }] },
      { tenant: "noon", hour: 12, bots: [{ id: "noon-1", host: "h2" }] },
    ],
  };
  const order = (at: string) => plan(spec, { now: new Date(at) }).plan.targets.map((t) => t.bot);

  it("orders by the next window from the plan's time, then hour, tenant, bot", () => {
    expect(order("2026-11-27T06:00:00Z")).toEqual(["noon-1", "late-1", "early-1", "early-2", "default-1"]);
    expect(order("2026-11-27T21:30:00Z")).toEqual(["late-1", "early-1", "early-2", "default-1", "noon-1"]);
  });

  it("puts windows that are open now first", () => {
    // 23:30: "late" (22:00 + 120 min) is open; 02:00 is next.
    expect(order("2026-11-27T23:30:00Z")).toEqual(["late-1", "early-1", "early-2", "default-1", "noon-1"]);
    // 03:10: "early" (02:00) and "default" (03:00) are both open; the lower hour comes first.
    expect(order("2026-11-27T03:10:00Z")).toEqual(["early-1", "early-2", "default-1", "noon-1", "late-1"]);
  });
});

describe("planRollout: the plan", () => {
  it("derives id and createdAt from now (UTC) and the digest", () => {
    const { plan: p } = plan(flatFleet(1));
    expect(p.id).toBe("2026-11-27T0612Z-3f2a9c1b");
    expect(p.createdAt).toBe("2026-11-27T06:12:34Z");
    expect(rolloutIdFor(new Date("2027-01-02T23:59:59Z"), digestOf("0123abcd"))).toBe(
      "2027-01-02T2359Z-0123abcd",
    );
    expect(p).toMatchObject({
      basedOn: "abc1234",
      image: IMAGE,
      digest: DIGEST,
      control: { state: "active" },
    });
  });

  it("carries the changelog and source when given", () => {
    const changelog = {
      version: "1.4.0",
      date: "2026-11-27",
      sections: [{ title: "New" as const, items: ["Dark mode"] }],
    };
    const source = {
      repository: "acme/paperclip",
      commit: "abc1234",
      run: "https://github.com/acme/paperclip/actions/runs/1",
    };
    const { plan: p } = plan(flatFleet(1), { changelog, source });
    expect(p.changelog).toEqual(changelog);
    expect(p.source).toEqual(source);
  });

  it("rejects a malformed digest or image and an image outside the allowlist", () => {
    expect(() => plan(flatFleet(1), { digest: "sha256:abc" })).toThrow(
      /digest "sha256:abc": must be "sha256:" followed by 64/,
    );
    expect(() => plan(flatFleet(1), { digest: `sha256:${"A".repeat(64)}` })).toThrow(PlanError);
    expect(() => plan(flatFleet(1), { image: "ghcr.io/acme/app" })).toThrow(/repository:tag/);
    expect(() => plan(flatFleet(1), { image: `${IMAGE}@${DIGEST}` })).toThrow(/without a digest/);
    expect(() => plan(flatFleet(1), { image: "docker.io/evil/app:latest" })).toThrow(
      'image "docker.io/evil/app:latest" is not allowed; fleet.yaml images.allowlist has ghcr.io/acme/',
    );
  });

  it("refuses to plan a digest that already has a plan", () => {
    const first = plan(flatFleet(2)).plan;
    const spec = flatFleet(2, { extra: { [`rollouts/${first.id}.yaml`]: renderRolloutYaml(first) } });
    expect(() => plan(spec, { now: new Date("2026-11-28T00:00:00Z") })).toThrow(DuplicatePlanError);
    expect(() => plan(spec, { now: new Date("2026-11-28T00:00:00Z") })).toThrow(/already plans/);
  });

  it("writes a file that validates with the rest of fleet-state and parses back to the plan", () => {
    const spec = flatFleet(6, { statuses: [{ host: "host-a", bots: { "t01-bot": OLD } }] });
    const changelog = {
      version: "1.4.0",
      date: "2026-11-27",
      sections: [
        { title: "Fixed" as const, items: ["Quotes: \"x\" and 'y'", "a: colon", "# not a comment"] },
      ],
    };
    const { plan: p } = plan(spec, { changelog, basedOn: "1234567" });
    const yaml = renderRolloutYaml(p);
    expect(yaml.split("\n")[0]).toBe("# yaml-language-server: $schema=../schema/rollout.schema.json");
    expect(yaml).toContain("  - { bot: t01-bot, tenant: t01, host: host-a, wave: 1 }\n");
    const result = buildFleetState([...fleetFiles(spec), { path: `rollouts/${p.id}.yaml`, text: yaml }]);
    if (!result.ok) throw new Error(JSON.stringify(result.problems));
    expect(result.state.rollouts).toEqual([p]);
  });
});

describe("plan text", () => {
  it("summarises waves, exclusions and totals, and limits long lists", () => {
    const spec = flatFleet(5);
    spec.tenants[4]!.bots[0]!.pinnedDigest = OLD;
    const state = fleetState(spec);
    const { plan: p, excluded } = planRollout({
      state,
      image: IMAGE,
      digest: DIGEST,
      now: NOW,
      basedOn: "abc1234",
    });
    const text = formatPlanSummary(p, excluded, { fleet: state.fleet, tenants: state.tenants });
    expect(text).toContain("Rollout plan 2026-11-27T0612Z-3f2a9c1b");
    expect(text).toContain("Wave 1: 1 bot, 1 tenant, 1 host");
    expect(text).toMatch(/\+ {2}t01-bot {2}t01 {2}host-a {2}auto, window 07:00 UTC \+60m/);
    expect(text).toMatch(/- {2}t05-bot {2}t05 {2}host-a {2}pinned: pinned to sha256:a{4}0+/);
    expect(text).toContain("Plan: 4 bots in 4 waves across 4 tenants on 2 hosts; 1 excluded.");
    expect(formatPlanSummary(p, excluded, { limit: 0 })).toContain("… and 1 more pinned");
    const md = formatPlanMarkdown(p, excluded);
    expect(md).toContain("| 1 | 1: t01-bot | 1: t01 | host-a |");
    expect(md).toContain("| pinned | 1: t05-bot |");
  });

  it("warns when the fleet is paused or manual", () => {
    const state = fleetState(flatFleet(1, { mode: "paused" }));
    const { plan: p, excluded } = planRollout({
      state,
      image: IMAGE,
      digest: DIGEST,
      now: NOW,
      basedOn: "x",
    });
    expect(formatPlanSummary(p, excluded, { fleet: state.fleet })).toContain(
      "updates.mode is paused: no bot starts",
    );
  });

  it("writes the commit message with the short digest and trailers", () => {
    const { plan: p, excluded } = plan(flatFleet(2));
    const message = formatPlanCommitMessage(p, excluded);
    expect(message.split("\n")[0]).toBe(`fleetwave: plan rollout ${p.id} for ${IMAGE}@3f2a9c1b7e4d`);
    expect(message).toMatch(/\n\nFleetwave-Rollout: 2026-11-27T0612Z-3f2a9c1b\n/);
    expect(message).toContain(`Fleetwave-Digest: ${DIGEST}`);
  });

  it("wave sizes follow the rule at the edges", () => {
    expect(waveSize(0, 25)).toBe(1);
    expect(waveSize(1, 1)).toBe(1);
    expect(waveSize(4, 25)).toBe(1);
    expect(waveSize(5, 25)).toBe(2);
    expect(waveSize(100, 100)).toBe(100);
  });
});

describe("resolveStrategy and waveOf", () => {
  it("ignores override fields that are present but undefined, as parsed flags leave them", () => {
    expect(resolveStrategy(defaultStrategy, { batchPercent: undefined, maxParallel: 8 })).toEqual({
      ...defaultStrategy,
      maxParallel: 8,
    });
  });

  it("lists every invalid field in one message, and names the strategy for an issue without a field", () => {
    expect(() => resolveStrategy(defaultStrategy, { batchPercent: 0, maxParallel: 0 })).toThrow(
      "invalid strategy: batchPercent: batchPercent must be at least 1; maxParallel: maxParallel must be at least 1",
    );
    const unknownField = { speed: 9 } as unknown as Partial<Strategy>;
    expect(() => resolveStrategy(defaultStrategy, unknownField)).toThrow(
      /^invalid strategy: strategy: .*speed/,
    );
  });

  it("puts every target of an immediate or single-bot plan in wave 1, whatever batchPercent says", () => {
    expect(waveOf(5, 10, { name: "immediate", batchPercent: 25 })).toBe(1);
    expect(waveOf(3, 10, { name: "single-bot", batchPercent: 10 })).toBe(1);
    expect(waveOf(5, 10, { name: "rolling-wave", batchPercent: 25 })).toBe(2);
  });
});

describe("planRollout: errors name themselves and say what to do", () => {
  it("names its error classes", () => {
    const first = plan(flatFleet(1)).plan;
    expect(new PlanError("x").name).toBe("PlanError");
    expect(new DuplicatePlanError(first).name).toBe("DuplicatePlanError");
  });

  it("tells an aborted duplicate (build a new image) from a live one (edit or abort it)", () => {
    const first = plan(flatFleet(1)).plan;
    expect(new DuplicatePlanError(first).message).toBe(
      `rollout ${first.id} already plans ${IMAGE}@${DIGEST} (control.state: active); ` +
        "edit or abort that plan instead of planning the same digest again",
    );
    const aborted = { ...first, control: { state: "aborted" as const } };
    expect(new DuplicatePlanError(aborted).message).toBe(
      `rollout ${first.id} already plans ${IMAGE}@${DIGEST} (control.state: aborted); ` +
        "that digest was aborted: build and plan a new image instead",
    );
  });

  it("lists the whole allowlist when an image is outside it", () => {
    expect(() =>
      plan(flatFleet(1, { allowlist: ["ghcr.io/acme/", "ghcr.io/other/"] }), {
        image: "docker.io/evil/app:1",
      }),
    ).toThrow(
      'image "docker.io/evil/app:1" is not allowed; fleet.yaml images.allowlist has ghcr.io/acme/, ghcr.io/other/',
    );
  });

  it("rejects an invalid plan time and an empty basedOn", () => {
    expect(() => plan(flatFleet(1), { now: new Date("not a date") })).toThrow(
      "the plan time is not a valid date",
    );
    expect(() => plan(flatFleet(1), { basedOn: "" })).toThrow("basedOn must name the fleet-state commit");
  });

  it("counts as a duplicate only the same image AND the same digest", () => {
    const canary = "ghcr.io/acme/app:canary";
    const earlier = new Date("2026-11-26T06:00:00Z");
    const otherImage = plan(flatFleet(1), { image: canary, now: earlier }).plan;
    const otherDigest = plan(flatFleet(1), { digest: OLD, now: earlier }).plan;
    const spec = flatFleet(1);
    spec.tenants.push({ tenant: "c", bots: [{ id: "c-1", host: "host-a", image: canary }] });
    const withBoth = {
      ...spec,
      extra: {
        [`rollouts/${otherImage.id}.yaml`]: renderRolloutYaml(otherImage),
        [`rollouts/${otherDigest.id}.yaml`]: renderRolloutYaml(otherDigest),
      },
    };
    expect(plan(withBoth).plan.targets.map((t) => t.bot)).toEqual(["t01-bot"]);
  });

  it("refuses a plan whose file name is taken by another digest with the same prefix in the same minute", () => {
    const samePrefix = plan(flatFleet(1), { digest: digestOf("3f2a9c1b") }).plan;
    expect(samePrefix.id).toBe(rolloutIdFor(NOW, DIGEST));
    const taken = flatFleet(1, {
      extra: { [`rollouts/${samePrefix.id}.yaml`]: renderRolloutYaml(samePrefix) },
    });
    expect(() => plan(taken)).toThrow(
      `rollouts/${samePrefix.id}.yaml already exists (same minute and digest prefix); plan again in a minute`,
    );
    // An empty plan is never written, so the same name is no collision.
    const emptyTaken = {
      ...taken,
      tenants: [{ tenant: "t01", bots: [{ id: "t01-bot", host: "host-a", pinnedDigest: OLD }] }],
    };
    expect(plan(emptyTaken).plan.targets).toEqual([]);
  });
});

describe("planRollout: exclusion details and tie-breaks", () => {
  it("says which image a bot follows, which digest it already runs and which bot a single-bot plan chose", () => {
    const spec: FleetSpec = {
      tenants: [
        {
          tenant: "acme",
          bots: [
            { id: "acme-canary", host: "h", image: "ghcr.io/acme/app:canary" },
            { id: "acme-current", host: "h" },
            { id: "acme-main", host: "h" },
            { id: "acme-second", host: "h" },
          ],
        },
      ],
      statuses: [{ host: "h", bots: { "acme-current": DIGEST } }],
    };
    const { excluded } = plan(spec, { strategy: { name: "single-bot" }, bot: "acme-main" });
    expect(excluded.map((e) => [e.bot, e.reason, e.detail])).toEqual([
      ["acme-canary", "other-image", "follows ghcr.io/acme/app:canary"],
      ["acme-current", "up-to-date", "already runs sha256:3f2a9c1b7e4d"],
      ["acme-second", "not-selected", "single-bot plan for acme-main"],
    ]);
  });

  it("orders equal windows by tenant id, then by bot id, whatever the declaration order", () => {
    const spec: FleetSpec = {
      tenants: [
        { tenant: "zeta", hour: 7, bots: [{ id: "a-z", host: "h" }] },
        { tenant: "alpha", hour: 7, bots: [{ id: "z-a", host: "h" }] },
        {
          tenant: "mid",
          hour: 7,
          bots: ["m-3", "m-1", "m-5", "m-2", "m-4"].map((id) => ({ id, host: "h" })),
        },
      ],
    };
    expect(plan(spec).plan.targets.map((t) => t.bot)).toEqual([
      "z-a",
      "m-1",
      "m-2",
      "m-3",
      "m-4",
      "m-5",
      "a-z",
    ]);
  });

  it("compares tenant ids, not their file names (tenants/a-b.yaml sorts before tenants/a.yaml)", () => {
    const spec: FleetSpec = {
      tenants: [
        { tenant: "a", hour: 7, bots: [{ id: "z-1", host: "h" }] },
        { tenant: "a-b", hour: 7, bots: [{ id: "a-1", host: "h" }] },
      ],
    };
    expect(plan(spec).plan.targets.map((t) => t.bot)).toEqual(["z-1", "a-1"]);
  });
});
