/**
 * What an interrupted snapshot leaves in the snapshots dir, told apart by name alone: the tar being
 * written (`<id>.tar.partial`), a manifest being written (`<id>.json.tmp`), and a tar whose manifest was
 * never written (`<id>.tar` without `<id>.json`).
 */
export type LeftoverKind = "partial" | "manifest-tmp" | "orphan-tar";

export interface Leftover {
  name: string;
  id: string;
  kind: LeftoverKind;
}

const SUFFIXES: readonly [string, LeftoverKind][] = [
  [".tar.partial", "partial"],
  [".json.tmp", "manifest-tmp"],
];

/** The snapshot id of a file name that a snapshot's writer holds open: `<id>.tar.partial` or `<id>.tar`. */
export function leftoverId(name: string): string | undefined {
  for (const suffix of [".tar.partial", ".tar"])
    if (name.endsWith(suffix)) return name.slice(0, -suffix.length);
  return undefined;
}

/** The leftovers among the names of a snapshots dir, in name order. */
export function findLeftovers(names: readonly string[]): Leftover[] {
  const manifests = new Set(names.filter((n) => n.endsWith(".json")).map((n) => n.slice(0, -".json".length)));
  const found: Leftover[] = [];
  for (const name of [...names].sort()) {
    const suffix = SUFFIXES.find(([s]) => name.endsWith(s));
    if (suffix) {
      found.push({ name, id: name.slice(0, -suffix[0].length), kind: suffix[1] });
    } else if (name.endsWith(".tar") && !manifests.has(name.slice(0, -".tar".length))) {
      found.push({ name, id: name.slice(0, -".tar".length), kind: "orphan-tar" });
    }
  }
  return found;
}

/**
 * Snapshots this process is writing, by snapshots dir and id. Their files look exactly like leftovers
 * until the manifest is in place, so every clean-up asks here first. Shared by every store of the process:
 * the agent, its engine and a test may each hold their own store on one dir.
 */
const writing = new Set<string>();
const key = (dir: string, id: string) => `${dir}\0${id}`;

/** Marks a snapshot as being written until the returned function is called. */
export function markWriting(dir: string, id: string): () => void {
  const k = key(dir, id);
  writing.add(k);
  return () => {
    writing.delete(k);
  };
}

export function isWriting(dir: string, id: string): boolean {
  return writing.has(key(dir, id));
}
