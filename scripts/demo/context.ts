/** What every step of the demo shares: its options, the images it built and the running pieces. */
import type { WriteStream } from "node:fs";
import type Docker from "dockerode";
import type { Agent } from "#fleetwave/agent/agent.ts";
import type { ServerHandle } from "#fleetwave/http/index.ts";
import type { TestImage } from "../local-env/bot-image.ts";
import type { DemoTenant } from "./fleet.ts";
import { type Narrator, shortDigest } from "./narrate.ts";
import type { Workspace } from "./workspace.ts";

export const TOKEN = "demo-token-0123456789";
export const NOTES = "notes.txt";

export interface DemoOptions {
  dir: string;
  /** Keep the agent and dashboard running until Ctrl-C. */
  serve: boolean;
  /** Print the agent's log lines as they happen (they always go to <dir>/agent.log). */
  verbose: boolean;
  out: (line: string) => void;
  err: (line: string) => void;
}

export interface Images {
  repository: string;
  /** The channel every bot follows: `<registry>/demo/paperclip:managed`. */
  channel: string;
  v100: TestImage;
  v110: TestImage;
  v120: TestImage;
}

export interface Ctx {
  o: DemoOptions;
  say: Narrator;
  ws: Workspace;
  docker: Docker;
  images: Images;
  tenants: DemoTenant[];
  agent?: Agent;
  server?: ServerHandle;
  logFile?: WriteStream;
}

/** `v1.1.0` for a digest the demo built, the short digest otherwise. */
export function versionOf(images: Images, digest: string | null | undefined): string {
  for (const image of [images.v100, images.v110, images.v120])
    if (image.digest === digest) return `v${image.version}`;
  return shortDigest(digest);
}

export const allBots = (tenants: DemoTenant[]) => tenants.flatMap((t) => t.bots);
