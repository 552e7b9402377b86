import { describe, expect, it } from "vitest";
import { createLogger, defaultLogFormat, type LogFormat } from "./logger.ts";

function capture(format: LogFormat, level?: "debug" | "info" | "warn" | "error") {
  const lines: string[] = [];
  const logger = createLogger({
    host: "host-a",
    format,
    ...(level ? { level } : {}),
    write: (l) => lines.push(l),
  });
  return { logger, lines };
}

describe("createLogger", () => {
  it("writes JSON lines with level, time, host and the child's bot, rollout and step", () => {
    const { logger, lines } = capture("json");
    logger.child({ bot: "acme-support", rollout: "r-2026-11-27" }).warn({ step: "health" }, "not healthy");
    expect(lines).toHaveLength(1);
    expect(lines[0]!.endsWith("\n")).toBe(true);
    const record = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(record).toMatchObject({
      level: "warn",
      host: "host-a",
      bot: "acme-support",
      rollout: "r-2026-11-27",
      step: "health",
      msg: "not healthy",
    });
    expect(Number.isNaN(Date.parse(record.time as string))).toBe(false);
  });

  it("writes one readable text line per record, the context before the message", () => {
    const { logger, lines } = capture("text");
    logger.child({ bot: "acme-support" }).error({ step: "rollback", attempts: 2 }, "ROLLBACK FAILED");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\] ERROR: host-a bot=acme-support step=rollback: ROLLBACK FAILED \{"attempts":2\}\n$/,
    );
  });

  it("drops records below the level", () => {
    const { logger, lines } = capture("json", "warn");
    logger.info("routine");
    logger.warn("worth a look");
    expect(lines.map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual(["worth a look"]);
  });
});

describe("defaultLogFormat", () => {
  it("is JSON under systemd (JOURNAL_STREAM set) and text elsewhere", () => {
    expect(defaultLogFormat({ JOURNAL_STREAM: "8:12345" })).toBe("json");
    expect(defaultLogFormat({})).toBe("text");
  });
});
