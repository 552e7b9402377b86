import { describe, expect, it } from "vitest";
import { mergeReports, moduleOf, renderSummary, score } from "./mutation-summary.ts";

const mutant = (status: "Killed" | "Survived" | "NoCoverage" | "Timeout" | "CompileError", line = 1) => ({
  mutatorName: "EqualityOperator",
  replacement: "a >= b",
  status,
  location: { start: { line, column: 1 } },
});

describe("mutation summary", () => {
  it("scores timeouts as killed and leaves compile errors out", () => {
    expect(score([mutant("Killed"), mutant("Timeout"), mutant("Survived"), mutant("CompileError")])).toEqual({
      killed: 2,
      survived: 1,
      noCoverage: 0,
      percent: (100 * 2) / 3,
    });
    expect(score([]).percent).toBe(100);
  });

  it("puts a file in its module by path prefix", () => {
    expect(moduleOf("agent/src/model/fleet.ts")).toMatch(/^model/);
    expect(moduleOf("agent/src/http/tokens.ts")).toBe("API tokens");
    expect(moduleOf("agent/src/http/app.ts")).toBeUndefined();
  });

  it("renders each module's score and lists every survivor with its line", () => {
    const text = renderSummary(
      {
        "/tmp/x/agent/src/plan/gates.ts": { mutants: [mutant("Killed"), mutant("Survived", 42)] },
        "/tmp/x/agent/src/http/webhook.ts": { mutants: [mutant("NoCoverage", 7)] },
      },
      "2026-12-07",
    );
    expect(text).toContain("| plan (planner, gates, progress, wake-ups) | 50.0 % | 1 | 1 | 0 |");
    expect(text).toContain("| webhook verification | 0.0 % | 0 | 0 | 1 |");
    expect(text).toContain("| API tokens | not measured in this run | | | |");
    expect(text).toContain("- `agent/src/plan/gates.ts:42` EqualityOperator: `a >= b`");
    expect(text).toContain("- `agent/src/http/webhook.ts:7` EqualityOperator: `a >= b` (no test runs it)");
  });

  it("merges runs of one file at a time, the later run of a file replacing the earlier", () => {
    const older = {
      "/a/agent/src/plan/gates.ts": { mutants: [mutant("Survived")] },
      "/a/agent/src/model/ports.ts": { mutants: [mutant("Killed")] },
    };
    const newer = { "/b/agent/src/plan/gates.ts": { mutants: [mutant("Killed")] } };
    expect(mergeReports([older, newer])).toEqual({
      "agent/src/plan/gates.ts": { mutants: [mutant("Killed")] },
      "agent/src/model/ports.ts": { mutants: [mutant("Killed")] },
    });
  });
});
