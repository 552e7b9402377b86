import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { stringify } from "yaml";
import { z } from "zod";
import { LABEL_MANAGED } from "#fleetwave/docker/container-spec.ts";
import { DockerAdapter, dockerFromEnv } from "#fleetwave/docker/docker.ts";
import { FleetwaveError } from "#fleetwave/errors.ts";
import { type ImportResult, importContainer, tenantIdFor } from "#fleetwave/init/import-spec.ts";
import { loadFleetState } from "#fleetwave/model/load.ts";
import { hostId, tenantId } from "#fleetwave/model/primitives.ts";
import { formatProblem } from "#fleetwave/model/problems.ts";
import { type Command, parseFlags } from "../command.ts";
import { resolveStateDir } from "../state-dir.ts";

const flagsSchema = z.strictObject({
  host: z.string({ message: "required: the host id of this host's agent, e.g. --host host-a" }).pipe(hostId),
  filter: z
    .string()
    .regex(/^(label|name)=.+$/, { message: 'must be "label=KEY[=VALUE]" or "name=NAME"' })
    .optional(),
  tenant: tenantId.optional(),
  state: z.string().optional(),
  force: z.boolean().default(false),
});

export class ImportError extends FleetwaveError {
  override name = "ImportError";
}

function tenantFile(tenant: string, host: string, results: ImportResult[]): string {
  const lines = [
    "# yaml-language-server: $schema=../schema/tenant.schema.json",
    `# Imported by \`fleetwave import\` from the containers running on ${host}. The agent adopts each`,
    "# bot at the digest it runs (noted below) and keeps it there until the first rollout plan of its",
    "# image; the tenant is manual, so even then nothing updates until someone says so.",
  ];
  for (const { bot, problems, notes } of results) {
    if (problems.length > 0) {
      lines.push(`# ${bot.id}: to review before its first update:`);
      for (const p of problems) lines.push(`#   - ${p}`);
    }
    for (const n of notes) lines.push(`# ${bot.id}: ${n}`);
  }
  const body = stringify(
    { tenant, update: { mode: "manual" }, contacts: [], bots: results.map((r) => r.bot) },
    { lineWidth: 0 },
  );
  return `${lines.join("\n")}\n${body}`;
}

export const importCommand: Command = {
  name: "import",
  summary: "write tenant files for the containers already running on a Docker host",
  usage: `Usage: fleetwave import --host ID [--filter label=KEY[=VALUE]|name=NAME] [--tenant ID]
                        [--state DIR] [--force]

Reads the running containers of the Docker Engine at DOCKER_HOST (those Fleetwave already
manages are left out) and writes fleet-state/tenants/<tenant>.yaml for them: image as
repository:tag, named volumes, env, ports, network, command. The agent keeps each bot on the
digest it runs until the first rollout plan of its image. Env that looks like a secret (TOKEN, KEY, SECRET, PASSWORD, …) is left out with a note;
bind mounts, a restart policy other than unless-stopped, a container-level health check and
whatever else a tenant file cannot say are listed as problems in the file and here. An agent
started for ID adopts the containers as they run: none is recreated.

  --host ID       the host id of this Docker host's agent
  --filter F      only containers matching Docker's filter label=… or name=…
  --tenant ID     put every bot in this one tenant (default: one tenant per container, named after it)
  --state DIR     fleet-state directory (default ./fleet-state)
  --force         overwrite tenant files that exist (without it, nothing is written)

Exit 0 when the written fleet-state is valid, 1 when it needs edits first (printed).`,
  async run(argv, io) {
    const { flags } = parseFlags(argv, flagsSchema);
    const host = flags.host;
    const stateDir = await resolveStateDir(flags.state, io.cwd);
    const before = await loadFleetState(stateDir, io.cwd);
    const declared = new Set(before.ok ? before.state.bots.map((b) => b.id) : []);

    const docker = new DockerAdapter(dockerFromEnv(io.env));
    if (!(await docker.ping())) throw new ImportError("the Docker Engine does not answer; check DOCKER_HOST");
    const filters: Record<string, string[]> = {};
    if (flags.filter) {
      const [kind, ...rest] = flags.filter.split("=");
      filters[kind!] = [rest.join("=")];
    }
    const names = (await docker.listRunning(filters)).sort();
    const byTenant = new Map<string, ImportResult[]>();
    for (const name of names) {
      const info = await docker.inspect(name);
      if (!info || info.Config.Labels?.[LABEL_MANAGED] === "true") continue;
      if (declared.has(name)) {
        io.out(`${name}: already declared in fleet-state; skipped`);
        continue;
      }
      const result = importContainer(info, await docker.inspectImage(info.Image), host);
      const tenant = flags.tenant ?? tenantIdFor(name);
      byTenant.set(tenant, [...(byTenant.get(tenant) ?? []), result]);
    }
    if (byTenant.size === 0) {
      io.out("no running container to import (Fleetwave's own are left out)");
      return 0;
    }

    const dir = join(stateDir, "tenants");
    const paths = [...byTenant.keys()].map((t) => join(dir, `${t}.yaml`));
    const existing = paths.filter((p) => existsSync(p));
    if (existing.length > 0 && !flags.force) {
      throw new ImportError(
        `${existing.map((p) => relative(io.cwd, p)).join(", ")} already exist; nothing was written. Pass --force to overwrite, or --tenant to name another tenant.`,
      );
    }
    await mkdir(dir, { recursive: true });
    let problems = 0;
    for (const [tenant, results] of byTenant) {
      const path = join(dir, `${tenant}.yaml`);
      await writeFile(path, tenantFile(tenant, host, results));
      for (const { bot, problems: p } of results) {
        io.out(`${bot.id}: ${bot.image} -> ${relative(io.cwd, path)}`);
        for (const line of p) io.out(`  problem: ${line}`);
        problems += p.length;
      }
    }
    const after = await loadFleetState(stateDir, io.cwd);
    if (!after.ok) {
      for (const problem of after.problems) io.out(formatProblem(problem));
      const count = [...byTenant.values()].flat().length;
      io.err(`imported ${count} containers, but fleet-state is not valid yet: edit the files above`);
      return 1;
    }
    io.out(
      `imported into ${byTenant.size} tenant file${byTenant.size === 1 ? "" : "s"}; fleet-state is valid` +
        (problems > 0
          ? `; ${problems} problem${problems === 1 ? "" : "s"} to review (comments at the top of each file)`
          : ""),
    );
    return 0;
  },
};
