/**
 * Telling "the Docker Engine is not there" from "the Engine said no". The first is waited out
 * (dockerd restarts when Docker is upgraded or the host reboots); the second is an answer.
 */

/** Errors of the connection itself: no socket, nobody listening, the daemon hung up mid-request. */
const CONNECTION_CODES = new Set([
  "ENOENT",
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENOTCONN",
  "ECONNABORTED",
  "UND_ERR_SOCKET",
]);

/**
 * What dockerd and containerd answer with a 5xx while they shut down or start: their state
 * store is closed, their gRPC connection to containerd is gone, the request's context ended.
 */
const SHUTDOWN_MESSAGES =
  /database not open|database is closed|shutting down|transport is closing|connection refused|connection reset|error reading from server|context canceled|containerd.*(not|un)available|no such file or directory.*containerd\.sock|broken pipe|server closed idle connection|socket hang up/i;

interface EngineErrorShape {
  code?: unknown;
  statusCode?: unknown;
  message?: unknown;
  json?: { message?: unknown } | null;
  cause?: unknown;
}

/**
 * True for an error that says the Engine is unreachable or going away, rather than that the
 * request was wrong. Pure; a caller that is unsure also pings the Engine.
 */
export function isEngineUnavailableError(error: unknown, depth = 0): boolean {
  if (error === null || typeof error !== "object" || depth > 3) return false;
  const e = error as EngineErrorShape;
  if (typeof e.code === "string" && CONNECTION_CODES.has(e.code)) return true;
  const message = `${typeof e.message === "string" ? e.message : ""} ${
    typeof e.json?.message === "string" ? e.json.message : ""
  }`;
  if (/socket hang up|connect (ENOENT|ECONNREFUSED)/i.test(message)) return true;
  const status = typeof e.statusCode === "number" ? e.statusCode : undefined;
  if (status !== undefined && status >= 500 && SHUTDOWN_MESSAGES.test(message)) return true;
  return isEngineUnavailableError(e.cause, depth + 1);
}
