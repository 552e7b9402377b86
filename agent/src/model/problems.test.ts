import { describe, expect, it } from "vitest";
import {
  formatField,
  formatGithubAnnotation,
  formatProblem,
  oneLine,
  quote,
  sortProblems,
} from "./problems.ts";

describe("one-line problems", () => {
  it("escapes control characters, separators and bidi overrides", () => {
    expect(oneLine("a\nb\rc\td\u0000e\u007ff\u0085g\u2028h\u202ei")).toBe(
      "a\\nb\\rc\\td\\u0000e\\u007ff\\u0085g\\u2028h\\u202ei",
    );
    expect(oneLine("plain: text, ünïcode ✓")).toBe("plain: text, ünïcode ✓");
  });

  it("quotes a value with its quotes and backslashes escaped, shortened to 80 characters", () => {
    expect(quote('say "hi"\\now\n')).toBe('"say \\"hi\\"\\\\now\\n"');
    expect(quote("x".repeat(81))).toBe(`"${"x".repeat(80)}…(81 characters)"`);
    expect(quote("x".repeat(80))).toBe(`"${"x".repeat(80)}"`);
  });

  it("keeps fields on one line and short", () => {
    expect(formatField(["bots", "a\nb", 0])).toBe("bots.a\\nb[0]");
    expect(formatField(["k".repeat(100)])).toBe(`${"k".repeat(80)}…(100 characters)`);
    expect(formatField([])).toBe("(file)");
  });

  it("escapes every part of a problem when sorting and formatting", () => {
    const problem = { file: "a\nb.yaml", line: 2, field: "x\ty", message: "bad\nvalue" };
    expect(sortProblems([problem])).toEqual([
      { file: "a\\nb.yaml", line: 2, field: "x\\ty", message: "bad\\nvalue" },
    ]);
    expect(formatProblem(problem)).toBe("a\\nb.yaml:2: x\\ty: bad\\nvalue");
  });

  it("escapes GitHub annotation properties and data so a problem stays one annotation", () => {
    const problem = { file: "a:b,c.yaml", line: 2, field: "x,y:z", message: "bad\r\nvalue 100%, a:b" };
    expect(formatGithubAnnotation(problem)).toBe(
      "::error file=a%3Ab%2Cc.yaml,line=2,title=x%2Cy%3Az::bad%0D%0Avalue 100%25, a:b",
    );
  });
});
