import { describe, expect, it } from "vitest";
import { z } from "zod";
import { UsageError } from "../errors.ts";
import { flagOptions, parseFlags } from "./command.ts";

const schema = z.strictObject({
  repo: z.string().default("."),
  once: z.boolean().optional(),
  "dry-run": z.boolean().default(false),
  keep: z.coerce.number().int().min(0).default(0),
});

describe("flags declared once, in zod", () => {
  it("reads booleans as switches and everything else as values", () => {
    expect(flagOptions(schema)).toEqual({
      repo: { type: "string" },
      once: { type: "boolean" },
      "dry-run": { type: "boolean" },
      keep: { type: "string" },
    });
  });

  it("parses and validates with the same schema", () => {
    const { flags } = parseFlags(["--once", "--keep", "3", "--dry-run"], schema);
    expect(flags).toEqual({ repo: ".", once: true, "dry-run": true, keep: 3 });
  });

  it("names the flag of a bad value, and refuses unknown flags", () => {
    expect(() => parseFlags(["--keep=-1"], schema)).toThrow(/^--keep: /);
    expect(() => parseFlags(["--nope"], schema)).toThrow(UsageError);
    expect(() => parseFlags(["--once=yes"], schema)).toThrow(UsageError);
  });
});
