/** Conflict-marker detection: nothing with markers is ever committed or pushed. */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { FleetwaveError } from "#fleetwave/errors.ts";

const START = /^<{7}(?: |$)/;
const MIDDLE = /^={7}$/;
const END = /^>{7}(?: |$)/;

/**
 * 1-based line numbers of conflict markers. A lone `=======` is a Markdown heading underline, so
 * it counts only in a file that also has an opening or closing marker.
 */
export function conflictMarkerLines(text: string): number[] {
  const lines = text.split(/\r?\n/);
  const strong = lines.flatMap((line, i) => (START.test(line) || END.test(line) ? [i + 1] : []));
  if (strong.length === 0) return [];
  const middle = lines.flatMap((line, i) => (MIDDLE.test(line) ? [i + 1] : []));
  return [...strong, ...middle].sort((a, b) => a - b);
}

/** A commit or push was about to include conflict markers. */
export class ConflictMarkersError extends FleetwaveError {
  override name = "ConflictMarkersError";
  constructor(readonly files: { path: string; lines: number[] }[]) {
    super(
      `refusing to commit: conflict markers in ${files
        .map((f) => `${f.path} (line ${f.lines.slice(0, 5).join(", ")})`)
        .join("; ")}`,
    );
  }
}

/** Checks the working-tree copies of `paths` under `root`; throws ConflictMarkersError on any marker. */
export async function assertNoConflictMarkers(root: string, paths: readonly string[]): Promise<void> {
  const bad: { path: string; lines: number[] }[] = [];
  for (const path of paths) {
    let buffer: Buffer;
    try {
      buffer = await readFile(join(root, path));
    } catch {
      continue; // deleted in the working tree: nothing to commit there
    }
    if (buffer.includes(0)) continue; // binary
    const lines = conflictMarkerLines(buffer.toString("utf8"));
    if (lines.length > 0) bad.push({ path, lines });
  }
  if (bad.length > 0) throw new ConflictMarkersError(bad);
}
