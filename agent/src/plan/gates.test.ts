import { describe, expect, it } from "vitest";
import type { Rollout } from "../model/rollout.ts";
import { defaultStrategy } from "../model/strategy.ts";
import {
  effectiveTenantMode,
  isFleetPaused,
  isWindowOpen,
  mayStartWave,
  minutesUntilWindow,
  targetGate,
  waveGate,
  windowOpensAt,
} from "./gates.ts";
import { fleetState, IMAGE } from "./testing.ts";

const at = (hhmm: string, day = "2026-11-27") => new Date(`${day}T${hhmm}:00Z`);

describe("isWindowOpen", () => {
  it("hour 23 with a 120-minute window crosses midnight", () => {
    expect(isWindowOpen(23, 120, at("22:59"))).toBe(false);
    expect(isWindowOpen(23, 120, at("23:00"))).toBe(true);
    expect(isWindowOpen(23, 120, at("23:59"))).toBe(true);
    expect(isWindowOpen(23, 120, at("00:00"))).toBe(true);
    expect(isWindowOpen(23, 120, at("00:30"))).toBe(true);
    expect(isWindowOpen(23, 120, at("00:59"))).toBe(true);
    expect(isWindowOpen(23, 120, at("01:00"))).toBe(false);
    expect(isWindowOpen(23, 120, at("12:00"))).toBe(false);
  });

  it("hour 0: opens at midnight, closes after windowMinutes, closed just before midnight", () => {
    expect(isWindowOpen(0, 60, at("23:59"))).toBe(false);
    expect(isWindowOpen(0, 60, at("00:00"))).toBe(true);
    expect(isWindowOpen(0, 60, at("00:59"))).toBe(true);
    expect(isWindowOpen(0, 60, at("01:00"))).toBe(false);
    expect(isWindowOpen(0, 1, at("00:00"))).toBe(true);
    expect(isWindowOpen(0, 1, at("00:01"))).toBe(false);
  });

  it("ignores seconds inside the closing minute and treats 1440 minutes as always open", () => {
    expect(isWindowOpen(3, 60, new Date("2026-11-27T03:59:59.999Z"))).toBe(true);
    expect(isWindowOpen(3, 60, new Date("2026-11-27T04:00:00.000Z"))).toBe(false);
    for (const hhmm of ["00:00", "02:59", "03:00", "23:59"])
      expect(isWindowOpen(3, 1440, at(hhmm))).toBe(true);
    expect(isWindowOpen(3, 1439, at("02:59"))).toBe(false);
  });

  it("uses UTC whatever the local time zone", () => {
    expect(isWindowOpen(5, 60, new Date("2026-11-27T07:30:00+02:00"))).toBe(true);
  });

  it("minutesUntilWindow counts to the next opening, 0 while open", () => {
    expect(minutesUntilWindow(23, 120, at("00:30"))).toBe(0);
    expect(minutesUntilWindow(23, 120, at("01:00"))).toBe(22 * 60);
    expect(minutesUntilWindow(0, 60, at("23:59"))).toBe(1);
    expect(minutesUntilWindow(3, 60, at("02:15"))).toBe(45);
  });

  it("windowOpensAt is the exact next opening, later today or tomorrow, and now while open", () => {
    const ms = (iso: string) => new Date(iso);
    expect(windowOpensAt(3, 60, ms("2026-11-27T02:59:59.999Z"))).toEqual(ms("2026-11-27T03:00:00.000Z"));
    expect(windowOpensAt(3, 60, ms("2026-11-27T04:00:00.000Z"))).toEqual(ms("2026-11-28T03:00:00.000Z"));
    expect(windowOpensAt(23, 120, ms("2026-11-27T01:00:00.000Z"))).toEqual(ms("2026-11-27T23:00:00.000Z"));
    // Across a month and a year end.
    expect(windowOpensAt(0, 60, ms("2026-12-31T23:59:30.000Z"))).toEqual(ms("2027-01-01T00:00:00.000Z"));
    expect(windowOpensAt(23, 120, ms("2026-11-27T00:30:10.000Z"))).toEqual(ms("2026-11-27T00:30:10.000Z"));
    expect(windowOpensAt(3, 60, ms("2026-11-27T03:00:00.000Z"))).toEqual(ms("2026-11-27T03:00:00.000Z"));
  });

  it("windowOpensAt agrees with isWindowOpen: open there, closed a millisecond before", () => {
    for (const [hour, minutes, iso] of [
      [3, 60, "2026-11-27T04:00:00.000Z"],
      [0, 1, "2026-11-27T00:01:00.000Z"],
      [23, 120, "2026-11-27T12:34:56.789Z"],
    ] as const) {
      const opens = windowOpensAt(hour, minutes, new Date(iso));
      expect(isWindowOpen(hour, minutes, opens)).toBe(true);
      expect(isWindowOpen(hour, minutes, new Date(opens.getTime() - 1))).toBe(false);
    }
  });
});

