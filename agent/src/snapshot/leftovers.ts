/**
 * What an interrupted snapshot leaves in the snapshots dir, told apart by name alone: a tar being
 * written (`<id>.tar.partial`, `<id>.l1.tar.partial`), a manifest being written (`<id>.json.tmp`), a tar
 * whose manifest was never written (`<id>.tar` or a pair's level-1 `<id>.l1.tar` without `<id>.json`),
 * and the listing GNU tar keeps between a pair's two parts (`<id>.snar`).
 */
export type LeftoverKind = "partial" | "manifest-tmp" | "orphan-tar" | "listing";

export interface Leftover {
  name: string;
  id: string;
  kind: LeftoverKind;
}

/** A pair's level-1 tar and the listing between its parts: `<id>` + these. */
export const LEVEL1_SUFFIX = ".l1.tar";
export const LISTING_SUFFIX = ".snar";

/** Longest first: `<id>.l1.tar.partial` must not read as the level-0 partial of an id ending in `.l1`. */
const SUFFIXES: readonly [string, LeftoverKind][] = [
  [`${LEVEL1_SUFFIX}.partial`, "partial"],
  [".tar.partial", "partial"],
  [".json.tmp", "manifest-tmp"],
  [LISTING_SUFFIX, "listing"],
];
const TARS = [LEVEL1_SUFFIX, ".tar"] as const;

/** The snapshot id of a file name that a snapshot's writer holds open: its tars, partial or not, and listing. */
export function leftoverId(name: string): string | undefined {
  for (const suffix of [`${LEVEL1_SUFFIX}.partial`, ".tar.partial", LISTING_SUFFIX, ...TARS])
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
    } else {
      const tar = TARS.find((t) => name.endsWith(t));
      const id = tar && name.slice(0, -tar.length);
      if (id && !manifests.has(id)) found.push({ name, id, kind: "orphan-tar" });
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
