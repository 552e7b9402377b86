/**
 * One agent per host across machines. Every agent has an instance id, kept in its data dir so
 * that a restart of the same agent is the same instance. Its status file names the instance (with
 * the machine and data dir) and `updatedAt` is its heartbeat. An agent that finds in git another
 * instance holding its host, seen recently or still running on this machine, refuses to act.
 */
import { randomUUID } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join, resolve } from "node:path";
import { parse } from "yaml";
import type { HostStatus } from "../model/status.ts";
import { liveHolder } from "./data-dir-lock.ts";

export type AgentClaim = NonNullable<HostStatus["agent"]>;

/** An agent commits its status at least this often, even when nothing changed. */
export const HEARTBEAT_EVERY_MS = 60 * 60 * 1000;
/** A holder whose status is older than this is gone; another instance may take the host over. */
export const LIVE_FOR_MS = 3 * HEARTBEAT_EVERY_MS;

const INSTANCE_FILE = "instance-id";

/** This data dir's instance id, created on first use. */
export async function loadInstanceId(dataDir: string): Promise<string> {
  const path = join(dataDir, INSTANCE_FILE);
  const existing = (await readFile(path, "utf8").catch(() => "")).trim();
  if (existing) return existing;
  await mkdir(dataDir, { recursive: true });
  const id = randomUUID();
  await writeFile(path, `${id}\n`, { flag: "wx" }).catch(async (error: NodeJS.ErrnoException) => {
    if (error.code !== "EEXIST") throw error;
  });
  return (await readFile(path, "utf8")).trim();
}

export async function selfClaim(dataDir: string): Promise<AgentClaim> {
  return { instance: await loadInstanceId(dataDir), machine: hostname(), dataDir: resolve(dataDir) };
}

export interface Holding {
  claim: AgentClaim;
  updatedAt: string;
}

/**
 * Whether `holding` is another live agent: a different instance (or the same data dir copied to
 * another machine) whose heartbeat is recent. On this machine the holder's data-dir lock decides
 * instead, so a stopped agent never holds its host for hours.
 */
export function heldByOther(
  holding: Holding | undefined,
  self: AgentClaim,
  now: Date,
  sameMachineHolderRuns: boolean,
): boolean {
  if (!holding) return false;
  const { claim } = holding;
  if (claim.instance === self.instance && claim.machine === self.machine) return false;
  if (claim.machine === self.machine) return sameMachineHolderRuns;
  const age = now.getTime() - Date.parse(holding.updatedAt);
  return Number.isFinite(age) && age < LIVE_FOR_MS;
}

export function heldMessage(host: string, holding: Holding, self: AgentClaim): string {
  const { claim } = holding;
  const where = `instance ${claim.instance} on ${claim.machine} (data dir ${claim.dataDir})`;
  const until = new Date(Date.parse(holding.updatedAt) + LIVE_FOR_MS).toISOString();
  const next =
    claim.machine === self.machine
      ? "stop that agent first"
      : `stop that agent first; if it is gone for good, this agent takes over after ${until}, or remove the agent: entry of fleet-state/status/${host}.yaml`;
  return `host ${host} is held by another fleetwave agent, ${where}, last seen ${holding.updatedAt}; this agent (instance ${self.instance}) does nothing and commits nothing: ${next}`;
}

/** Reads the holder from a status file's text; an unreadable file holds nothing. */
export function holdingOf(text: string | undefined): Holding | undefined {
  if (!text) return undefined;
  try {
    const value = parse(text) as Partial<HostStatus> | null;
    const claim = value?.agent;
    if (!claim || typeof claim.instance !== "string" || typeof value.updatedAt !== "string") return undefined;
    return { claim, updatedAt: value.updatedAt };
  } catch {
    return undefined;
  }
}

/** The guard a Workspace runs on every fetched status file of `host`: a reason to refuse, or none. */
export function hostGuard(
  host: string,
  self: AgentClaim,
  now: () => Date,
): (text: string | undefined) => Promise<string | undefined> {
  // The guard sees the same text on every fetch and push until the status changes: parsing 200
  // bots' status each time was a tenth of an idle tick's CPU.
  let last: { text: string; holding: Holding | undefined } | undefined;
  return async (text) => {
    if (text !== undefined && last?.text !== text) last = { text, holding: holdingOf(text) };
    const holding = text === undefined ? undefined : last?.holding;
    if (!holding) return undefined;
    const runs =
      holding.claim.machine === self.machine && holding.claim.instance !== self.instance
        ? (await liveHolder(holding.claim.dataDir)) !== undefined
        : false;
    return heldByOther(holding, self, now(), runs) ? heldMessage(host, holding, self) : undefined;
  };
}
