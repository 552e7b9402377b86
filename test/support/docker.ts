/**
 * Helpers shared by integration tests that talk to the private test engine started by
 * scripts/test-env.sh (see test/support/global-setup.ts).
 */
import { assertLoopback, dockerClient } from "#scripts/local-env/engine.ts";

export interface HttpAnswer {
  status: number;
  body: string;
}

export interface WaitForHttpOptions {
  /** Which status ends the wait; default any 2xx. */
  accept?: (status: number) => boolean;
  /** Per-request timeout; default 1000 ms (bounded by what is left of the overall timeout). */
  requestTimeoutMs?: number;
}

/**
 * Polls `url` with GET until it answers with an accepted status, and returns that answer.
 * Starts fast (25 ms) and backs off to 250 ms, so a bot that is up is seen almost at once.
 * On timeout the error names the last status or connection error seen.
 */
export async function waitForHttp(
  url: string,
  timeoutMs: number,
  options: WaitForHttpOptions = {},
): Promise<HttpAnswer> {
  assertLoopback(url);
  const accept = options.accept ?? ((status: number) => status >= 200 && status < 300);
  const deadline = Date.now() + timeoutMs;
  let delay = 25;
  let last = "no attempt";
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0)
      throw new Error(`${url} did not answer as expected within ${timeoutMs} ms (last: ${last})`);
    try {
      const response = await fetch(url, {
        signal: AbortSignal.timeout(Math.max(1, Math.min(options.requestTimeoutMs ?? 1000, left))),
      });
      const body = await response.text();
      if (accept(response.status)) return { status: response.status, body };
      last = `HTTP ${response.status} ${body.slice(0, 200)}`;
    } catch (error) {
      last = describeFetchError(error);
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(delay, Math.max(0, deadline - Date.now()))));
    delay = Math.min(delay * 2, 250);
  }
}

/** fetch hides the useful part (ECONNREFUSED, timeout) in `cause`. */
export function describeFetchError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause;
  if (cause instanceof Error) {
    const code = (cause as NodeJS.ErrnoException).code;
    return code ? `${code}: ${cause.message}` : cause.message;
  }
  return `${error.name}: ${error.message}`;
}

/**
 * Force-removes every container (running or not, with its anonymous volumes) carrying `label`,
 * given as "key" or "key=value". Returns how many were removed. Containers that vanish
 * meanwhile are fine: tests clean up concurrently with the engine's own auto-removal.
 */
export async function removeContainersByLabel(label: string): Promise<number> {
  const docker = dockerClient();
  const containers = await docker.listContainers({ all: true, filters: { label: [label] } });
  let removed = 0;
  for (const info of containers) {
    try {
      await docker.getContainer(info.Id).remove({ force: true, v: true });
      removed += 1;
    } catch (error) {
      const status = (error as { statusCode?: number }).statusCode;
      if (status !== 404 && status !== 409) throw error;
    }
  }
  return removed;
}