describe("modes", () => {
  const stateWith = (mode: "auto" | "manual" | "paused") =>
    fleetState({
      mode,
      tenants: [
        { tenant: "auto-t", mode: "auto", bots: [] },
        { tenant: "manual-t", mode: "manual", bots: [] },
      ],
    });

  it("a paused fleet pauses every tenant", () => {
    const { fleet, tenants } = stateWith("paused");
    expect(isFleetPaused(fleet)).toBe(true);
    expect(tenants.map((t) => effectiveTenantMode(fleet, t))).toEqual(["paused", "paused"]);
  });

  it("a manual fleet makes every tenant manual", () => {
    const { fleet, tenants } = stateWith("manual");
    expect(isFleetPaused(fleet)).toBe(false);
    expect(tenants.map((t) => effectiveTenantMode(fleet, t))).toEqual(["manual", "manual"]);
  });

  it("an auto fleet leaves it to each tenant", () => {
    const { fleet, tenants } = stateWith("auto");
    expect(isFleetPaused(fleet)).toBe(false);
    expect(tenants.map((t) => effectiveTenantMode(fleet, t))).toEqual(["auto", "manual"]);
  });
});

describe("mayStartWave", () => {
  const plan: Pick<Rollout, "targets" | "strategy"> = {
    strategy: { ...defaultStrategy, pauseSeconds: 60 },
    targets: [
      { bot: "a1", tenant: "a", host: "host-a", wave: 1 },
      { bot: "b1", tenant: "b", host: "host-b", wave: 1 },
      { bot: "a2", tenant: "a", host: "host-a", wave: 2 },
      { bot: "c3", tenant: "c", host: "host-c", wave: 3 },
    ],
  };
  const now = new Date("2026-11-27T06:10:00Z");

  it("wave 1 may always start", () => {
    expect(mayStartWave(plan, 1, new Map(), now)).toBe(true);
  });

  it("waits for every host with targets in earlier waves", () => {
    const progress = new Map([["host-a", { wavesDone: 1, finishedAt: "2026-11-27T06:00:00Z" }]]);
    expect(waveGate(plan, 2, progress, now)).toEqual({
      open: false,
      reason: "hosts-busy",
      waitingFor: ["host-b"],
    });
    progress.set("host-b", { wavesDone: 0, finishedAt: "2026-11-27T05:00:00Z" });
    expect(mayStartWave(plan, 2, progress, now)).toBe(false);
  });

  it("waits pauseSeconds after the last host finished", () => {
    const progress = {
      "host-a": { wavesDone: 1, finishedAt: "2026-11-27T06:00:00Z" },
      "host-b": { wavesDone: 1, finishedAt: "2026-11-27T06:09:30Z" },
    };
    expect(waveGate(plan, 2, progress, now)).toEqual({
      open: false,
      reason: "pausing",
      until: new Date("2026-11-27T06:10:30Z"),
    });
    expect(mayStartWave(plan, 2, progress, new Date("2026-11-27T06:10:29.999Z"))).toBe(false);
    expect(mayStartWave(plan, 2, progress, new Date("2026-11-27T06:10:30Z"))).toBe(true);
  });

  it("does not wait for hosts without earlier targets, and needs wavesDone >= k-1 from the others", () => {
    // wave 3: host-a (waves 1, 2) and host-b (wave 1) must report 2 waves done; host-c is not asked.
    const progress = {
      "host-a": { wavesDone: 2, finishedAt: "2026-11-27T06:00:00Z" },
      "host-b": { wavesDone: 1, finishedAt: "2026-11-27T05:00:00Z" },
    };
    expect(waveGate(plan, 3, progress, now)).toEqual({
      open: false,
      reason: "hosts-busy",
      waitingFor: ["host-b"],
    });
    expect(mayStartWave(plan, 3, { ...progress, "host-b": { wavesDone: 2 } }, now)).toBe(true);
  });

  it("with no pause, the next wave starts as soon as all hosts are done", () => {
    const noPause = { ...plan, strategy: { ...plan.strategy, pauseSeconds: 0 } };
    const progress = {
      "host-a": { wavesDone: 1, finishedAt: now },
      "host-b": { wavesDone: 1, finishedAt: now },
    };
    expect(mayStartWave(noPause, 2, progress, now)).toBe(true);
  });
});

