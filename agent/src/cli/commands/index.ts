/**
 * The command table. Each entry names its module and loads it only when that command runs, so
 * `fleetwave validate` never loads dockerode, octokit, hono or nodemailer: start-up time and
 * memory follow what the command uses. main.test.ts checks that every entry's name and summary
 * match the module's own.
 */
import type { Command } from "../command.ts";

export interface CommandEntry {
  name: string;
  summary: string;
  load: () => Promise<Command>;
}

export const commands: readonly CommandEntry[] = [
  {
    name: "init",
    summary: "write a new fleet repository: fleet.yaml, schemas, workflows, hosted-mode rules",
    load: async () => (await import("./init.ts")).initCommand,
  },
  {
    name: "import",
    summary: "write tenant files for the containers already running on a Docker host",
    load: async () => (await import("./import.ts")).importCommand,
  },
  {
    name: "validate",
    summary: "check fleet-state/ against the schemas and the cross-file rules",
    load: async () => (await import("./validate.ts")).validateCommand,
  },
  {
    name: "schema",
    summary: "write the JSON Schemas of the fleet-state files (for editors)",
    load: async () => (await import("./schema.ts")).schemaCommand,
  },
  {
    name: "plan",
    summary: "compute a rollout plan for an image digest and write fleet-state/rollouts/<id>.yaml",
    load: async () => (await import("./plan.ts")).planCommand,
  },
  {
    name: "changelog",
    summary: "write the internal (markdown) and user-facing (JSON) changelogs of an upstream range",
    load: async () => (await import("./changelog.ts")).changelogCommand,
  },
  {
    name: "sync-upstream",
    summary: "nightly sync of the fork with upstream: sync branch, changelogs, guard scan, PR",
    load: async () => (await import("./sync-upstream.ts")).syncUpstreamCommand,
  },
  {
    name: "agent",
    summary: "run the on-host agent: pull desired state, update this host's bots, commit results",
    load: async () => (await import("./agent.ts")).agentCommand,
  },
  {
    name: "status",
    summary: "what runs where: from an agent's API, or from the status files in fleet-state/",
    load: async () => (await import("./status.ts")).statusCommand,
  },
  {
    name: "history",
    summary: "the audit table of every update and control action, read from the git log's trailers",
    load: async () => (await import("./history.ts")).historyCommand,
  },
  {
    name: "rollback",
    summary: "pin one bot back to a digest it ran before (from the audit history), as a commit",
    load: async () => (await import("./rollback.ts")).rollbackCommand,
  },
  {
    name: "quarantine",
    summary: "list quarantined digests, or lift one so it may be planned again (as a commit)",
    load: async () => (await import("./quarantine.ts")).quarantineCommand,
  },
  {
    name: "snapshots",
    summary: "list, restore or prune the volume snapshots in an agent's data dir",
    load: async () => (await import("./snapshots.ts")).snapshotsCommand,
  },
  {
    name: "images",
    summary: "show or remove the old images of the bots' repositories on this host",
    load: async () => (await import("./images.ts")).imagesCommand,
  },
  {
    name: "demo",
    summary: "the whole pipeline on this machine: local registry and git remote, updates, a rollback",
    load: async () => (await import("./demo.ts")).demoCommand,
  },
];
