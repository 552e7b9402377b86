import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join, relative, resolve } from "node:path";
import { z } from "zod";
import { buildInfo } from "#fleetwave/build-info.ts";
import { FleetwaveError, UsageError } from "#fleetwave/errors.ts";
import { tryGit } from "#fleetwave/git/git.ts";
import { type InitOptions, initFiles } from "#fleetwave/init/templates.ts";
import { email, imageRef, splitImageRef } from "#fleetwave/model/primitives.ts";
import { type CliIO, type Command, parseFlags } from "../command.ts";

export class RepositoryExistsError extends FleetwaveError {
  override name = "RepositoryExistsError";
}

const adminsList = z
  .string()
  .transform((text) =>
    text
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s !== ""),
  )
  .pipe(z.array(email));

const flagsSchema = z.strictObject({
  image: imageRef.optional(),
  upstream: z.string().min(1).optional(),
  registry: z
    .string()
    .regex(/^[a-z0-9.-]+(?::\d+)?$/, { message: "must be a registry host, e.g. ghcr.io" })
    .optional(),
  admins: adminsList.optional(),
  package: z.string().min(1).optional(),
  force: z.boolean().default(false),
});

/** Docker's rule: the first path component is a registry when it looks like a host name. */
export function registryOf(image: string): string {
  const { repository } = splitImageRef(image);
  const first = repository.split("/")[0] ?? "";
  return repository.includes("/") && (first.includes(".") || first.includes(":") || first === "localhost")
    ? first
    : "docker.io";
}

/** A missing flag is asked for when a person is at the terminal; otherwise it is a usage error. */
async function options(flags: z.output<typeof flagsSchema>, io: CliIO): Promise<InitOptions> {
  const ask = async <T>(flag: string, question: string, schema: z.ZodType<T>): Promise<T> => {
    if (!io.ask) throw new UsageError(`--${flag} is required (no terminal to ask on)`);
    for (;;) {
      const answer = schema.safeParse((await io.ask(question)).trim());
      if (answer.success) return answer.data;
      io.err(`  ${answer.error.issues[0]?.message ?? "not valid"}`);
    }
  };
  const image =
    flags.image ??
    (await ask("image", "Image the bots follow (repository:tag, e.g. ghcr.io/acme/app:managed): ", imageRef));
  const optional = z.string().transform((s) => (s === "" ? null : s));
  const upstream =
    flags.upstream ??
    (io.ask ? await ask("upstream", "Upstream app's git URL (empty: none): ", optional) : null);
  const admins =
    flags.admins ??
    (io.ask ? await ask("admins", "Admins' emails, comma-separated (empty: none): ", adminsList) : []);
  return {
    image,
    registry: flags.registry ?? registryOf(image),
    upstream,
    admins,
    fleetwavePackage: flags.package ?? `fleetwave@${buildInfo().version}`,
  };
}

export const initCommand: Command = {
  name: "init",
  summary: "write a new fleet repository: fleet.yaml, schemas, workflows, hosted-mode rules",
  usage: `Usage: fleetwave init [DIR] [--image REPO:TAG] [--upstream URL] [--registry HOST]
                      [--admins a@x,b@y] [--package SPEC] [--force]

Writes a minimal, valid fleet repository into DIR (default: the current directory; made a git
repository when it is not one): fleet-state/fleet.yaml with careful defaults, an empty
fleet-state/tenants/, the JSON Schemas, scripts/hosted-mode.yaml, changelogs/README.md and the
workflows build-and-rollout, validate-fleet-state, upstream-sync and ci. Then prints the next
three commands: import the containers a host runs, push, start the agent.

  --image REPO:TAG   the channel the bots follow; the allowlist admits its repository
  --upstream URL     the upstream app's git URL for the nightly sync (else the UPSTREAM_URL variable)
  --registry HOST    where the build pushes the image (default: the image's registry)
  --admins LIST      admins' emails for fleet-wide notifications
  --package SPEC     what the workflows npm install -g (default: fleetwave@<this version>;
                     a release tarball's URL works too)
  --force            overwrite files that exist (without it, nothing is written)

Flags left out are asked for on a terminal; --image is required otherwise.`,
  async run(argv, io) {
    const { flags, positionals } = parseFlags(argv, flagsSchema, true);
    if (positionals.length > 1) throw new UsageError(`one DIR at most, got ${positionals.join(" ")}`);
    const dir = resolve(io.cwd, positionals[0] ?? ".");
    const files = initFiles(await options(flags, io));
    const existing = [...files.keys()].filter((path) => existsSync(join(dir, path)));
    if (existing.length > 0 && !flags.force) {
      throw new RepositoryExistsError(
        `${dir} already has ${existing.join(", ")}; nothing was written. Pass --force to overwrite them.`,
      );
    }
    await mkdir(dir, { recursive: true });
    if ((await tryGit(["rev-parse", "--is-inside-work-tree"], { cwd: dir })).code !== 0) {
      const init = await tryGit(["init", "--quiet", "--initial-branch=main"], { cwd: dir });
      if (init.code !== 0) throw new FleetwaveError(`git init in ${dir} failed: ${init.stderr.trim()}`);
      io.out(`initialised a git repository in ${dir}`);
    }
    for (const [path, text] of files) {
      await mkdir(dirname(join(dir, path)), { recursive: true });
      await writeFile(join(dir, path), text);
    }
    io.out(`wrote ${files.size} files into ${dir}`);
    const shown = relative(io.cwd, dir) || ".";
    const at = shown === "." ? "" : ` -C ${shown}`;
    io.out(`
Next:
  fleetwave import --host HOST --state ${join(shown, "fleet-state")}   # tenant files for the containers running on this Docker host
  git${at} add -A && git${at} commit -m "Fleetwave fleet repository" && git${at} push   # after git remote add origin <url>
  fleetwave agent --repo <url> --host HOST --once   # on that host: adopts the containers, recreates none`);
    return 0;
  },
};
