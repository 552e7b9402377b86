/**
 * Per-host status refs: every agent keeps its status file and its audit commits on its own branch
 * `fleetwave/status/<host>`, which only it writes, so its pushes never race another host's. Each
 * commit on such a branch holds one file, `fleet-state/status/<host>.yaml`, a full snapshot of the
 * host's status; `main` keeps desired state, plans and control edits.
 *
 * The commits are made with plumbing (a private index, write-tree, commit-tree): the agent's
 * working tree stays a checkout of `main`.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type GitOptions, git, gitValue, tryGit } from "./git.ts";

/** The branch of a host's status, below refs/heads/. */
export const STATUS_BRANCH_PREFIX = "fleetwave/status/";

export const statusBranch = (host: string): string => `${STATUS_BRANCH_PREFIX}${host}`;

export const statusFilePath = (host: string): string => `fleet-state/status/${host}.yaml`;

/** The refspec that brings every host's status branch to `localPrefix<host>` in one fetch. */
export const statusRefspec = (localPrefix: string): string =>
  `+refs/heads/${STATUS_BRANCH_PREFIX}*:${localPrefix}*`;

/** One host's status as its ref holds it. */
export interface StatusAtRef {
  host: string;
  /** The commit the ref points at. */
  commit: string;
  /** The blob of the status file, to tell an unchanged file without parsing it. */
  blob: string;
  text: string;
}

/** `ref -> commit` for every ref under the prefixes (e.g. `refs/remotes/origin/fleetwave/status/`). */
export async function listRefs(
  options: GitOptions,
  prefixes: readonly string[],
): Promise<Map<string, string>> {
  const out = await git(["for-each-ref", "--format=%(objectname) %(refname)", ...prefixes], options);
  const refs = new Map<string, string>();
  for (const line of out.stdout.split("\n")) {
    const [sha, ref] = line.trim().split(" ");
    if (sha && ref) refs.set(ref, sha);
  }
  return refs;
}

/**
 * Status texts already read, by host and commit: a status commit never changes, so a tick whose
 * refs did not move reads no blob again (the cost that grows with the fleet).
 */
export class StatusTextCache {
  private readonly entries = new Map<string, StatusAtRef>();

  get(host: string, commit: string): StatusAtRef | undefined {
    return this.entries.get(`${host} ${commit}`);
  }

  set(entry: StatusAtRef): void {
    this.entries.set(`${entry.host} ${entry.commit}`, entry);
  }

  /** Forgets the commits no ref points at any more, once there are clearly more than the live ones. */
  retain(live: ReadonlySet<string>): void {
    if (this.entries.size <= 2 * live.size + 16) return;
    for (const key of this.entries.keys()) if (!live.has(key)) this.entries.delete(key);
  }
}

/**
 * Reads the status file of every host whose status ref sits under one of `prefixes` (a ref's last
 * path component is the host; a prefix may also be one full ref). Later prefixes win for the same
 * host, so a writer lists the fetched refs first and its own local ref last. One `for-each-ref`
 * (none when `refs`, the clone's RefCache, already knows them) and, for the commits `cache` does
 * not know yet, one `cat-file --batch`, whatever the number of hosts.
 */
export async function readStatusRefs(
  options: GitOptions,
  prefixes: readonly string[],
  cache = new StatusTextCache(),
  refs: { list(prefixes: readonly string[]): Promise<Map<string, string>> } = {
    list: (p) => listRefs(options, p),
  },
): Promise<Map<string, StatusAtRef>> {
  const listed = await refs.list(prefixes);
  const found = new Map<string, string>();
  for (const prefix of prefixes)
    for (const [ref, commit] of listed)
      if (ref === prefix || (prefix.endsWith("/") && ref.startsWith(prefix)))
        found.set(ref.slice(ref.lastIndexOf("/") + 1), commit);
  const result = new Map<string, StatusAtRef>();
  const unread = [...found].filter(([host, commit]) => {
    const known = cache.get(host, commit);
    if (known) result.set(host, known);
    return !known;
  });
  if (unread.length > 0) {
    const objects = await catFileBatch(
      options.cwd,
      unread.map(([host, commit]) => `${commit}:${statusFilePath(host)}`),
    );
    unread.forEach(([host, commit], i) => {
      const object = objects[i];
      if (!object) return;
      const entry = { host, commit, blob: object.oid, text: object.text };
      cache.set(entry);
      result.set(host, entry);
    });
  }
  cache.retain(new Set([...found].map(([host, commit]) => `${host} ${commit}`)));
  return new Map([...found.keys()].filter((h) => result.has(h)).map((h) => [h, result.get(h)!]));
}

