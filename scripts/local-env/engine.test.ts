import { describe, expect, it } from "vitest";
import { freePort, portStripe } from "./engine.ts";

describe("freePort", () => {
  it("never hands out the same port twice in one process", async () => {
    const ports: number[] = [];
    for (let i = 0; i < 300; i++) ports.push(await freePort());
    expect(new Set(ports).size).toBe(ports.length);
    const range = portStripe(process.env.VITEST_POOL_ID);
    for (const port of ports) {
      expect(port).toBeGreaterThanOrEqual(range.from);
      expect(port).toBeLessThan(range.to);
    }
  });
});

describe("portStripe", () => {
  it("gives each vitest worker its own stripe below the ephemeral range", () => {
    const first = portStripe("1");
    const second = portStripe("2");
    expect(first).toEqual({ from: 20_000, to: 21_000 });
    expect(second.from).toBe(first.to);
    expect(portStripe("12").to).toBe(32_000);
    expect(portStripe("13")).toEqual(first);
  });

  it("uses the whole range outside vitest", () => {
    expect(portStripe(undefined)).toEqual({ from: 20_000, to: 32_000 });
    expect(portStripe("zero")).toEqual({ from: 20_000, to: 32_000 });
  });
});
