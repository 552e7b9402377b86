import { describe, expect, it } from "vitest";
import type { Rollout, RolloutTarget } from "../model/rollout.ts";
import { targetGate, waveGate } from "./gates.ts";
import { fleetState, IMAGE } from "./testing.ts";
import { earliestWake, gateOpensAt } from "./wake.ts";

const now = new Date("2026-11-27T01:00:00.000Z");
const plan = (pauseSeconds: number): Pick<Rollout, "targets" | "strategy" | "image" | "control"> =>
  ({
    image: IMAGE,
    control: { state: "active" },
    targets: [
      { bot: "acme-1", tenant: "acme", host: "host-a", wave: 1 },
      { bot: "acme-2", tenant: "acme", host: "host-b", wave: 2 },
    ],
    strategy: { pauseSeconds },
  }) as Pick<Rollout, "targets" | "strategy" | "image" | "control">;
const target: RolloutTarget = { bot: "acme-1", tenant: "acme", host: "host-a", wave: 1 };
const state = (mode: "auto" | "manual" | "paused", tenantMode: "auto" | "manual" = "auto") =>
  fleetState({
    mode,
    windowMinutes: 120,
    tenants: [{ tenant: "acme", mode: tenantMode, hour: 23, bots: [{ id: "acme-1", host: "host-a" }] }],
  });

describe("gateOpensAt", () => {
  it("a pausing wave gate opens when its pause ends", () => {
    const finishedAt = new Date(now.getTime() - 10_000);
    const gate = waveGate(plan(60), 2, { "host-a": { wavesDone: 1, finishedAt } }, now);
    expect(gateOpensAt(gate)).toEqual(new Date(finishedAt.getTime() + 60_000));
  });

  it("a target outside its window opens when the tenant's window does", () => {
    const gate = targetGate(state("auto"), plan(0), target, now);
    expect(gateOpensAt(gate)).toEqual(new Date("2026-11-27T23:00:00.000Z"));
  });

  it("gives no time for open gates and for gates only git opens", () => {
    const inWindow = new Date("2026-11-27T23:30:00.000Z");
    expect(gateOpensAt(waveGate(plan(60), 1, {}, now))).toBeUndefined();
    expect(gateOpensAt(waveGate(plan(60), 2, {}, now))).toBeUndefined(); // hosts-busy
    expect(gateOpensAt(targetGate(state("auto"), plan(0), target, inWindow))).toBeUndefined();
    expect(gateOpensAt(targetGate(state("paused"), plan(0), target, now))).toBeUndefined();
    expect(gateOpensAt(targetGate(state("auto", "manual"), plan(0), target, now))).toBeUndefined();
    const paused = { ...plan(0), control: { state: "paused" as const } };
    expect(gateOpensAt(targetGate(state("auto"), paused, target, now))).toBeUndefined();
  });
});

describe("earliestWake", () => {
  const pausing = (until: Date) => ({ open: false, reason: "pausing", until }) as const;
  const early = new Date("2026-11-27T01:00:05.000Z");
  const late = new Date("2026-11-27T01:00:09.000Z");

  it("keeps the earliest time of the gates seen, in any order", () => {
    expect(earliestWake(undefined, pausing(late))).toEqual(late);
    expect(earliestWake(late, pausing(early))).toEqual(early);
    expect(earliestWake(early, pausing(late))).toEqual(early);
  });

  it("a gate without a time leaves the time as it was", () => {
    expect(earliestWake(undefined, { open: true })).toBeUndefined();
    expect(earliestWake(early, { open: false, reason: "hosts-busy", waitingFor: ["host-b"] })).toEqual(early);
  });
});
