/**
 * Counts the entries of a tar stream while it passes by, without a second read and without buffering
 * file contents: only the 512-byte headers (and small pax/long-name headers) are looked at, data blocks are
 * skipped by length. It also proves the archive is complete: every header checksum must be right, the
 * stream must end on an entry boundary, and the end-of-archive zero block must have been seen.
 *
 * Understands ustar/pax (GNU tar --format=posix, Go's archive/tar as used by the Docker Engine), GNU
 * long names (L/K) and old GNU sparse headers (S with extension blocks).
 */
const BLOCK = 512;
/** pax/long-name headers larger than this are skipped rather than parsed (they never are in practice). */
const MAX_META = 1 << 20;

/** Header types that describe the next entry rather than being one. */
const META_TYPES = new Set(["x", "g", "L", "K", "X", "V"]);

export class TarFormatError extends Error {
  override name = "TarFormatError";
}

function parseNumeric(field: Buffer): number {
  if (field.length > 0 && (field[0]! & 0x80) !== 0) {
    // GNU base-256: big-endian two's complement with the top bit as the marker.
    let value = field[0]! & 0x7f;
    for (let i = 1; i < field.length; i += 1) value = value * 256 + field[i]!;
    return value;
  }
  const text = field
    .toString("latin1")
    .replace(/[\0 ]+$/g, "")
    .replace(/^[\0 ]+/, "");
  if (text === "") return 0;
  if (!/^[0-7]+$/.test(text)) throw new TarFormatError(`malformed octal number ${JSON.stringify(text)}`);
  return Number.parseInt(text, 8);
}

function cString(field: Buffer): string {
  const end = field.indexOf(0);
  return field.subarray(0, end === -1 ? field.length : end).toString("utf8");
}

function paxRecords(data: Buffer): Map<string, string> {
  const records = new Map<string, string>();
  let pos = 0;
  while (pos < data.length) {
    const space = data.indexOf(0x20, pos);
    if (space === -1) break;
    const length = Number.parseInt(data.subarray(pos, space).toString("latin1"), 10);
    if (!Number.isFinite(length) || length <= 0 || pos + length > data.length) break;
    const record = data.subarray(space + 1, pos + length - 1).toString("utf8");
    const eq = record.indexOf("=");
    if (eq > 0) records.set(record.slice(0, eq), record.slice(eq + 1));
    pos += length;
  }
  return records;
}

export interface TarSummary {
  /** Entries in the archive (files, directories, links, ...), pax and long-name headers not counted. */
  entries: number;
  /** Name of the first entry, e.g. `./` for GNU tar of a directory, `data/` for the Engine archive API. */
  firstEntry: string | undefined;
}

export class TarInspector {
  private entries = 0;
  private firstEntry: string | undefined;
  /** Bytes of the current header block collected so far. */
  private readonly header = Buffer.alloc(BLOCK);
  private headerFill = 0;
  /** Data bytes (padded) still to skip for the current entry. */
  private skip = 0;
  /** Old-GNU sparse extension blocks still to read. */
  private sparseExtension = false;
  /** When collecting the data of a pax or long-name header. */
  private meta: { type: string; size: number; chunks: Buffer[]; collected: number } | undefined;
  private pendingSize: number | undefined;
  private pendingName: string | undefined;
  private ended = false;

  write(chunk: Buffer): void {
    let pos = 0;
    while (pos < chunk.length && !this.ended) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - pos);
        if (this.meta && this.meta.collected < this.meta.size && this.meta.size <= MAX_META) {
          const wanted = Math.min(n, this.meta.size - this.meta.collected);
          this.meta.chunks.push(chunk.subarray(pos, pos + wanted));
          this.meta.collected += wanted;
        }
        this.skip -= n;
        pos += n;
        if (this.skip === 0 && this.meta) this.finishMeta();
        continue;
      }
      const n = Math.min(BLOCK - this.headerFill, chunk.length - pos);
      chunk.copy(this.header, this.headerFill, pos, pos + n);
      this.headerFill += n;
      pos += n;
      if (this.headerFill === BLOCK) {
        this.headerFill = 0;
        this.onHeader(this.header);
      }
    }
  }

  /** The summary; throws TarFormatError when the stream stopped before the end-of-archive marker. */
  finish(): TarSummary {
    if (!this.ended) {
      throw new TarFormatError(
        this.skip > 0 || this.headerFill > 0
          ? "archive is truncated in the middle of an entry"
          : "archive has no end-of-archive marker (truncated)",
      );
    }
    return { entries: this.entries, firstEntry: this.firstEntry };
  }

  /** Entries seen so far (for a caller that stops reading early). */
  peekEntries(): number {
    return this.entries;
  }

  private onHeader(block: Buffer): void {
    if (this.sparseExtension) {
      this.sparseExtension = block[504] === 1;
      if (!this.sparseExtension) this.skip = this.pendingDataSkip;
      return;
    }
    if (block.every((byte) => byte === 0)) {
      this.ended = true;
      return;
    }
    this.verifyChecksum(block);
    const type = block[156] === 0 ? "0" : String.fromCharCode(block[156]!);
    let size = parseNumeric(block.subarray(124, 136));
    if (META_TYPES.has(type)) {
      this.meta = { type, size, chunks: [], collected: 0 };
      this.skip = Math.ceil(size / BLOCK) * BLOCK;
      if (this.skip === 0) this.finishMeta();
      return;
    }
    if (this.pendingSize !== undefined) size = this.pendingSize;
    const name = this.pendingName ?? this.headerName(block);
    this.pendingSize = undefined;
    this.pendingName = undefined;
    this.entries += 1;
    if (this.firstEntry === undefined) this.firstEntry = name;
    // Links, directories, devices and FIFOs carry no data whatever the size field says.
    const hasData = type === "0" || type === "7" || type === "S" || !/^[1-6]$/.test(type);
    const dataSkip = hasData ? Math.ceil(size / BLOCK) * BLOCK : 0;
    if (type === "S" && block[482] === 1) {
      this.sparseExtension = true;
      this.pendingDataSkip = dataSkip;
      return;
    }
    this.skip = dataSkip;
  }

  private pendingDataSkip = 0;

  private headerName(block: Buffer): string {
    const name = cString(block.subarray(0, 100));
    const magic = block.subarray(257, 263).toString("latin1");
    if (magic === "ustar\u000000") {
      const prefix = cString(block.subarray(345, 500));
      if (prefix !== "") return `${prefix}/${name}`;
    }
    return name;
  }

  private verifyChecksum(block: Buffer): void {
    const stored = parseNumeric(block.subarray(148, 156));
    let sum = 0;
    for (let i = 0; i < BLOCK; i += 1) sum += i >= 148 && i < 156 ? 0x20 : block[i]!;
    if (sum !== stored) throw new TarFormatError(`bad header checksum after ${this.entries} entries`);
  }

  private finishMeta(): void {
    const meta = this.meta!;
    this.meta = undefined;
    if (meta.size > MAX_META) return;
    const data = Buffer.concat(meta.chunks);
    if (meta.type === "x") {
      const records = paxRecords(data);
      const size = records.get("size");
      if (size !== undefined && /^\d+$/.test(size)) this.pendingSize = Number(size);
      const path = records.get("path");
      if (path !== undefined) this.pendingName = path;
    } else if (meta.type === "L") {
      this.pendingName = cString(data);
    }
  }
}
