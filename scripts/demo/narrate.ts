/** How the demo talks: numbered steps, indented detail lines, and tables. */

/** A step that did not end as expected; the demo stops and exits 1 with this message. */
export class DemoError extends Error {
  override name = "DemoError";
}

export interface Narrator {
  /** `[3/7] Create the GitOps repository` */
  step(title: string): void;
  /** An indented detail line. */
  say(line: string): void;
  /** A check that passed. */
  ok(line: string): void;
  /** Multi-line output of a tool (CLI, git), indented under the step. */
  block(text: string, prefix?: string): void;
  /** A blank line. */
  gap(): void;
  /** The title of the step in progress. */
  current(): string;
}

export const STEPS = 8;

export function narrator(out: (line: string) => void): Narrator {
  let index = 0;
  let title = "getting started";
  return {
    step(next) {
      index += 1;
      title = next;
      out("");
      out(`[${index}/${STEPS}] ${next}`);
    },
    current: () => title,
    say: (line) => out(`      ${line}`),
    ok: (line) => out(`    ✓ ${line}`),
    block(text, prefix = "      | ") {
      for (const line of text.replace(/\s+$/, "").split("\n")) out(`${prefix}${line}`.trimEnd());
    },
    gap: () => out(""),
  };
}

/** A plain text table: header row, then rows, columns padded to the widest cell. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const fmt = (cells: string[]) =>
    cells
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd();
  return [fmt(header), ...rows.map(fmt)].join("\n");
}

/** `sha256:3f2a9c1b7e4d` → `3f2a9c1b7e4d` */
export const shortDigest = (digest: string | null | undefined): string =>
  digest ? digest.replace(/^sha256:/, "").slice(0, 12) : "-";

export const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)}s`;

export function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
