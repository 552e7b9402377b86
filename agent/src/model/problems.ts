/** One thing wrong with fleet-state, located precisely enough to fix without searching. */
export interface Problem {
  file: string;
  line: number;
  field: string;
  message: string;
}

/** Longest key or quoted value shown in a problem; the operator finds the rest by the line. */
const SHOWN_CHARS = 80;

function shorten(text: string): string {
  return text.length <= SHOWN_CHARS ? text : `${text.slice(0, SHOWN_CHARS)}…(${text.length} characters)`;
}

/**
 * Control characters, line and paragraph separators, and bidi overrides written as escapes, so a
 * value quoted from a file can neither break a problem onto two lines nor disguise what it says.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is its job
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
const NAMED: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };

export function oneLine(text: string): string {
  return text.replace(UNSAFE, (c) => NAMED[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** A user-supplied value for a message: double-quoted, shortened, on one line. */
export function quote(value: string): string {
  return `"${oneLine(shorten(value).replace(/[\\"]/g, (c) => `\\${c}`))}"`;
}

/** `bots[0].volumes[1].name` from a zod/yaml path. */
export function formatField(path: readonly PropertyKey[]): string {
  let out = "";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else out += out === "" ? shorten(String(key)) : `.${shorten(String(key))}`;
  }
  return out === "" ? "(file)" : oneLine(out);
}

export function formatProblem(p: Problem): string {
  return oneLine(`${p.file}:${p.line}: ${p.field}: ${p.message}`);
}

/** A GitHub Actions workflow command, so the PR check annotates the offending line. */
export function formatGithubAnnotation(p: Problem): string {
  const escapeData = (s: string) => s.replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
  const escapeProp = (s: string) => escapeData(s).replace(/:/g, "%3A").replace(/,/g, "%2C");
  return `::error file=${escapeProp(p.file)},line=${p.line},title=${escapeProp(p.field)}::${escapeData(p.message)}`;
}

/** Problems in report order, each on one line whatever the files contained. */
export function sortProblems(problems: Problem[]): Problem[] {
  return problems
    .map((p) => ({ ...p, file: oneLine(p.file), field: oneLine(p.field), message: oneLine(p.message) }))
    .sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.field.localeCompare(b.field));
}
