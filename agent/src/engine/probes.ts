import type { EnginePort } from "../docker/engine-port.ts";
import type { BotHealth } from "../model/tenant.ts";
import { jsonMatches, type Probe, type ProbeResult } from "./health-gate.ts";

/**
 * A container that exited or restarted has failed, whatever its HTTP endpoint said a moment ago:
 * checked on every probe so a crash inside minHealthySeconds rolls back at once.
 */
async function liveness(
  docker: EnginePort,
  containerId: string,
  restartsAtStart: number,
): Promise<ProbeResult> {
  const info = await docker.inspect(containerId);
  if (!info) return { ok: false, reason: "the container disappeared", fatal: true };
  if (info.RestartCount > restartsAtStart || info.State.Restarting) {
    return { ok: false, reason: `the container restarted (exit code ${info.State.ExitCode})`, fatal: true };
  }
  if (!info.State.Running) {
    return { ok: false, reason: `the container exited with code ${info.State.ExitCode}`, fatal: true };
  }
  return { ok: true };
}

async function httpCheck(health: BotHealth): Promise<ProbeResult> {
  let response: Response;
  try {
    response = await fetch(health.url, { signal: AbortSignal.timeout(2000), redirect: "manual" });
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    return {
      ok: false,
      reason: `GET ${health.url}: ${cause ?? (error as Error).message}`,
      ...(cause === "ECONNREFUSED" ? { refused: true } : {}),
    };
  }
  const body = await response.text().catch(() => "");
  if (response.status !== health.expectStatus) {
    return {
      ok: false,
      reason: `GET ${health.url} answered ${response.status}, expected ${health.expectStatus}`,
    };
  }
  if (health.expectJson) {
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      return { ok: false, reason: `GET ${health.url} did not answer JSON` };
    }
    if (!jsonMatches(health.expectJson, json)) {
      return {
        ok: false,
        reason: `GET ${health.url} answered ${body.slice(0, 200)}, expected ${JSON.stringify(health.expectJson)}`,
      };
    }
  }
  return { ok: true };
}

/**
 * The probe for a bot: its HTTP check when it declares one, else the image's Docker HEALTHCHECK,
 * else "running without restarts" (the gate's minHealthy then decides).
 */
export async function botProbe(
  docker: EnginePort,
  containerId: string,
  health: BotHealth | null,
): Promise<Probe> {
  const info = await docker.inspect(containerId);
  const restartsAtStart = info?.RestartCount ?? 0;
  const hasHealthcheck = Boolean(
    info?.Config.Healthcheck?.Test?.length && info.Config.Healthcheck.Test[0] !== "NONE",
  );
  return async () => {
    if (health) {
      // Both at once: the probe costs the slower of the two, not their sum, and every answer is
      // still judged with the container's liveness of that moment.
      const [alive, answer] = await Promise.all([
        liveness(docker, containerId, restartsAtStart),
        httpCheck(health),
      ]);
      return alive.ok ? answer : alive;
    }
    const alive = await liveness(docker, containerId, restartsAtStart);
    if (!alive.ok) return alive;
    if (hasHealthcheck) {
      const state = (await docker.inspect(containerId))?.State.Health?.Status;
      if (state === "healthy") return { ok: true };
      if (state === "unhealthy")
        return { ok: false, reason: "Docker HEALTHCHECK reports unhealthy", fatal: true };
      return { ok: false, reason: `Docker HEALTHCHECK is ${state ?? "unknown"}` };
    }
    return { ok: true };
  };
}
