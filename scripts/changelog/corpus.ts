/**
 * Real-world commit histories for the changelog tests (test/fixtures/changelog/*.jsonl): the
 * subjects and bodies of public projects, oldest first, rebuilt here as a real git repository of
 * empty commits. Also the reviewer's independent notion of a "noise" item, used by the tests and by
 * `measure-noise.ts`. Not imported by production code.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { Git } from "../sync/git.ts";

export const CORPUS_DIR = join(import.meta.dirname, "..", "..", "test", "fixtures", "changelog");

const corpusLine = z.strictObject({ sha: z.string().regex(/^[0-9a-f]{40}$/), message: z.string().min(1) });
export type CorpusCommit = z.output<typeof corpusLine>;

export interface CorpusInfo {
  name: string;
  /** The public repository the messages come from; its pull requests are what `(#123)` means. */
  upstream: string;
  /** The `git log` range the messages were copied from. */
  range: string;
  habits: string;
}

export const CORPORA: readonly CorpusInfo[] = [
  {
    name: "hono",
    upstream: "https://github.com/honojs/hono",
    range: "v4.12.0..v4.13.0",
    habits: "conventional commits, bare version-bump commits, security-advisory merges",
  },
  {
    name: "vite",
    upstream: "https://github.com/vitejs/vite",
    range: "v6.0.0..v6.1.0",
    habits: "conventional-commits monorepo, `release:` commits, renovate dependency updates",
  },
  {
    name: "changesets",
    upstream: "https://github.com/changesets/changesets",
    range: "@changesets/cli@3.0.0-next.3..@changesets/cli@3.0.1",
    habits: "changesets-driven (`Version Packages`), plain sentences, dependabot bumps",
  },
  {
    name: "express",
    upstream: "https://github.com/expressjs/express",
    range: "4.17.0..4.18.0",
    habits: "no conventional commits: `deps:`/`tests:`/`build:` prefixes, bare versions",
  },
];

export async function loadCorpus(name: string): Promise<CorpusCommit[]> {
  const text = await readFile(join(CORPUS_DIR, `${name}.jsonl`), "utf8");
  return text
    .split("\n")
    .filter((line) => line.trim().length > 0)
    .map((line, i) => {
      const parsed = corpusLine.safeParse(JSON.parse(line));
      if (!parsed.success) throw new Error(`${name}.jsonl:${i + 1}: ${parsed.error.issues[0]?.message}`);
      return parsed.data;
    });
}

const EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";
const IDENTITY = "Upstream Developer <upstream@example.invalid>";
const START = 1_767_225_600; // 2026-01-01T00:00:00Z

function commitObject(parent: string | null, message: string, time: number): { sha: string; body: string } {
  const lines = [`tree ${EMPTY_TREE}`];
  if (parent) lines.push(`parent ${parent}`);
  lines.push(`author ${IDENTITY} ${time} +0000`, `committer ${IDENTITY} ${time} +0000`, "", message);
  const body = lines.join("\n");
  const bytes = Buffer.from(body, "utf8");
  const sha = createHash("sha1")
    .update(Buffer.concat([Buffer.from(`commit ${bytes.length}\0`), bytes]))
    .digest("hex");
  return { sha, body };
}

function run(cwd: string, args: string[], input: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn("git", args, { cwd, stdio: ["pipe", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0 ? resolve() : reject(new Error(`git ${args.join(" ")}: exit ${code}: ${stderr}`)),
    );
    child.stdin.end(input);
  });
}

export interface CorpusRepo {
  git: Git;
  /** The commit before the corpus (exclusive start of the changelog range). */
  from: string;
  /** The newest corpus commit. */
  to: string;
  /** Original sha → rebuilt sha. */
  shas: Map<string, string>;
}

/**
 * Builds `dir` as a git repository: a base commit, then one empty commit per corpus message in
 * order (one `git fast-import`, so hundreds of commits take well under a second). A revert's
 * `This reverts commit <sha>` is rewritten to the rebuilt sha, as the original history had it.
 */
export async function buildCorpusRepo(dir: string, commits: readonly CorpusCommit[]): Promise<CorpusRepo> {
  await mkdir(dir, { recursive: true });
  const git = new Git(dir);
  await git.run(["init", "--quiet", "-b", "main"]);
  const shas = new Map<string, string>();
  const rebuilt = (original: string): string | undefined => {
    const prefix = original.toLowerCase();
    if (prefix.length < 7) return undefined;
    for (const [from, to] of shas) if (from.startsWith(prefix)) return to;
    return undefined;
  };
  let stream = "";
  let parent: string | null = null;
  const messages = ["chore: start of the corpus", ...commits.map((c) => c.message)];
  const originals = [null, ...commits.map((c) => c.sha)];
  let from = "";
  for (const [i, text] of messages.entries()) {
    const message = `${text.replace(/This reverts commit ([0-9a-f]{7,40})/g, (all, sha: string) => {
      const to = rebuilt(sha);
      return to ? `This reverts commit ${to}` : all;
    })}\n`;
    const time = START + i * 60;
    const { sha } = commitObject(parent, message, time);
    const data = Buffer.byteLength(message, "utf8");
    stream +=
      `commit refs/heads/main\nmark :${i + 1}\nauthor ${IDENTITY} ${time} +0000\n` +
      `committer ${IDENTITY} ${time} +0000\ndata ${data}\n${message}\n`;
    if (i === 0) from = sha;
    const original = originals[i];
    if (original) shas.set(original, sha);
    parent = sha;
  }
  await run(dir, ["fast-import", "--quiet", "--done"], `${stream}done\n`);
  const head = (await git.run(["rev-parse", "refs/heads/main"])).trim();
  if (head !== parent) throw new Error(`rebuilt history differs from the computed one: ${head} != ${parent}`);
  return { git, from, to: head, shas };
}

export type NoiseKind = "version" | "release" | "dependency" | "merge" | "test";

const VERSION = /^v?\d+\.\d+(?:\.\d+)?(?:[-+][\w.-]+)?$/i;

/**
 * What a reviewer calls noise in a user-facing item, written independently of the classifier
 * (`shapes.ts`): the text of the item alone decides, as when a person reads the changelog.
 */
export function noiseKind(item: string): NoiseKind | null {
  const text = item.replace(/^[^:]{1,40}:\s+/, "");
  for (const candidate of [item, text]) {
    const t = candidate.trim();
    if (VERSION.test(t) || /^(?:@[\w.-]+\/)?[\w.-]+@v?\d+\.\d+/.test(t)) return "version";
    if (
      /^(?:release|version packages|publish|prepare release|exit pre-?release|enter pre-?release)\b/i.test(t)
    )
      return "release";
    if (/^(?:bump|update|upgrade|pin)\s+(?:\S+\s+){0,2}(?:from \S+ )?to v?\d[\w.-]*$/i.test(t))
      return "dependency";
    if (/^(?:bump|update|upgrade|pin)\b.*\b(?:from \S+ to|dependenc(?:y|ies)|deps)\b/i.test(t))
      return "dependency";
    if (/^(?:lock ?file maintenance|update all non-major)/i.test(t)) return "dependency";
    if (/^merge (?:pull request|branch|commit|tag|remote-tracking)\b/i.test(t)) return "merge";
    if (/^tests?\s*[/:]/i.test(t) || /^(?:wip|fixup!|squash!)/i.test(t)) return "test";
  }
  return null;
}
