/**
 * A volume's worth (about 50 MB of data) of every kind of entry a snapshot and restore can get wrong,
 * built once per test file and copied into each trial's volume with `cp -a` (sparse, hardlinks,
 * owners, modes and xattrs kept), so a trial pays a copy, not a build.
 */
import { execFile } from "node:child_process";
import { chmod, chown, link, mkdir, open, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import {
  createTrickyTree,
  seededBytes,
  type TreeManifest,
  treeManifest,
  trySetXattr,
  writeSeededFile,
} from "#test/support/tree-manifest.ts";

const run = promisify(execFile);

export interface TrickyVolume {
  /** The template directory; copy it with `copyTrickyVolume`. */
  dir: string;
  /** Its manifest with xattrs: what every restored volume must equal. */
  manifest: TreeManifest;
  /** Sum of regular file sizes (apparent), counted once per hardlink group. */
  bytes: number;
  /** Whether user xattrs could be set on this filesystem. */
  xattrs: boolean;
}

/** Names a naive `tar`, shell or path join gets wrong. */
const NASTY_NAMES = [
  "line\nbreak",
  "tab\tname",
  "-rf",
  "--help",
  "-",
  "..double-dot",
  "...",
  ".-dot-dash",
  " leading space",
  "trailing space ",
  "back\\slash",
  "quote'\"both",
  "star*question?",
  "emoji 🚀 file",
  "日本語のファイル",
  "e\u0301-combining",
  "x".repeat(255),
];

/**
 * Fills the empty directory `dir` with the tricky tree of test/support/tree-manifest.ts plus: the names
 * above (as files and as directories), a 64-level deep path, absolute, directory and looping symlinks, a
 * hardlink group of three across directories, a 16 MiB sparse file with data islands, setuid, setgid,
 * sticky and mode-000 entries, several owners, xattrs on files and directories, nested empty
 * directories, a thousand small files, and seeded big files up to `bytes` of data in total.
 */
export async function createTrickyVolume(dir: string, bytes = 50 << 20): Promise<TrickyVolume> {
  const base = await createTrickyTree(dir);
  let written = 3 << 20; // big.bin of the base tree; its small files are noise next to it

  await mkdir(join(dir, "names"));
  for (const [i, name] of NASTY_NAMES.entries()) {
    await writeFile(join(dir, "names", name), `${i}: ${JSON.stringify(name)}\n`);
    if (name.length < 200) {
      await mkdir(join(dir, "names", `${name}.d`));
      await writeFile(join(dir, "names", `${name}.d`, name), "inside\n");
    }
  }

  const deep = join(dir, ...Array.from({ length: 64 }, (_, i) => `level-${i}`));
  await mkdir(deep, { recursive: true });
  await writeFile(join(deep, "bottom.txt"), "64 levels down\n");

  await mkdir(join(dir, "links"));
  await symlink("/etc/passwd", join(dir, "links/absolute"));
  await symlink("../nested", join(dir, "links/to-dir"));
  await symlink("loop-b", join(dir, "links/loop-a"));
  await symlink("loop-a", join(dir, "links/loop-b"));
  await symlink("../names/line\nbreak", join(dir, "links/to-newline"));
  await symlink("nowhere/at/all", join(dir, "links/dangling-2"));
  await mkdir(join(dir, "links/a/b"), { recursive: true });
  await writeFile(join(dir, "links/three-names"), "one inode, three names\n");
  await link(join(dir, "links/three-names"), join(dir, "links/a/second"));
  await link(join(dir, "links/three-names"), join(dir, "links/a/b/third"));

  const sparse = await open(join(dir, "sparse-islands.bin"), "w");
  try {
    for (const at of [0, 5 << 20, 11 << 20])
      await sparse.write(seededBytes(`island-${at}`, 65536), 0, 65536, at);
    await sparse.truncate(16 << 20);
  } finally {
    await sparse.close();
  }
  written += 3 * 65536;

  await mkdir(join(dir, "modes"));
  const modes: Array<[string, number, number, number]> = [
    ["setuid", 0o4755, 0, 0],
    ["setgid", 0o2755, 0, 50],
    ["none", 0o000, 65534, 65534],
    ["world", 0o666, 100000, 100000],
    ["readonly", 0o444, 1234, 0],
  ];
  for (const [name, mode, uid, gid] of modes) {
    await writeFile(join(dir, "modes", name), `${name}\n`);
    await chown(join(dir, "modes", name), uid, gid);
    await chmod(join(dir, "modes", name), mode);
  }
  await mkdir(join(dir, "modes/sticky"));
  await chmod(join(dir, "modes/sticky"), 0o1777);
  await mkdir(join(dir, "modes/setgid-dir"));
  await chown(join(dir, "modes/setgid-dir"), 0, 50);
  await chmod(join(dir, "modes/setgid-dir"), 0o2770);

  await mkdir(join(dir, "empties/a/b/c"), { recursive: true });
  await mkdir(join(dir, "empties/d"));

  let xattrs = base.xattr;
  if (xattrs) {
    xattrs &&= trySetXattr(join(dir, "names"), "user.dir", "on a directory");
    xattrs &&= trySetXattr(join(dir, "names", "line\nbreak"), "user.odd", "value with space");
    xattrs &&= trySetXattr(join(dir, "modes/setuid"), "user.second", "2");
  }

  // A thousand small files in 20 directories: many entries, as a bot's database or cache has.
  for (let d = 0; d < 20; d++) {
    const sub = join(dir, "small", `d${String(d).padStart(2, "0")}`);
    await mkdir(sub, { recursive: true });
    for (let f = 0; f < 50; f++) {
      const size = 512 + ((d * 50 + f) % 7) * 512;
      await writeFile(join(sub, `f${f}`), seededBytes(`small-${d}-${f}`, size));
      written += size;
    }
  }

  await mkdir(join(dir, "data"));
  for (let i = 0; written < bytes; i++) {
    const size = Math.min(8 << 20, bytes - written);
    await writeSeededFile(join(dir, "data", `chunk-${i}.bin`), `chunk-${i}`, size);
    written += size;
  }

  const manifest = await treeManifest(dir, { xattrs });
  return { dir, manifest, bytes: dataBytes(manifest), xattrs };
}

/** Sum of regular file sizes, a hardlink group counted once. */
export function dataBytes(manifest: TreeManifest): number {
  return manifest.entries
    .filter((e) => e.type === "file" && (e.hardlinkGroup === null || e.hardlinkGroup === e.path))
    .reduce((sum, e) => sum + e.size, 0);
}

/** Copies the template's content, and its root's owner and mode, into the empty directory `target`. */
export async function copyTrickyVolume(volume: TrickyVolume, target: string): Promise<void> {
  await copyTree(volume.dir, target);
}

/** `cp -a` of a tree's content into the empty directory `target`: sparse files, hardlinks, xattrs kept. */
export async function copyTree(source: string, target: string): Promise<void> {
  await run("cp", ["-a", "--sparse=always", "--reflink=auto", `${source}/.`, `${target}/`]);
}