describe("targetGate", () => {
  const spec = (mode: "auto" | "manual" | "paused", tenantMode: "auto" | "manual" = "auto") => ({
    mode,
    windowMinutes: 120,
    tenants: [
      {
        tenant: "acme",
        mode: tenantMode,
        hour: 23,
        bots: [
          { id: "acme-1", host: "host-a" },
          { id: "acme-pinned", host: "host-a", pinnedDigest: `sha256:${"a".repeat(64)}` },
        ],
      },
    ],
  });
  const plan: Pick<Rollout, "image" | "control"> = { image: IMAGE, control: { state: "active" } };
  const target = { bot: "acme-1", tenant: "acme", host: "host-a", wave: 1 };
  const open = at("00:30");
  const hold = (gate: ReturnType<typeof targetGate>) => (gate.go ? "go" : gate.hold);

  it("lets a bot go in its window on an auto tenant", () => {
    expect(hold(targetGate(fleetState(spec("auto")), plan, target, open))).toBe("go");
  });

  it("holds for a paused fleet, a paused or aborted rollout", () => {
    expect(hold(targetGate(fleetState(spec("paused")), plan, target, open))).toBe("fleet-paused");
    const s = fleetState(spec("auto"));
    expect(hold(targetGate(s, { ...plan, control: { state: "paused" } }, target, open))).toBe(
      "rollout-paused",
    );
    expect(hold(targetGate(s, { ...plan, control: { state: "aborted" } }, target, open, true))).toBe(
      "rollout-aborted",
    );
  });

  it("holds manual tenants until Update now", () => {
    const s = fleetState(spec("auto", "manual"));
    expect(hold(targetGate(s, plan, target, open))).toBe("manual");
    expect(hold(targetGate(fleetState(spec("manual")), plan, target, open))).toBe("manual");
    expect(hold(targetGate(s, plan, target, at("12:00"), true))).toBe("go");
  });

  it("holds outside the window and says when it opens", () => {
    const gate = targetGate(fleetState(spec("auto")), plan, target, at("01:00"));
    expect(gate).toEqual({
      go: false,
      hold: "outside-window",
      detail: "tenant acme's window opens at 23:00 UTC (in 1320 min)",
      opensAt: new Date("2026-11-27T23:00:00Z"),
    });
  });

  it("skips bots that were removed, moved, re-imaged or pinned since the plan", () => {
    const s = fleetState(spec("auto"));
    expect(hold(targetGate(s, plan, { ...target, bot: "gone" }, open))).toBe("bot-removed");
    expect(hold(targetGate(s, plan, { ...target, host: "host-z" }, open))).toBe("bot-moved");
    expect(hold(targetGate(s, { ...plan, image: "ghcr.io/acme/app:canary" }, target, open))).toBe(
      "image-changed",
    );
    expect(hold(targetGate(s, plan, { ...target, bot: "acme-pinned" }, open, true))).toBe("pinned");
  });
});

