/**
 * Size limits of fleet-state input. Every agent reads every file on every reconcile, so one
 * oversized value costs every host memory and time (a 50 MB env value cost 2–3 GB and 15 s per
 * reconcile); these limits refuse it before any YAML is parsed or container spec built.
 */

/**
 * Largest fleet-state file. A rollout of 10,000 bots is ~700 KB and a host's status file a few
 * hundred bytes per bot, so 4 MiB leaves room for the largest fleets while bounding every parse.
 */
export const MAX_FILE_BYTES = 4 * 1024 * 1024;

/**
 * Largest single string (an env value, a command argument, any text) and key. Linux refuses an
 * env string or argument over 128 KiB (MAX_ARG_STRLEN) at exec, so a bot could never start with
 * one; 64 KiB stays well inside that.
 */
export const MAX_VALUE_BYTES = 64 * 1024;

/** `52.4 MiB`, `100.0 KiB`, `512 bytes`. */
export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} bytes`;
}

/** UTF-8 length, without encoding strings that are certainly short or certainly long. */
function utf8Bytes(value: string): number {
  if (value.length * 3 <= MAX_VALUE_BYTES || value.length > MAX_VALUE_BYTES) return value.length;
  return Buffer.byteLength(value, "utf8");
}

export interface Oversized {
  /** Where the value is; for an oversized key, the map that holds it. */
  path: PropertyKey[];
  bytes: number;
  isKey: boolean;
}

/**
 * Every string value and key over MAX_VALUE_BYTES in parsed YAML data. Iterative, so the deepest
 * nesting a YAML parser accepts cannot overflow the stack here.
 */
export function oversizedValues(data: unknown): Oversized[] {
  const found: Oversized[] = [];
  const stack: { value: unknown; path: PropertyKey[] }[] = [{ value: data, path: [] }];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const { value, path } = item;
    if (typeof value === "string") {
      const bytes = utf8Bytes(value);
      if (bytes > MAX_VALUE_BYTES)
        found.push({ path, bytes: Buffer.byteLength(value, "utf8"), isKey: false });
    } else if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) stack.push({ value: value[i], path: [...path, i] });
    } else if (value !== null && typeof value === "object") {
      const entries = Object.entries(value);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [key, child] = entries[i]!;
        if (utf8Bytes(key) > MAX_VALUE_BYTES) {
          found.push({ path, bytes: Buffer.byteLength(key, "utf8"), isKey: true });
          continue;
        }
        stack.push({ value: child, path: [...path, key] });
      }
    }
  }
  return found;
}
