import { z } from "zod";

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "30s", "5m", "1h", "7d", "250ms", or a bare number of seconds, as milliseconds. */
export const durationMs = z.string().transform((value, ctx) => {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(value.trim());
  if (!match) {
    ctx.addIssue({ code: "custom", message: `"${value}" is not a duration like 30s, 5m, 1h or 7d` });
    return z.NEVER;
  }
  return Math.round(Number(match[1]) * UNITS[match[2] ?? "s"]!);
});