describe("gate details and edge cases", () => {
  const plan: Pick<Rollout, "image" | "control"> = { image: IMAGE, control: { state: "active" } };
  const twoTenants = (fleetMode: "auto" | "paused" = "auto") =>
    fleetState({
      mode: fleetMode,
      windowMinutes: 60,
      tenants: [
        { tenant: "early", mode: "manual", hour: 5, bots: [{ id: "early-1", host: "host-a" }] },
        {
          tenant: "late",
          hour: 22,
          bots: [
            { id: "late-1", host: "host-a" },
            { id: "late-pinned", host: "host-a", pinnedDigest: `sha256:${"a".repeat(64)}` },
            { id: "late-canary", host: "host-a", image: "ghcr.io/acme/app:canary" },
          ],
        },
      ],
    });
  const target = (bot: string, tenant = "late") => ({ bot, tenant, host: "host-a", wave: 1 });
  const detail = (gate: ReturnType<typeof targetGate>) => (gate.go ? "go" : `${gate.hold}: ${gate.detail}`);

  it("says in each hold what changed, naming the bot, host, image or digest", () => {
    const s = twoTenants();
    const now = at("22:10");
    expect(detail(targetGate(twoTenants("paused"), plan, target("late-1"), now))).toBe(
      "fleet-paused: fleet.yaml updates.mode is paused",
    );
    expect(detail(targetGate(s, { ...plan, control: { state: "aborted" } }, target("late-1"), now))).toBe(
      "rollout-aborted: the rollout's control.state is aborted",
    );
    expect(detail(targetGate(s, { ...plan, control: { state: "paused" } }, target("late-1"), now))).toBe(
      "rollout-paused: the rollout's control.state is paused",
    );
    expect(detail(targetGate(s, plan, target("gone"), now))).toBe(
      "bot-removed: bot gone is no longer declared",
    );
    expect(detail(targetGate(s, plan, { ...target("late-1"), host: "host-z" }, now))).toBe(
      "bot-moved: bot late-1 now runs on host-a",
    );
    expect(detail(targetGate(s, plan, target("late-canary"), now))).toBe(
      "image-changed: bot late-canary now follows ghcr.io/acme/app:canary",
    );
    expect(detail(targetGate(s, plan, target("late-pinned"), now))).toBe(
      `pinned: bot late-pinned is pinned to sha256:${"a".repeat(64)}`,
    );
    expect(detail(targetGate(s, plan, target("early-1", "early"), at("05:10")))).toBe(
      'manual: tenant early updates manually ("Update now")',
    );
  });

  it("never lets Update now past a paused fleet or a paused rollout", () => {
    expect(detail(targetGate(twoTenants("paused"), plan, target("late-1"), at("22:10"), true))).toMatch(
      /^fleet-paused/,
    );
    const paused = { ...plan, control: { state: "paused" as const } };
    expect(detail(targetGate(twoTenants(), paused, target("late-1"), at("22:10"), true))).toMatch(
      /^rollout-paused/,
    );
  });

  it("applies the mode and window of the bot's own tenant, not the first tenant's", () => {
    const s = twoTenants();
    expect(detail(targetGate(s, plan, target("late-1"), at("22:10")))).toBe("go");
    expect(detail(targetGate(s, plan, target("late-1"), at("05:10")))).toMatch(
      /^outside-window: tenant late's window opens at 22:00/,
    );
  });

  it("writes a morning window's hour with two digits", () => {
    const s = fleetState({
      windowMinutes: 60,
      tenants: [{ tenant: "dawn", hour: 5, bots: [{ id: "dawn-1", host: "host-a" }] }],
    });
    expect(detail(targetGate(s, plan, target("dawn-1", "dawn"), at("04:30")))).toBe(
      "outside-window: tenant dawn's window opens at 05:00 UTC (in 30 min)",
    );
  });
});

