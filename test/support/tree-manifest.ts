/**
 * A directory tree with every kind of entry a volume restore can get wrong, and a manifest of a tree that
 * two trees can be compared by: path, type, mode, uid, gid, size, sha256 of content, symlink target,
 * hardlink group, xattrs, and the root directory's own mode and owner.
 */
import { spawnSync } from "node:child_process";
import { createCipheriv, createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import {
  chmod,
  chown,
  link,
  lstat,
  mkdir,
  open,
  readdir,
  readlink,
  rm,
  symlink,
  writeFile,
} from "node:fs/promises";
import { join } from "node:path";

/** Deterministic pseudo-random bytes: AES-128-CTR keystream keyed by the seed (fast, and not zeros). */
export function seededBytes(seed: string, length: number, offset = 0): Buffer {
  const key = createHash("sha256").update(seed).digest().subarray(0, 16);
  const iv = Buffer.alloc(16);
  // CTR counter = block index, so a window at `offset` (a multiple of 16) is the same bytes every time.
  iv.writeBigUInt64BE(BigInt(offset / 16), 8);
  const cipher = createCipheriv("aes-128-ctr", key, iv);
  return Buffer.concat([cipher.update(Buffer.alloc(length)), cipher.final()]);
}

/** Writes `length` seeded bytes to a file in 4 MiB pieces. */
export async function writeSeededFile(path: string, seed: string, length: number): Promise<void> {
  const piece = 4 << 20;
  const handle = await open(path, "w");
  try {
    for (let offset = 0; offset < length; offset += piece) {
      await handle.write(seededBytes(seed, Math.min(piece, length - offset), offset));
    }
  } finally {
    await handle.close();
  }
}

/** Debian's python3 first: a version manager's shim on PATH can take seconds to start. */
let python: string | undefined | null = null;
function findPython(): string | undefined {
  if (python !== null) return python;
  const ok = (cmd: string) =>
    spawnSync(cmd, ["-c", "import os; os.setxattr"], { stdio: "ignore" }).status === 0;
  python = ["/usr/bin/python3", "python3"].find(ok);
  return python;
}

let setfattr: boolean | null = null;
function hasSetfattr(): boolean {
  setfattr ??= spawnSync("setfattr", ["--version"], { stdio: "ignore" }).status === 0;
  return setfattr;
}

/** Sets a user xattr; false when neither setfattr nor python3 is there or the filesystem refuses. */
export function trySetXattr(path: string, name: string, value: string): boolean {
  if (hasSetfattr()) return spawnSync("setfattr", ["-n", name, "-v", value, path]).status === 0;
  const py = findPython();
  if (!py) return false;
  const script = "import os,sys; os.setxattr(sys.argv[1], sys.argv[2], sys.argv[3].encode())";
  return spawnSync(py, ["-c", script, path, name, value]).status === 0;
}

/** Every xattr (name → value as text) of each path, not following symlinks (python3). */
function readXattrs(paths: string[]): Array<Record<string, string>> {
  const py = findPython();
  if (!py) throw new Error("treeManifest({ xattrs: true }) needs python3 to read xattrs");
  const script = [
    "import os,sys,json",
    "out=[]",
    "for p in json.load(sys.stdin):",
    "  try: names=sorted(os.listxattr(p, follow_symlinks=False))",
    "  except OSError: names=[]",
    "  out.append({n: os.getxattr(p, n, follow_symlinks=False).decode('utf-8','backslashreplace') for n in names})",
    "json.dump(out, sys.stdout)",
  ].join("\n");
  const result = spawnSync(py, ["-c", script], { input: JSON.stringify(paths), maxBuffer: 1 << 28 });
  if (result.status !== 0) throw new Error(`cannot read xattrs with ${py}: ${result.stderr}`);
  return JSON.parse(result.stdout.toString("utf8")) as Array<Record<string, string>>;
}

export interface TrickyTree {
  /** Whether the xattr entry (`xattr.txt` with user.fleetwave=1) could be made on this filesystem. */
  xattr: boolean;
}

export const TRICKY_ROOT_MODE = 0o750;
export const TRICKY_UID = 1234;

/**
 * Fills `dir` (which must exist and be empty) with: nested directories, an empty directory, a 0600 file
 * owned by 1234:1234, a 0755 script, a relative symlink, a dangling symlink, a hardlink pair, `.hidden`, a
 * name with a space and non-ASCII letters, a 0700 directory owned by 1234, a sparse file, a 3 MiB file of
 * seeded bytes, and (when the filesystem takes it) a file with the xattr `user.fleetwave=1`. The root
 * itself gets mode 0750 and owner 1234:1234. Everything but the xattr is mandatory: failures throw.
 */
export async function createTrickyTree(dir: string): Promise<TrickyTree> {
  await mkdir(join(dir, "nested/deeper/deepest"), { recursive: true });
  await writeFile(join(dir, "nested/deeper/deepest/file.txt"), "deep content\n");
  await writeFile(join(dir, "nested/top.txt"), "top\n");
  await mkdir(join(dir, "empty"));

  await writeFile(join(dir, "secret"), "only for uid 1234\n");
  await chown(join(dir, "secret"), TRICKY_UID, TRICKY_UID);
  await chmod(join(dir, "secret"), 0o600);

  await writeFile(join(dir, "run.sh"), "#!/bin/sh\necho hi\n");
  await chmod(join(dir, "run.sh"), 0o755);

  await mkdir(join(dir, "private"));
  await writeFile(join(dir, "private/key"), "k\n");
  await chown(join(dir, "private/key"), TRICKY_UID, 100);
  await chown(join(dir, "private"), TRICKY_UID, TRICKY_UID);
  await chmod(join(dir, "private"), 0o700);

  await symlink("deeper/deepest/file.txt", join(dir, "nested/link-to-file"));
  await symlink("does/not/exist", join(dir, "dangling"));

  await writeFile(join(dir, "hard-a"), "two names, one inode\n");
  await link(join(dir, "hard-a"), join(dir, "nested/hard-b"));

  await writeFile(join(dir, ".hidden"), "dotfile\n");
  await writeFile(join(dir, "with space ünïcødé ✓.txt"), "unicode\n");

  const sparse = await open(join(dir, "sparse.bin"), "w");
  try {
    await sparse.write(seededBytes("sparse", 4096), 0, 4096, 6 << 20);
    await sparse.truncate(8 << 20);
  } finally {
    await sparse.close();
  }

  await writeSeededFile(join(dir, "big.bin"), "big", 3 << 20);

  await writeFile(join(dir, "xattr.txt"), "has an xattr\n");
  const xattr = trySetXattr(join(dir, "xattr.txt"), "user.fleetwave", "1");

  await chown(dir, TRICKY_UID, TRICKY_UID);
  await chmod(dir, TRICKY_ROOT_MODE);
  return { xattr };
}

/**
 * What a failed version might do to a volume: dotfiles `.a` and `..b`, a new directory, changed modes and
 * owners, deleted files, a hardlink replaced by a copy, a retargeted symlink, a truncated file.
 */
export async function vandalizeTree(dir: string): Promise<void> {
  await writeFile(join(dir, ".a"), "left by the corrupt version\n");
  await writeFile(join(dir, "..b"), "also left by the corrupt version\n");
  await mkdir(join(dir, "new-dir/inside"), { recursive: true });
  await writeFile(join(dir, "new-dir/inside/x"), "x\n");
  await chmod(join(dir, "secret"), 0o644);
  await chown(join(dir, "run.sh"), 42, 42);
  await rm(join(dir, "nested/deeper"), { recursive: true });
  await rm(join(dir, "empty"), { recursive: true });
  await rm(join(dir, "nested/hard-b"));
  await writeFile(join(dir, "nested/hard-b"), "two names, one inode\n");
  await rm(join(dir, "dangling"));
  await symlink("elsewhere", join(dir, "dangling"));
  await writeFile(join(dir, "big.bin"), "truncated");
  await chmod(dir, 0o777);
  await chown(dir, 0, 0);
}

export type EntryType = "file" | "dir" | "symlink" | "fifo" | "socket" | "char" | "block";

export interface TreeEntry {
  /** Relative to the root, `/`-separated. */
  path: string;
  type: EntryType;
  /** Permission bits including setuid/setgid/sticky (mode & 0o7777). */
  mode: number;
  uid: number;
  gid: number;
  /** Regular files only; 0 for everything else (directory sizes differ between filesystems). */
  size: number;
  sha256: string | null;
  /** Symlinks only. */
  target: string | null;
  /** For files with several links inside the tree: the first path (sorted) of the group; else null. */
  hardlinkGroup: string | null;
  /** Present when treeManifest was asked for xattrs. */
  xattrs?: Record<string, string>;
}

export interface TreeManifest {
  root: { mode: number; uid: number; gid: number; xattrs?: Record<string, string> };
  entries: TreeEntry[];
}

function typeOf(stat: Awaited<ReturnType<typeof lstat>>): EntryType {
  if (stat.isFile()) return "file";
  if (stat.isDirectory()) return "dir";
  if (stat.isSymbolicLink()) return "symlink";
  if (stat.isFIFO()) return "fifo";
  if (stat.isSocket()) return "socket";
  if (stat.isCharacterDevice()) return "char";
  return "block";
}

async function sha256Of(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/**
 * The manifest of every entry under `dir` (not following symlinks), sorted by path. With
 * `{ xattrs: true }` each entry and the root also carry their xattrs (needs python3).
 */
export async function treeManifest(dir: string, options: { xattrs?: boolean } = {}): Promise<TreeManifest> {
  const raw: Array<{ path: string; stat: Awaited<ReturnType<typeof lstat>> }> = [];
  const walk = async (rel: string): Promise<void> => {
    const names = (await readdir(join(dir, rel))).sort();
    for (const name of names) {
      const path = rel === "" ? name : `${rel}/${name}`;
      const stat = await lstat(join(dir, path));
      raw.push({ path, stat });
      if (stat.isDirectory()) await walk(path);
    }
  };
  await walk("");
  raw.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));

  const groups = new Map<string, string>();
  const entries: TreeEntry[] = [];
  for (const { path, stat } of raw) {
    const type = typeOf(stat);
    let hardlinkGroup: string | null = null;
    if (type === "file" && stat.nlink > 1) {
      const key = `${stat.dev}:${stat.ino}`;
      if (!groups.has(key)) groups.set(key, path);
      hardlinkGroup = groups.get(key)!;
    }
    entries.push({
      path,
      type,
      mode: Number(stat.mode) & 0o7777,
      uid: Number(stat.uid),
      gid: Number(stat.gid),
      size: type === "file" ? Number(stat.size) : 0,
      sha256: type === "file" ? await sha256Of(join(dir, path)) : null,
      target: type === "symlink" ? await readlink(join(dir, path)) : null,
      hardlinkGroup,
    });
  }
  // A group of one inside the tree (the other link is outside it) is not a hardlink pair here.
  const groupSizes = new Map<string, number>();
  for (const e of entries)
    if (e.hardlinkGroup) groupSizes.set(e.hardlinkGroup, (groupSizes.get(e.hardlinkGroup) ?? 0) + 1);
  for (const e of entries)
    if (e.hardlinkGroup && groupSizes.get(e.hardlinkGroup) === 1) e.hardlinkGroup = null;

  const rootStat = await lstat(dir);
  const root: TreeManifest["root"] = {
    mode: Number(rootStat.mode) & 0o7777,
    uid: Number(rootStat.uid),
    gid: Number(rootStat.gid),
  };
  if (options.xattrs) {
    const all = readXattrs([dir, ...entries.map((e) => join(dir, e.path))]);
    root.xattrs = all[0]!;
    entries.forEach((e, i) => {
      e.xattrs = all[i + 1]!;
    });
  }
  return { root, entries };
}