/** The text of each `rev:path` (undefined when it does not exist), through one git process. */
export function catFileBatch(
  cwd: string,
  specs: readonly string[],
): Promise<({ oid: string; text: string } | undefined)[]> {
  return new Promise((resolve, reject) => {
    const child = spawn("git", ["cat-file", "--batch"], {
      cwd,
      env: { ...process.env, GIT_TERMINAL_PROMPT: "0", LC_ALL: "C" },
      stdio: ["pipe", "pipe", "pipe"],
    });
    const chunks: Buffer[] = [];
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => chunks.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8");
    });
    child.on("error", reject);
    child.on("close", (code) => {
      if (code !== 0) {
        reject(new Error(`git cat-file --batch failed (exit ${code}): ${stderr.trim()}`));
        return;
      }
      resolve(parseBatch(Buffer.concat(chunks), specs.length));
    });
    child.stdin.end(specs.map((s) => `${s}\n`).join(""));
  });
}

/** Parses `git cat-file --batch` output: `<oid> <type> <size>\n<content>\n` or `<spec> missing\n`. */
export function parseBatch(out: Buffer, count: number): ({ oid: string; text: string } | undefined)[] {
  const result: ({ oid: string; text: string } | undefined)[] = [];
  let at = 0;
  while (result.length < count && at < out.length) {
    const eol = out.indexOf(0x0a, at);
    if (eol < 0) break;
    const header = out.subarray(at, eol).toString("utf8");
    at = eol + 1;
    const match = /^([0-9a-f]{40,64}) (\w+) (\d+)$/.exec(header);
    if (!match) {
      result.push(undefined);
      continue;
    }
    const size = Number(match[3]);
    const text = out.subarray(at, at + size).toString("utf8");
    at += size + 1;
    result.push(match[2] === "blob" ? { oid: match[1]!, text } : undefined);
  }
  while (result.length < count) result.push(undefined);
  return result;
}

/** Author of a status commit; the committer is the clone's configured identity. */
export interface StatusAuthor {
  name: string;
  email: string;
  /** ISO date; default now. */
  date?: string;
}

/**
 * Makes a commit whose tree is exactly `fleet-state/status/<host>.yaml` = `text`, on top of
 * `parent` (a root commit without one), and returns its sha. The ref is not moved.
 */
export async function commitStatusSnapshot(
  options: GitOptions,
  o: { host: string; text: string; message: string; parent?: string; author: StatusAuthor },
): Promise<string> {
  return await withScratchDir(async (dir) => {
    const file = join(dir, "status.yaml");
    const messageFile = join(dir, "message");
    await writeFile(file, o.text);
    await writeFile(messageFile, o.message);
    const blob = await gitValue(["hash-object", "-w", "--", file], options);
    return await commitTree(options, {
      index: join(dir, "index"),
      blob,
      path: statusFilePath(o.host),
      messageFile,
      author: o.author,
      ...(o.parent ? { parent: o.parent } : {}),
    });
  });
}

/**
 * Runs `fn` with a fresh directory of its own, removed afterwards. The private index and the
 * message files live there and not at a fixed path in the git dir: an agent killed while git
 * held `<index>.lock` would otherwise leave a lock that fails every later status commit, and two
 * commits at once in one clone would take each other's lock.
 */
async function withScratchDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), "fleetwave-status-"));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function commitTree(
  options: GitOptions,
  o: {
    index: string;
    blob: string;
    path: string;
    messageFile: string;
    parent?: string;
    author: StatusAuthor;
  },
): Promise<string> {
  const indexEnv = { ...options, env: { ...options.env, GIT_INDEX_FILE: o.index } };
  await git(["update-index", "--add", "--cacheinfo", `100644,${o.blob},${o.path}`], indexEnv);
  const tree = await gitValue(["write-tree"], indexEnv);
  const authorEnv = {
    ...options,
    env: {
      ...options.env,
      GIT_AUTHOR_NAME: o.author.name,
      GIT_AUTHOR_EMAIL: o.author.email,
      ...(o.author.date ? { GIT_AUTHOR_DATE: o.author.date } : {}),
    },
  };
  const parents = o.parent ? ["-p", o.parent] : [];
  // commit-tree is plumbing and ignores commit.gpgsign: a clone set up to sign (--signing-key)
  // signs its status commits too, or agents with --verify-commits would not read them.
  const signed = await git(["config", "--bool", "commit.gpgsign"], options).then(
    (out) => out.stdout.trim() === "true",
    () => false,
  );
  const args = ["commit-tree", tree, ...parents, ...(signed ? ["-S"] : []), "-F", o.messageFile];
  return await gitValue(args, authorEnv);
}

