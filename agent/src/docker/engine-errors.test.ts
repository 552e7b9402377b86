import { describe, expect, it } from "vitest";
import { isEngineUnavailableError } from "./engine-errors.ts";

const errno = (code: string, message = `connect ${code} /run/docker.sock`) =>
  Object.assign(new Error(message), { code });
const http = (statusCode: number, message: string) =>
  Object.assign(new Error(`(HTTP code ${statusCode}) server error - ${message}`), {
    statusCode,
    json: { message },
  });

describe("isEngineUnavailableError", () => {
  it.each([
    ["no socket (dockerd stopped and removed it)", errno("ENOENT")],
    ["nobody listens (dockerd killed)", errno("ECONNREFUSED")],
    ["the daemon hung up mid-request", errno("ECONNRESET", "socket hang up")],
    ["a 500 while the daemon shuts down", http(500, "database not open")],
    ["a 500 when containerd went away", http(500, "connection error: desc = transport is closing")],
    ["wrapped in a cause", new Error("volume x cannot be inspected", { cause: errno("ECONNREFUSED") })],
  ])("is true for %s", (_name, error) => {
    expect(isEngineUnavailableError(error)).toBe(true);
  });

  it.each([
    ["a missing container", http(404, "No such container: bot")],
    ["a name conflict", http(409, 'Conflict. The container name "/bot" is already in use')],
    [
      "a start that fails for the container's own reasons",
      http(500, "OCI runtime create failed: exec: no such file"),
    ],
    ["a disk-full error of the agent itself", errno("ENOSPC", "write ENOSPC")],
    ["not an error", "ECONNREFUSED"],
  ])("is false for %s", (_name, error) => {
    expect(isEngineUnavailableError(error)).toBe(false);
  });
});
