import { lstat, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { SnapshotFailedError } from "./errors.ts";

/**
 * GNU tar's listing between the two parts of a pair (its "snapshot file", format 2): a header line, the
 * level-0's start time, then one record per directory the level-0 read (device, inode, name and the names
 * it held), each field ending in NUL and each record in an extra NUL.
 */
export interface Listing {
  /** The header line and the start time, as tar wrote them. */
  preamble: string;
  records: ListingRecord[];
}

export interface ListingRecord {
  dev: bigint;
  ino: bigint;
  /** Relative to the volume root, e.g. `./a/b`. */
  name: string;
  /** The whole record as tar wrote it. */
  raw: string;
}

const HEADER = /^GNU tar-[^\n]+-2\n/;

/** How many directories forgetMovedDirectories checks at once. */
const LSTAT_BATCH = 64;

export class ListingFormatError extends SnapshotFailedError {
  override name = "ListingFormatError";
}

/**
 * Splits the listing into its records. A record is six fields (nfs, mtime seconds and nanoseconds, device,
 * inode, name), then its dumpdir (entries ending in an empty one) and one more NUL ending the record;
 * a directory without a dumpdir has only the one NUL. The nfs field is never empty, so an empty field
 * where a record would begin is that closing NUL.
 */
export function parseListing(data: Buffer): Listing {
  const text = data.toString("latin1");
  const header = HEADER.exec(text)?.[0];
  if (!header)
    throw new ListingFormatError("GNU tar's listing is not in format 2; install GNU tar 1.20 or newer");
  let at = header.length;
  const next = () => {
    const end = text.indexOf("\0", at);
    if (end < 0) throw new ListingFormatError("GNU tar's listing ends in the middle of a record");
    const field = text.slice(at, end);
    at = end + 1;
    return field;
  };
  next();
  next();
  const preamble = text.slice(0, at);
  const records: ListingRecord[] = [];
  while (at < text.length) {
    const begin = at;
    for (let i = 0; i < 3; i += 1) next();
    const dev = BigInt(next());
    const ino = BigInt(next());
    const name = next();
    while (next() !== "") {
      // dumpdir entries
    }
    if (at < text.length && text[at] === "\0") at += 1;
    records.push({ dev, ino, name, raw: text.slice(begin, at) });
  }
  return { preamble, records };
}

export function serializeListing(listing: Listing): Buffer {
  return Buffer.from(listing.preamble + listing.records.map((r) => r.raw).join(""), "latin1");
}

/**
 * Keeps the records whose directory still stands under its name, and drops the others: a directory
 * renamed after the level-0 read it (while the bot still wrote) would otherwise be taken by the level-1
 * as a rename from the name the level-0 recorded, which the level-0 may hold only in part or not at all.
 * Without its record, the directory under its new name is new to the level-1, which copies all of it.
 */
export async function forgetMovedDirectories(listingPath: string, root: string): Promise<number> {
  const listing = parseListing(await readFile(listingPath));
  const kept: ListingRecord[] = [];
  // This runs inside the bot's downtime: the lstats go LSTAT_BATCH at a time to the thread pool
  // rather than one after the other (a volume holds thousands of directories).
  for (let i = 0; i < listing.records.length; i += LSTAT_BATCH) {
    const batch = listing.records.slice(i, i + LSTAT_BATCH);
    const infos = await Promise.all(
      batch.map((record) => lstat(join(root, record.name), { bigint: true }).catch(() => undefined)),
    );
    for (const [j, record] of batch.entries()) {
      const info = infos[j];
      if (info?.isDirectory() && info.dev === record.dev && info.ino === record.ino) kept.push(record);
    }
  }
  const dropped = listing.records.length - kept.length;
  // In place: the listing lives only between a pair's parts in this process; a crash drops it anyway.
  if (dropped > 0) await writeFile(listingPath, serializeListing({ ...listing, records: kept }));
  return dropped;
}
