/**
 * The agent's structured log: one pino logger per agent, made here, with child loggers that add
 * `bot`, `rollout` and `step`. Every line carries `host`. JSON lines for systemd's journal and log
 * shippers, or one readable line per record on a terminal (pino-pretty used as a synchronous
 * formatter: no worker threads, which the bundled CLI could not start).
 */
import { type DestinationStream, type Logger, pino } from "pino";
import { prettyFactory } from "pino-pretty";
import { z } from "zod";

export type { Logger };

export const LOG_FORMATS = ["json", "text"] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];
export const logFormat = z.enum(LOG_FORMATS, { message: "--log-format must be json or text" });

export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const logLevel = z.enum(LOG_LEVELS, { message: "--log-level must be debug, info, warn or error" });

/** The fields a line may carry besides its message; `host` is on every line. */
export interface LogContext {
  bot?: string;
  rollout?: string;
  step?: string;
}

/**
 * JSON under systemd (it sets JOURNAL_STREAM for a unit whose stderr goes to the journal), text
 * everywhere else: a terminal, a test, `docker logs`.
 */
export function defaultLogFormat(env: NodeJS.ProcessEnv): LogFormat {
  return env.JOURNAL_STREAM ? "json" : "text";
}

const CONTEXT_FIELDS = ["host", "rollout", "bot", "step"] as const;

/** One line per record: time, level, host and context, then the message and any other fields. */
function textFormatter(colorize: boolean): (json: string) => string {
  return prettyFactory({
    colorize,
    singleLine: true,
    translateTime: "UTC:yyyy-mm-dd'T'HH:MM:ss.l'Z'",
    ignore: ["pid", "hostname", ...CONTEXT_FIELDS].join(","),
    messageFormat:
      "{host}{if rollout} rollout={rollout}{end}{if bot} bot={bot}{end}{if step} step={step}{end}: {msg}",
  });
}

export interface LoggerOptions {
  host: string;
  format: LogFormat;
  level?: LogLevel;
  /** Where the lines go; default stderr. Gets whole lines, each ending in "\n". */
  write?: (line: string) => void;
  /** Colours in text lines (default: when writing to a terminal's stderr). */
  colorize?: boolean;
}

export function createLogger(o: LoggerOptions): Logger {
  const write = o.write ?? ((line: string) => process.stderr.write(line));
  const colorize = o.colorize ?? (o.write === undefined && process.stderr.isTTY === true);
  const format = o.format === "text" ? textFormatter(colorize) : (line: string) => line;
  const destination: DestinationStream = { write: (line) => write(format(line)) };
  return pino(
    {
      level: o.level ?? "info",
      base: { host: o.host },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}
