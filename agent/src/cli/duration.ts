import { z } from "zod";

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** "30s", "5m", "1h", "250ms", or a bare number of seconds, as milliseconds. */
export const durationMs = z.string().transform((value, ctx) => {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
  if (!match) {
    ctx.addIssue({ code: "custom", message: `"${value}" is not a duration like 30s, 5m or 1h` });
    return z.NEVER;
  }
  return Math.round(Number(match[1]) * UNITS[match[2] ?? "s"]!);
});
