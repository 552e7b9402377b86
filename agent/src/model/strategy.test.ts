import { describe, expect, it } from "vitest";
import { defaultStrategy, strategyDefaultsSchema, strategySchema } from "./strategy.ts";

const issues = (result: { error?: { issues: { path: PropertyKey[]; message: string }[] } }) =>
  (result.error?.issues ?? []).map((i) => `${i.path.join(".")}: ${i.message}`);

describe("a strategy's health gate", () => {
  it("accepts a healthy period shorter than the gate's timeout", () => {
    const strategy = { ...defaultStrategy, healthCheckTimeoutSeconds: 30, minHealthySeconds: 29 };
    expect(strategySchema.parse(strategy)).toEqual(strategy);
  });

  it.each([30, 31])("refuses a healthy period of %i s within a 30 s timeout, naming the field", (seconds) => {
    const result = strategySchema.safeParse({
      ...defaultStrategy,
      healthCheckTimeoutSeconds: 30,
      minHealthySeconds: seconds,
    });
    expect(issues(result)).toEqual([
      "minHealthySeconds: minHealthySeconds must be less than healthCheckTimeoutSeconds (30), which includes it",
    ]);
  });

  it("reports a missing or mistyped number alone, not a comparison with it", () => {
    const { minHealthySeconds: _, ...withoutHealthy } = defaultStrategy;
    expect(issues(strategySchema.safeParse(withoutHealthy))).toEqual([
      "minHealthySeconds: Invalid input: expected number, received undefined",
    ]);
    expect(
      issues(strategySchema.safeParse({ ...defaultStrategy, healthCheckTimeoutSeconds: "120" })),
    ).toEqual(["healthCheckTimeoutSeconds: Invalid input: expected number, received string"]);
  });
});

describe("fleet.yaml's strategy defaults", () => {
  it("fills every field left out from the default strategy", () => {
    expect(strategyDefaultsSchema.parse({})).toEqual(defaultStrategy);
    expect(strategyDefaultsSchema.parse({ batchPercent: 50 })).toEqual({
      ...defaultStrategy,
      batchPercent: 50,
    });
  });

  it("checks the healthy period against the default timeout when only one is given", () => {
    expect(issues(strategyDefaultsSchema.safeParse({ minHealthySeconds: 120 }))).toEqual([
      "minHealthySeconds: minHealthySeconds must be less than healthCheckTimeoutSeconds (120), which includes it",
    ]);
    expect(issues(strategyDefaultsSchema.safeParse({ healthCheckTimeoutSeconds: 10 }))).toEqual([
      "minHealthySeconds: minHealthySeconds must be less than healthCheckTimeoutSeconds (10), which includes it",
    ]);
  });
});
