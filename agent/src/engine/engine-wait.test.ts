import { describe, expect, it } from "vitest";
import {
  EngineAvailability,
  EngineUnavailableError,
  untilEngineAnswers,
  waitForEngine,
} from "./engine-wait.ts";

/** A fake clock and an Engine that answers from `upAt` on (ms). */
function world(upAt: number) {
  let t = 0;
  const sleeps: number[] = [];
  return {
    sleeps,
    pings: 0,
    now: () => t,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      t += ms;
    },
    up: () => t >= upAt,
  };
}

function options(w: ReturnType<typeof world>, availability = new EngineAvailability(), maxWaitMs = 60_000) {
  return {
    ping: async () => {
      w.pings += 1;
      return w.up();
    },
    availability,
    maxWaitMs,
    now: w.now,
    sleep: w.sleep,
  };
}

describe("waitForEngine", () => {
  it("returns false without waiting when the Engine answers", async () => {
    const w = world(0);
    expect(await waitForEngine("x", options(w))).toBe(false);
    expect(w.sleeps).toEqual([]);
  });

  it("backs off from 100 ms to at most 2 s and says since when the Engine was away", async () => {
    const w = world(9000);
    const availability = new EngineAvailability();
    const seen: (string | undefined)[] = [];
    availability.onChange((since) => seen.push(since?.toISOString()));
    expect(await waitForEngine("x", options(w, availability))).toBe(true);
    expect(w.sleeps).toEqual([100, 200, 400, 800, 1600, 2000, 2000, 2000]);
    expect(seen).toEqual([new Date(0).toISOString(), undefined]);
    expect(availability.unavailableSince).toBeUndefined();
  });

  it("gives up after maxWaitMs with a message that says the journal keeps the work", async () => {
    const w = world(Number.POSITIVE_INFINITY);
    const availability = new EngineAvailability();
    const waiting = waitForEngine("the update of bot-1", options(w, availability, 5000));
    await expect(waiting).rejects.toThrow(EngineUnavailableError);
    await expect(waiting).rejects.toThrow(/has not answered since .* kept in the journal/);
    expect(availability.unavailableSince).toEqual(new Date(0));
  });
});

describe("untilEngineAnswers", () => {
  it("runs the work again once the Engine is back", async () => {
    const w = world(3000);
    let runs = 0;
    const result = await untilEngineAnswers(
      "x",
      async () => {
        runs += 1;
        if (!w.up()) throw Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" });
        return "done";
      },
      options(w),
    );
    expect(result).toBe("done");
    expect(runs).toBe(2);
  });

  it("throws an error of the request itself at once", async () => {
    const w = world(0);
    let runs = 0;
    const work = async () => {
      runs += 1;
      throw Object.assign(new Error("No such container"), { statusCode: 404 });
    };
    await expect(untilEngineAnswers("x", work, options(w))).rejects.toThrow("No such container");
    expect(runs).toBe(1);
  });

  it("stops retrying an outage-shaped error while the Engine answers", async () => {
    const w = world(0);
    let runs = 0;
    const work = async () => {
      runs += 1;
      throw Object.assign(new Error("database not open"), { statusCode: 500 });
    };
    await expect(untilEngineAnswers("x", work, options(w))).rejects.toThrow("database not open");
    expect(runs).toBe(5);
  });
});
