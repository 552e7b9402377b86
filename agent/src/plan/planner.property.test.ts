import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { strategyNames } from "../model/strategy.ts";
import { planRollout, waveSize } from "./planner.ts";
import { digestOf, type FleetSpec, fleetState, IMAGE } from "./testing.ts";

const DIGEST = digestOf("3f2a9c1b");
const OLD = digestOf("aaaa");

const botArb = fc.record({
  host: fc.constantFrom("host-a", "host-b", "host-c"),
  other: fc.boolean(),
  pinned: fc.boolean(),
  running: fc.constantFrom("none", "old", "new"),
});

const tenantArb = fc.record({
  mode: fc.constantFrom("auto" as const, "manual" as const),
  hour: fc.option(fc.integer({ min: 0, max: 23 }), { nil: undefined }),
  bots: fc.array(botArb, { maxLength: 6 }),
});

const inputArb = fc.record({
  tenants: fc.array(tenantArb, { maxLength: 12 }),
  windowMinutes: fc.integer({ min: 1, max: 1440 }),
  batchPercent: fc.integer({ min: 1, max: 100 }),
  name: fc.constantFrom(...strategyNames),
  now: fc.date({
    min: new Date("2020-01-01T00:00:00Z"),
    max: new Date("2040-01-01T00:00:00Z"),
    noInvalidDate: true,
  }),
  seed: fc.integer(),
});

type Input = typeof inputArb extends fc.Arbitrary<infer T> ? T : never;

/** The fleet of `input`; with `shuffle`, tenants and their bots in another file and list order. */
function specOf(input: Input, shuffle = false): FleetSpec {
  const running: Record<string, Record<string, string>> = {};
  const tenants = input.tenants.map((t, ti) => ({
    tenant: `t${ti}`,
    mode: t.mode,
    ...(t.hour !== undefined ? { hour: t.hour } : {}),
    bots: t.bots.map((b, bi) => {
      const id = `t${ti}-b${bi}`;
      if (b.running !== "none") {
        running[b.host] = { ...running[b.host], [id]: b.running === "new" ? DIGEST : OLD };
      }
      return {
        id,
        host: b.host,
        ...(b.other ? { image: "ghcr.io/acme/app:other" } : {}),
        ...(b.pinned ? { pinnedDigest: OLD } : {}),
      };
    }),
  }));
  if (shuffle) {
    const rotate = <T>(xs: T[], by: number) =>
      xs.length === 0 ? xs : [...xs.slice(by % xs.length), ...xs.slice(0, by % xs.length)];
    const by = Math.abs(input.seed);
    tenants.reverse();
    for (const t of tenants) t.bots = rotate(t.bots, by).reverse();
  }
  return {
    windowMinutes: input.windowMinutes,
    strategy: { batchPercent: input.batchPercent, name: input.name },
    tenants,
    statuses: Object.entries(running).map(([host, bots]) => ({ host, bots })),
  };
}

function planOf(input: Input, shuffle = false) {
  return planRollout({
    state: fleetState(specOf(input, shuffle)),
    image: IMAGE,
    digest: DIGEST,
    now: input.now,
    basedOn: "abc",
  });
}

describe("planRollout properties", () => {
  it("puts every eligible bot in exactly one wave and every other bot in excluded", () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        const { plan, excluded } = planOf(input);
        const all = input.tenants.flatMap((t, ti) => t.bots.map((_, bi) => `t${ti}-b${bi}`));
        const targeted = plan.targets.map((t) => t.bot);
        expect(new Set(targeted).size).toBe(targeted.length);
        expect([...targeted, ...excluded.map((e) => e.bot)].sort()).toEqual([...all].sort());
        const eligible = input.tenants.flatMap((t) =>
          t.bots.filter((b) => !b.other && !b.pinned && b.running !== "new"),
        );
        if (input.name === "single-bot") expect(targeted.length).toBe(Math.min(1, eligible.length));
        else expect(targeted.length).toBe(eligible.length);
      }),
      { numRuns: 150 },
    );
  });

  it("makes waves of the rule's size, numbered 1..n without gaps, only the last one smaller", () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        const { plan } = planOf(input);
        const sizes: number[] = [];
        for (const t of plan.targets) sizes[t.wave - 1] = (sizes[t.wave - 1] ?? 0) + 1;
        expect(sizes.every((n) => n > 0)).toBe(true);
        const total = plan.targets.length;
        if (total === 0) return;
        if (input.name !== "rolling-wave") {
          expect(sizes).toEqual([total]);
          return;
        }
        const size = waveSize(total, input.batchPercent);
        expect(sizes.length).toBe(Math.ceil(total / size));
        for (const n of sizes.slice(0, -1)) expect(n).toBe(size);
        expect(sizes.at(-1)!).toBeLessThanOrEqual(size);
        // Waves follow plan order: the wave number never decreases along the targets.
        expect(plan.targets.map((t) => t.wave)).toEqual(plan.targets.map((_, i) => Math.floor(i / size) + 1));
      }),
      { numRuns: 150 },
    );
  });

  it("is deterministic: the same input, or the same fleet listed in another order, gives the same plan", () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        const first = planOf(input);
        expect(planOf(input)).toEqual(first);
        expect(planOf(input, true).plan).toEqual(first.plan);
      }),
      { numRuns: 100 },
    );
  });
});