/**
 * Re-creates `commits` (oldest first) on top of `onto` (or as a new root), each with its own
 * tree, message and author: a status commit is a full snapshot of one file, so replaying it can
 * never conflict, and the newest snapshot wins. Returns the new tip.
 */
export async function replayStatusCommits(
  options: GitOptions,
  commits: readonly string[],
  onto: string | undefined,
): Promise<string | undefined> {
  let tip = onto;
  await withScratchDir(async (dir) => {
    const messageFile = join(dir, "message");
    for (const sha of commits) {
      const info = (await git(["log", "-1", "--format=%T%x1f%an%x1f%ae%x1f%aI", sha], options)).stdout.trim();
      const [tree = "", name = "", email = "", date = ""] = info.split("\x1f");
      await writeFile(messageFile, (await git(["log", "-1", "--format=%B", sha], options)).stdout);
      const env = {
        ...options,
        env: { ...options.env, GIT_AUTHOR_NAME: name, GIT_AUTHOR_EMAIL: email, GIT_AUTHOR_DATE: date },
      };
      const parents = tip ? ["-p", tip] : [];
      tip = await gitValue(["commit-tree", tree, ...parents, "-F", messageFile], env);
    }
  });
  return tip;
}

/** Resolves a ref to a commit, or undefined when it does not exist. */
export async function resolveRef(options: GitOptions, ref: string): Promise<string | undefined> {
  const out = await tryGit(["rev-parse", "--verify", "--quiet", `${ref}^{commit}`], options);
  return out.code === 0 ? out.stdout.trim() : undefined;
}

/** Commits of `tip` that neither `base` nor `fetched` has, oldest first. */
export async function unpushedOf(
  options: GitOptions,
  tip: string,
  exclude: readonly (string | undefined)[],
): Promise<string[]> {
  // The usual case, a branch with nothing unpushed: no git process to learn it.
  if (exclude.includes(tip)) return [];
  const out = await git(
    ["rev-list", "--reverse", tip, ...exclude.filter((e): e is string => !!e).map((e) => `^${e}`)],
    options,
  );
  return out.stdout.split("\n").filter(Boolean);
}

/**
 * Every host's status (host -> text) from the status refs of the repository that holds `dir`:
 * in a checkout the remote-tracking refs `git fetch` writes (they win over local branches of the
 * same name, which only a person makes), in a bare remote its branches. Empty outside git.
 */
export async function checkoutStatusFiles(dir: string): Promise<Map<string, string>> {
  const inside = await tryGit(["rev-parse", "--git-dir"], { cwd: dir }).catch(() => undefined);
  if (inside?.code !== 0) return new Map();
  const refs = await readStatusRefs({ cwd: dir }, [
    `refs/heads/${STATUS_BRANCH_PREFIX}`,
    `refs/remotes/origin/${STATUS_BRANCH_PREFIX}`,
  ]);
  return new Map([...refs].map(([host, r]) => [host, r.text]));
}

/**
 * Brings every host's status ref into a checkout (`origin/fleetwave/status/<host>`), e.g. in CI
 * where the checkout has the one branch it builds. Returns git's error instead of throwing.
 */
export async function fetchStatusRefs(cwd: string): Promise<string | undefined> {
  const result = await tryGit(
    [
      "fetch",
      "--quiet",
      "--no-tags",
      "--prune",
      "origin",
      statusRefspec(`refs/remotes/origin/${STATUS_BRANCH_PREFIX}`),
    ],
    { cwd },
  ).catch((error: Error) => ({ code: -1, stdout: "", stderr: error.message }));
  return result.code === 0 ? undefined : (result.stderr || result.stdout).trim() || `exit ${result.code}`;
}