describe("waveGate edge cases", () => {
  const plan: Pick<Rollout, "targets" | "strategy"> = {
    strategy: { ...defaultStrategy, pauseSeconds: 60 },
    targets: [
      { bot: "b1", tenant: "b", host: "host-b", wave: 1 },
      { bot: "a1", tenant: "a", host: "host-a", wave: 1 },
      { bot: "a2", tenant: "a", host: "host-a", wave: 2 },
    ],
  };
  const now = new Date("2026-11-27T06:10:00Z");

  it("lists the hosts it waits for in name order, whatever the plan order", () => {
    expect(waveGate(plan, 2, new Map(), now)).toEqual({
      open: false,
      reason: "hosts-busy",
      waitingFor: ["host-a", "host-b"],
    });
  });

  it("a host that already ran a later wave does not restart the pause for the hosts still waiting", () => {
    const three: Pick<Rollout, "targets" | "strategy"> = {
      strategy: { ...defaultStrategy, pauseSeconds: 60 },
      targets: ["a", "b", "c"].flatMap((h) =>
        [1, 2, 3].map((wave) => ({ bot: `${h}${wave}`, tenant: h, host: `host-${h}`, wave })),
      ),
    };
    // host-a and host-b finished wave 1 at 06:00, ran wave 2 once its pause was over and finished
    // it at 06:09:50; host-c also finished wave 1 at 06:00 but noticed the gate later.
    const progress = {
      "host-a": { wavesDone: 2, finishedAt: "2026-11-27T06:09:50Z" },
      "host-b": { wavesDone: 2, finishedAt: "2026-11-27T06:09:50Z" },
      "host-c": { wavesDone: 1, finishedAt: "2026-11-27T06:00:00Z" },
    };
    expect(waveGate(three, 2, progress, now)).toEqual({ open: true });
    // Wave 3 waits for host-c's wave 2, then the pause after the last finish of wave 2.
    expect(waveGate(three, 3, progress, now)).toMatchObject({ reason: "hosts-busy", waitingFor: ["host-c"] });
    const cDone = { ...progress, "host-c": { wavesDone: 2, finishedAt: "2026-11-27T06:09:55Z" } };
    expect(waveGate(three, 3, cDone, now)).toEqual({
      open: false,
      reason: "pausing",
      until: new Date("2026-11-27T06:10:55Z"),
    });
  });

  it("a host past wave k-1 only because it has nothing in the next waves still holds the pause", () => {
    const sparse: Pick<Rollout, "targets" | "strategy"> = {
      ...plan,
      targets: [...plan.targets, { bot: "c3", tenant: "c", host: "host-c", wave: 3 }],
    };
    // host-b has only wave 1: finishing it at 06:09:30 made it report every wave done.
    const progress = {
      "host-a": { wavesDone: 1, finishedAt: "2026-11-27T06:00:00Z" },
      "host-b": { wavesDone: 3, finishedAt: "2026-11-27T06:09:30Z" },
    };
    expect(waveGate(sparse, 2, progress, now)).toEqual({
      open: false,
      reason: "pausing",
      until: new Date("2026-11-27T06:10:30Z"),
    });
  });

  it("counts the pause from the valid finish times only, ignoring an unreadable one", () => {
    const progress = {
      "host-a": { wavesDone: 1, finishedAt: "not a time" },
      "host-b": { wavesDone: 1, finishedAt: "2026-11-27T06:09:30Z" },
    };
    expect(waveGate(plan, 2, progress, now)).toEqual({
      open: false,
      reason: "pausing",
      until: new Date("2026-11-27T06:10:30Z"),
    });
  });
});
