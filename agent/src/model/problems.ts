/** One thing wrong with fleet-state, located precisely enough to fix without searching. */
export interface Problem {
  file: string;
  line: number;
  field: string;
  message: string;
}

/** `bots[0].volumes[1].name` from a zod/yaml path. */
export function formatField(path: readonly PropertyKey[]): string {
  let out = "";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else out += out === "" ? String(key) : `.${String(key)}`;
  }
  return out === "" ? "(file)" : out;
}

export function formatProblem(p: Problem): string {
  return `${p.file}:${p.line}: ${p.field}: ${p.message}`;
}

/** A GitHub Actions workflow command, so the PR check annotates the offending line. */
export function formatGithubAnnotation(p: Problem): string {
  const escapeData = (s: string) => s.replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
  const escapeProp = (s: string) => escapeData(s).replace(/:/g, "%3A").replace(/,/g, "%2C");
  return `::error file=${escapeProp(p.file)},line=${p.line},title=${escapeProp(p.field)}::${escapeData(p.message)}`;
}

export function sortProblems(problems: Problem[]): Problem[] {
  return [...problems].sort(
    (a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.field.localeCompare(b.field),
  );
}
