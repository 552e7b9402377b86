import { describe, expect, it } from "vitest";
import type { HostStatus } from "../model/status.ts";
import { buildFleetView } from "./fleet-view.ts";
import { planRollout } from "./planner.ts";
import { digestOf, fleetState } from "./testing.ts";

const OLD = digestOf("aa");
const NEW = digestOf("bb");

describe("buildFleetView", () => {
  it("shows every host's bots and each rollout per wave and host: done, in flight, failed, pending, waiting for a window or for Update now", () => {
    const base = fleetState({
      windowMinutes: 60,
      strategy: { batchPercent: 50 },
      tenants: [
        {
          tenant: "acme",
          hour: 3,
          bots: [
            { id: "a1", host: "host-a" },
            { id: "a2", host: "host-a" },
          ],
        },
        { tenant: "globex", hour: 3, bots: [{ id: "b1", host: "host-b" }] },
        { tenant: "night", hour: 22, bots: [{ id: "b2", host: "host-b" }] },
        { tenant: "manual", mode: "manual", bots: [{ id: "b3", host: "host-b" }] },
        { tenant: "late", hour: 3, bots: [{ id: "c1", host: "host-c" }] },
      ],
      statuses: [
        { host: "host-a", bots: { a1: OLD, a2: OLD } },
        { host: "host-b", bots: { b1: OLD, b2: OLD, b3: OLD } },
      ],
    });
    const { plan } = planRollout({
      state: base,
      image: "ghcr.io/acme/app:managed",
      digest: NEW,
      now: new Date("2026-11-27T03:10:00Z"),
      basedOn: "abc",
    });
    const hostB = base.statuses.find((s) => s.host === "host-b")!;
    const statusB: HostStatus = {
      ...hostB,
      bots: {
        ...hostB.bots,
        b1: { digest: OLD, state: "updating" },
        b3: { digest: OLD, state: "running", updateAvailable: { rollout: plan.id, digest: NEW } },
      },
      rollouts: { [plan.id]: { state: "in-progress", wavesDone: 0, bots: {} } },
    };
    // host-a's own book is newer than what it pushed: a1 updated, a2 rolled back.
    const self: HostStatus = {
      ...base.statuses.find((s) => s.host === "host-a")!,
      rollouts: {
        [plan.id]: {
          state: "in-progress",
          wavesDone: 0,
          bots: {
            a1: { result: "updated", wave: plan.targets.find((t) => t.bot === "a1")!.wave, attempts: 1 },
            a2: { result: "rolled-back", wave: plan.targets.find((t) => t.bot === "a2")!.wave, attempts: 2 },
          },
        },
      },
    };
    const state = { ...base, rollouts: [plan], statuses: [base.statuses[0]!, statusB] };
    const view = buildFleetView(state, self, new Date("2026-11-27T03:20:00Z"));

    expect(view.hosts.map((h) => [h.host, h.bots.map((b) => `${b.id}:${b.state}`)])).toEqual([
      ["host-a", ["a1:running", "a2:running"]],
      ["host-b", ["b1:updating", "b3:running", "b2:running"]],
      ["host-c", ["c1:unreported"]],
    ]);
    const [rollout] = view.rollouts;
    expect(rollout?.totals).toEqual({
      done: 1,
      "in-flight": 1,
      failed: 1,
      pending: 1,
      "waiting-window": 1,
      "waiting-update-now": 1,
      total: 6,
    });
    const phaseOf = (bot: string) => {
      const target = plan.targets.find((t) => t.bot === bot)!;
      const cell = rollout?.waves
        .find((w) => w.wave === target.wave)
        ?.hosts.find((h) => h.host === target.host);
      return cell;
    };
    expect(phaseOf("b2")?.["waiting-window"]).toBeGreaterThanOrEqual(1);
    expect(phaseOf("c1")?.pending).toBeGreaterThanOrEqual(1);
    expect(rollout?.waves.flatMap((w) => w.hosts.map((h) => h.total)).reduce((a, b) => a + b)).toBe(6);
  });
});
