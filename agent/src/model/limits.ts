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
  // Stryker disable next-line ConditionalExpression,LogicalOperator,EqualityOperator: the shortcut only answers where the exact count lies on the same side of the limit, which is all callers compare.
  if (value.length * 3 <= MAX_VALUE_BYTES || value.length > MAX_VALUE_BYTES) return value.length;
  return Buffer.byteLength(value);
}

export interface Oversized {
  /** Where the value is; for an oversized key, the map that holds it. */
  path: PropertyKey[];
  bytes: number;
  isKey: boolean;
}

/** A node of the walk below; its path is only built for a value that is reported. */
interface Step {
  value: unknown;
  key: PropertyKey;
  parent: Step | undefined;
}

function pathOf(step: Step | undefined): PropertyKey[] {
  const path: PropertyKey[] = [];
  // Stryker disable next-line OptionalChaining: the loop stops at the root, before `s` could be undefined.
  for (let s = step; s?.parent !== undefined; s = s.parent) path.unshift(s.key);
  return path;
}

/**
 * Every string value and key over MAX_VALUE_BYTES in parsed YAML data, in document order.
 * Iterative, so the deepest nesting a YAML parser accepts cannot overflow the stack here.
 */
export function oversizedValues(data: unknown): Oversized[] {
  const found: Oversized[] = [];
  // Stryker disable next-line StringLiteral: the root's key is never part of a path.
  const stack: Step[] = [{ value: data, key: "", parent: undefined }];
  for (let step = stack.pop(); step !== undefined; step = stack.pop()) {
    const { value } = step;
    if (typeof value === "string") {
      if (utf8Bytes(value) > MAX_VALUE_BYTES)
        found.push({ path: pathOf(step), bytes: Buffer.byteLength(value), isKey: false });
    } else if (Array.isArray(value)) {
      // Stryker disable next-line ArithmeticOperator: items past the end are undefined, which the walk skips.
      for (let i = value.length - 1; i >= 0; i--) stack.push({ value: value[i], key: i, parent: step });
      // Stryker disable next-line ConditionalExpression: a number or boolean has no keys to walk (parsed YAML holds no undefined).
    } else if (value !== null && typeof value === "object") {
      const keys = Object.keys(value);
      for (let i = keys.length - 1; i >= 0; i--) {
        const key = keys[i]!;
        if (utf8Bytes(key) > MAX_VALUE_BYTES)
          found.push({ path: pathOf(step), bytes: Buffer.byteLength(key), isKey: true });
        else stack.push({ value: (value as Record<string, unknown>)[key], key, parent: step });
      }
    }
  }
  return found;
}
