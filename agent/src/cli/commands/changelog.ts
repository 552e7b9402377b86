import { resolve } from "node:path";
import { z } from "zod";
import { FleetwaveError } from "#fleetwave/errors.ts";
import { Git } from "#fleetwave/git/git.ts";
import { toUserFacing } from "#scripts/changelog/build.ts";
import { DEFAULT_HOSTED_MODE_FILE, loadHostedModeConfig } from "#scripts/changelog/exclusions.ts";
import {
  calendarDate,
  readLatestUserFacing,
  serializeUserFacing,
  utcToday,
} from "#scripts/changelog/files.ts";
import { generateChangelog } from "#scripts/changelog/generate.ts";
import { type Command, parseFlags } from "../command.ts";

const usage = `Usage: fleetwave changelog [--repo PATH] [--from REF] [--to REF] [--out DIR] [--date YYYY-MM-DD]
                           [--config FILE] [--dry-run]

Writes the changelogs of the upstream commits in FROM..TO:
  <out>/internal/DATE.md          every commit by type, with sha, scope and author (developers)
  <out>/user-facing/DATE.json     New / Improved / Fixed in plain sentences, hosted-mode topics removed
  <out>/user-facing/latest.json   a copy of the newest dated file

Flags:
  --repo PATH      the fork's clone (default: current directory)
  --from REF       exclusive start (default: range.to of <out>/user-facing/latest.json, i.e. the
                   upstream commit the previous sync brought in)
  --to REF         inclusive end (default: upstream/main when that ref exists, else HEAD)
  --out DIR        output directory (default: <repo>/changelogs)
  --date DATE      the day in file names and the JSON (default: today, UTC)
  --config FILE    hosted-mode exclusions (default: <repo>/${DEFAULT_HOSTED_MODE_FILE}, optional)
  --dry-run        print both views instead of writing files

Exit codes: 0 written, 1 bad input or git failure.`;

const schema = z.strictObject({
  repo: z.string().min(1).optional(),
  from: z.string().min(1).optional(),
  to: z.string().min(1).optional(),
  out: z.string().min(1).optional(),
  date: calendarDate.optional(),
  config: z.string().min(1).optional(),
  "dry-run": z.boolean().optional(),
});

export const changelogCommand: Command = {
  name: "changelog",
  summary: "write the internal (markdown) and user-facing (JSON) changelogs of an upstream range",
  usage,
  async run(argv, io) {
    const { flags } = parseFlags(argv, schema);
    const repo = resolve(io.cwd, flags.repo ?? ".");
    const git = new Git(repo);
    const top = await git.tryRun(["rev-parse", "--show-toplevel"]);
    if (top.code !== 0) throw new FleetwaveError(`${repo} is not a git work tree`);
    const root = top.stdout.trim();
    const out = resolve(io.cwd, flags.out ?? resolve(root, "changelogs"));
    const config = await loadHostedModeConfig(
      resolve(flags.config ? io.cwd : root, flags.config ?? DEFAULT_HOSTED_MODE_FILE),
      flags.config !== undefined,
    );

    let fromRef = flags.from;
    if (fromRef === undefined) {
      const latest = await readLatestUserFacing(out);
      if (!latest) {
        throw new FleetwaveError(`no previous changelog in ${out}/user-facing/latest.json; pass --from REF`);
      }
      fromRef = latest.range.to;
    }
    const toRef = flags.to ?? ((await git.resolve("refs/remotes/upstream/main")) ? "upstream/main" : "HEAD");
    const from = await git.resolve(fromRef);
    if (!from) throw new FleetwaveError(`--from: unknown revision "${fromRef}" in ${root}`);
    const to = await git.resolve(toRef);
    if (!to) throw new FleetwaveError(`--to: unknown revision "${toRef}" in ${root}`);

    const generated = await generateChangelog({
      git,
      from,
      to,
      date: flags.date ?? utcToday(),
      config,
      outDir: flags["dry-run"] ? null : out,
    });
    const { changelog } = generated;
    if (flags["dry-run"]) {
      io.out(generated.internalMarkdown);
      io.out(serializeUserFacing(toUserFacing(changelog)).trimEnd());
      return 0;
    }
    const files = generated.files!;
    const shown = generated.userFacing.sections.reduce((n, s) => n + s.items.length, 0);
    io.out(
      `${changelog.total} commits in ${from.slice(0, 7)}..${to.slice(0, 7)}: ${changelog.entries.length} listed, ` +
        `${changelog.dropped.length} dropped, ${shown} shown to users`,
    );
    io.out(`wrote ${files.internal}`);
    io.out(`wrote ${files.userFacing}`);
    io.out(`wrote ${files.latest}`);
    return 0;
  },
};
