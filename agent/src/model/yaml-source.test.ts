import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it, vi } from "vitest";
import { LineCounter, parseDocument } from "yaml";
import { z } from "zod";
import { digestOf, fleetFiles } from "../plan/testing.ts";
import { fastLoad, offsetOf, parseYaml, zodProblems } from "./yaml-source.ts";

/**
 * What the `yaml` package alone makes of a text, as parseYaml did before it had a fast path:
 * the behaviour it must keep. `throws` is kept too (an alias to a missing anchor makes toJS throw).
 */
function reference(text: string): { ok: true; data: unknown } | { ok: false } | { throws: true } {
  const doc = parseDocument(text, { lineCounter: new LineCounter(), uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0 || doc.contents === null) return { ok: false };
  try {
    return { ok: true, data: doc.toJS({ maxAliasCount: 100 }) };
  } catch {
    // parseYaml reports what `yaml` can only throw (an alias to an unknown anchor) as a problem.
    return { ok: false };
  }
}

function actual(text: string): { ok: true; data: unknown } | { ok: false } | { throws: true } {
  try {
    const result = parseYaml("f.yaml", text);
    return result.ok ? { ok: true, data: result.source.data } : { ok: false };
  } catch {
    return { throws: true };
  }
}

/** parseYaml agrees with `yaml`, and whenever the fast path answers, `yaml` accepts the same data. */
function expectSameAsYaml(text: string): void {
  const expected = reference(text);
  expect(actual(text), JSON.stringify(text)).toStrictEqual(expected);
  const fast = fastLoad(text);
  if (fast) expect({ ok: true, data: fast.data }, JSON.stringify(text)).toStrictEqual(expected);
}

describe("parseYaml's fast path", () => {
  it("reads every file of the sample fleet-state/ as `yaml` does, without falling back", async () => {
    const root = join(import.meta.dirname, "../../../fleet-state");
    const paths = ["fleet.yaml"];
    for (const dir of ["tenants", "rollouts", "status"]) {
      for (const name of await readdir(join(root, dir)))
        if (name.endsWith(".yaml")) paths.push(`${dir}/${name}`);
    }
    expect(paths.length).toBeGreaterThan(3);
    for (const path of paths) {
      const text = await readFile(join(root, path), "utf8");
      expect(fastLoad(text), path).toBeDefined();
      expectSameAsYaml(text);
    }
  });

  it("reads generated fleets (tests, the benchmark) as `yaml` does, without falling back", () => {
    const old = digestOf("aaaa");
    const files = fleetFiles({
      strategy: { batchPercent: 50 },
      tenants: [
        { tenant: "acme", mode: "manual", hour: 3, bots: [{ id: "acme-main", host: "host-a" }] },
        { tenant: "globex", bots: [{ id: "globex-main", host: "host-b", pinnedDigest: old }] },
        { tenant: "empty", bots: [] },
      ],
      statuses: [
        {
          host: "host-a",
          bots: { "acme-main": old },
          quarantine: [
            { image: "ghcr.io/acme/app", digest: old, rollout: "r-aaaa", reason: "it's broken: 500" },
          ],
        },
        { host: "host-b" },
      ],
    });
    for (const file of files) {
      expect(fastLoad(file.text), file.path).toBeDefined();
      expectSameAsYaml(file.text);
    }
  });

  const digest = `sha256:${"0123456789abcdef".repeat(4)}`;
  /** [text, what `yaml` (and so parseYaml) reads, whether the fast path may answer] */
  const values: [string, unknown, boolean][] = [
    // YAML 1.2 core, not 1.1: these stay strings.
    ["a: on", { a: "on" }, true],
    ["a: yes", { a: "yes" }, true],
    ["a: No", { a: "No" }, true],
    ["a: 12:30", { a: "12:30" }, true],
    ["a: 0b101", { a: "0b101" }, true],
    ["a: 1_000", { a: "1_000" }, true],
    ["a: 2026-11-27", { a: "2026-11-27" }, true],
    ["a: 2026-11-27T06:12:00Z", { a: "2026-11-27T06:12:00Z" }, true],
    // Numbers, booleans and nulls as 1.2 core has them.
    ["a: 0o17", { a: 15 }, true],
    ["a: 017", { a: 17 }, true],
    ["a: 0x1F", { a: 31 }, true],
    ["a: 1e3", { a: 1000 }, true],
    ["a: -.5", { a: -0.5 }, true],
    ["a: -0", { a: -0 }, true],
    ["a: .inf", { a: Number.POSITIVE_INFINITY }, true],
    ["a: -.Inf", { a: Number.NEGATIVE_INFINITY }, true],
    ["a: .nan", { a: Number.NaN }, true],
    ["a: True", { a: true }, true],
    ["a: ~", { a: null }, true],
    ["a:", { a: null }, true],
    ["---\n", null, true],
    ["---\na: 1 # comment\n", { a: 1 }, true],
    // Digests: quoting changes nothing, an all-digit hex prefix without quotes is a number.
    [`a: ${digest}`, { a: digest }, true],
    [`a: "${digest}"`, { a: digest }, true],
    ["a: '0123'", { a: "0123" }, true],
    ["a: 0123", { a: 123 }, true],
    // Where js-yaml would read something else, `yaml` reads it.
    [`a: 1${"0".repeat(400)}`, { a: Number.POSITIVE_INFINITY }, false],
    ["a: 1e400", { a: Number.POSITIVE_INFINITY }, false],
    ["a: !!str 12", { a: "12" }, false],
    ["a: !!float x", { a: "x" }, false],
    ["%YAML 1.1\n---\na: yes", { a: true }, false],
    ["~: 1", { "": 1 }, false],
    ["1: a\n'1': b", { 1: "b" }, false],
    ["a: &x [1]\nb: *x", { a: [1], b: [1] }, false],
    ["  --- a", "--- a", false],
    ["a: x\ry", { a: "x\ry" }, false],
    ["a: |2\n    x\n", { a: "  x\n" }, false],
    // A field named __proto__ stays a field (an unknown one), never the map's prototype.
    ["__proto__: {a: 1}\nb: 2", JSON.parse('{"__proto__": {"a": 1}, "b": 2}'), false],
  ];
  it.each(values)("%j", (text, data, fast) => {
    expect(actual(text)).toStrictEqual({ ok: true, data });
    expect(fastLoad(text) !== undefined, "fast path taken").toBe(fast);
    expectSameAsYaml(text);
  });

  it("leaves every kind of error to `yaml`, with today's problems", () => {
    const problem = (line: number, field: string, message: string) => [
      { file: "f.yaml", line, field, message },
    ];
    const empty = problem(1, "(file)", "the file is empty; expected a map of fields");
    const cases: [string, unknown][] = [
      ["", empty],
      ["# only a comment\n", empty],
      ["\n\n", empty],
      [
        "a: 1\n---\nb: 2\n",
        problem(
          2,
          "(yaml)",
          "invalid YAML: Source contains multiple documents; please use YAML.parseAllDocuments()",
        ),
      ],
      ["a: 1\nb: 2\na: 3\n", problem(3, "(yaml)", "duplicate key: a key appears twice in the same map")],
      [
        `${"k".repeat(1100)}: 1\n`,
        problem(
          1,
          "(yaml)",
          "invalid YAML: The : indicator must be at most 1024 chars after the start of an implicit block mapping key",
        ),
      ],
      [
        `${"k".repeat(1100)}: 1`,
        problem(
          1,
          "(yaml)",
          "invalid YAML: The : indicator must be at most 1024 chars after the start of an implicit block mapping key",
        ),
      ],
      [
        "a: [1\n",
        problem(
          2,
          "(yaml)",
          "invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]",
        ),
      ],
    ];
    for (const [text, problems] of cases) {
      expect(fastLoad(text), JSON.stringify(text)).toBeUndefined();
      expect(parseYaml("f.yaml", text), JSON.stringify(text)).toStrictEqual({ ok: false, problems });
    }
  });

  it("locates fields of a fast-read file on their lines", () => {
    const text = "# head\ntenant: acme\nbots:\n  - id: a\n    host: h\n  - { id: b, host: h }\n";
    const parsed = parseYaml("f.yaml", text);
    expect(fastLoad(text)).toBeDefined();
    if (!parsed.ok) throw new Error("expected ok");
    expect(parsed.source.lineOf(["tenant"])).toBe(2);
    expect(parsed.source.lineOf(["bots", 0, "host"])).toBe(5);
    expect(parsed.source.lineOf(["bots", 1, "id"])).toBe(6);
    expect(parsed.source.lineOf(["bots", 1, "missing"])).toBe(6);
  });

  it("reads a long file of short lines fast, and a line of 1024 characters too", () => {
    const lines = Array.from({ length: 200 }, (_, i) => `key${i}: ${i}`);
    // A one-character first line: where a line ends is not confused with where the text does.
    for (const text of [`#\n${lines.join("\n")}`, `${lines.join("\n")}\n`, `${"k".repeat(1021)}: 1`]) {
      expect(text.length).toBeGreaterThanOrEqual(1024);
      expect(fastLoad(text), text.slice(0, 20)).toBeDefined();
      expectSameAsYaml(text);
    }
  });

  it("locates a path that leads past what the file has at the deepest node that is there", () => {
    const text = "tenant: acme\nbots:\n  - id: a\n    host: h\n";
    const parsed = parseYaml("f.yaml", text);
    if (!parsed.ok) throw new Error("expected ok");
    expect(parsed.source.lineOf(["bots", 9])).toBe(2);
    expect(parsed.source.lineOf(["bots", "id"])).toBe(2);
    expect(parsed.source.lineOf(["tenant", 0])).toBe(1);
    expect(parsed.source.lineOf(["bots", 0, "host", "x"])).toBe(4);
  });

  it("locates any path in an empty document at its start (the changelog's hosted-mode file may be empty)", () => {
    expect(offsetOf(parseDocument("# nothing yet\n"), ["repository"])).toBe(0);
  });

  // Lines of YAML-ish tokens: mostly broken, sometimes odd but valid. Wherever the two parsers
  // part ways, parseYaml must still say what `yaml` says.
  const scalars = [
    ...["a", "b c", "on", "yes", "0o17", "017", "0x1F", "1e3", "+.5", ".inf", ".NaN", "~", "null"],
    ...["true", "", "''", '"x"', "'a''b'", '"a\\tb"', "2026-11-27", "12:30", "sha256:ab", "1e400"],
    ...["a #c", "a#b", "&x a", "*x", "!!str 1", "!t a", "[a, b]", "{a: 1}", "{a, b}", "[a: b]", "[]"],
    ...["{}", "|", "|-", ">+", "|2", "'m", '"x', "a: b", "- a", "-", "---", "...", "? a", ":", "%"],
    ...["'", "[", "}", ",", "\t", "a\tb", "\u00a0", "\r", "-a", ":a", "a:b", "0", "-0", "1.", "0x"],
  ];
  const keys = ["a", "b", "'a'", '"b"', "~", "null", "1", "true", "__proto__", "? a", "'x y'"];
  const line = fc.record({
    indent: fc.constantFrom("", " ", "  ", "    ", "\t", " \t"),
    dash: fc.constantFrom("", "", "- ", "-\t", "- - "),
    key: fc.option(fc.constantFrom(...keys, "&k a", "*k", "!!str 1"), { nil: undefined }),
    sep: fc.constantFrom(": ", ":", " : ", ":\t"),
    value: fc.array(fc.constantFrom(...scalars), { maxLength: 3 }),
    comment: fc.constantFrom("", "", " # c", "#c"),
  });
  const text = fc
    .tuple(fc.array(line, { maxLength: 6 }), fc.constantFrom("\n", "\r\n"), fc.boolean())
    .map(([lines, newline, trailing]) => {
      const body = lines.map(
        (l) =>
          `${l.indent}${l.dash}${l.key === undefined ? "" : l.key + l.sep}${l.value.join(" ")}${l.comment}`,
      );
      return body.join(newline) + (trailing ? newline : "");
    });

  it("agrees with `yaml` on random texts", { timeout: 60_000 }, () => {
    // `yaml` warns on the process for a collection used as a key; that noise is not under test.
    const quiet = vi.spyOn(process, "emitWarning").mockImplementation(() => {});
    try {
      fc.assert(
        fc.property(text, (t) => expectSameAsYaml(t)),
        { numRuns: 1000 },
      );
    } finally {
      quiet.mockRestore();
    }
  });
});

describe("zodProblems", () => {
  const schema = z.strictObject({
    name: z.string(),
    replicas: z.number().int(),
    mode: z.enum(["auto", "manual"]),
  });
  const problemsOf = (text: string) => {
    const parsed = parseYaml("f.yaml", text);
    if (!parsed.ok) throw new Error("expected ok");
    // As the fleet-state loader parses: zod names the value it got only when asked to.
    const result = schema.safeParse(parsed.source.data, { reportInput: true });
    return result.success ? [] : zodProblems(parsed.source, result.error);
  };

  it("words each kind of issue for the operator, on the field's line", () => {
    expect(problemsOf("name: 5\nreplicas: 1.5\nmode: yolo\nextra: 1\n")).toEqual([
      { file: "f.yaml", line: 1, field: "name", message: "expected string, got number" },
      { file: "f.yaml", line: 2, field: "replicas", message: "must be a whole number" },
      { file: "f.yaml", line: 3, field: "mode", message: 'must be one of "auto", "manual"' },
      { file: "f.yaml", line: 4, field: "extra", message: "unknown field" },
    ]);
    expect(problemsOf("name: [a]\nreplicas: '2'\n")).toEqual([
      { file: "f.yaml", line: 1, field: "name", message: "expected string, got a list" },
      { file: "f.yaml", line: 2, field: "replicas", message: "expected number, got string" },
      { file: "f.yaml", line: 1, field: "mode", message: 'must be one of "auto", "manual"' },
    ]);
  });

  it("places a problem with a document that holds only a null on line 1", () => {
    expect(problemsOf("---\n")).toEqual([
      { file: "f.yaml", line: 1, field: "(file)", message: "expected a map, got null" },
    ]);
  });
});
