import { randomBytes } from "node:crypto";
import { InvalidSnapshotIdError } from "./errors.ts";

/**
 * The allowlist every snapshot id must match before it is joined to a path: letters, digits, ".", "_" and
 * "-", starting with a letter or digit, at most 200 characters (so `<id>.tar.partial` stays a legal file
 * name). On top of the pattern an id may not contain "..".
 */
export const SNAPSHOT_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$/;

export function isValidSnapshotId(id: unknown): id is string {
  return typeof id === "string" && SNAPSHOT_ID_PATTERN.test(id) && !id.includes("..");
}

export function assertValidSnapshotId(id: unknown): asserts id is string {
  if (!isValidSnapshotId(id)) throw new InvalidSnapshotIdError(String(id));
}

/** Reduce a bot or volume name to id-safe characters (the manifest keeps the exact names). */
function idPart(name: string): string {
  const safe = name
    .replace(/[^A-Za-z0-9_.-]/g, "_")
    .replace(/\.{2,}/g, ".")
    .replace(/^[^A-Za-z0-9]+/, "")
    .slice(0, 64);
  return safe === "" ? "x" : safe;
}

/** `20261127T061200123Z`: UTC, sortable, millisecond precision. */
export function snapshotTimestamp(at: Date): string {
  return at
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.(\d{3})Z$/, "$1Z");
}

/** `<bot>--<volume>--<yyyymmddThhmmssSSSZ>-<4 hex>`; the random tail keeps ids of one millisecond apart. */
export function newSnapshotId(bot: string, volume: string, at: Date = new Date(), tail?: string): string {
  const suffix = tail ?? randomBytes(2).toString("hex");
  const id = `${idPart(bot)}--${idPart(volume)}--${snapshotTimestamp(at)}-${suffix}`;
  assertValidSnapshotId(id);
  return id;
}
