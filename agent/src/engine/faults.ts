/**
 * Named points where a test makes the agent die as abruptly as a power cut or an OOM kill
 * (FLEETWAVE_FAULT=<point>), to prove recover() finishes or undoes what was in flight.
 */
export const faultPoints = [
  "after-pull",
  "after-precopy",
  "after-stop",
  "after-snapshot",
  "after-rename",
  "after-create",
  "after-start",
  "after-confirm",
  "after-remove-new",
  "after-restore",
] as const;
export type FaultPoint = (typeof faultPoints)[number];

export function faultPoint(point: FaultPoint, env: NodeJS.ProcessEnv = process.env): void {
  if (env.FLEETWAVE_FAULT === point) process.kill(process.pid, "SIGKILL");
}
