/**
 * The guard scan: files upstream changed must still carry the hosted-mode guards the fork relies
 * on (e.g. new UI components must reference `hostedMode`). Rules come from the hosted-mode YAML.
 */
import type { GuardRule } from "../changelog/exclusions.ts";
import { globMatcher } from "../changelog/model.ts";
import type { GuardFinding } from "../changelog/render.ts";
import type { Git } from "./git.ts";

export interface ChangedFile {
  path: string;
  status: "added" | "modified";
}

/** Pure: which changed files lack their rule's required pattern. `read` returns null for absent files. */
export function checkGuards(
  rules: readonly GuardRule[],
  changed: readonly ChangedFile[],
  read: (path: string) => string | null,
): GuardFinding[] {
  const findings: GuardFinding[] = [];
  for (const rule of rules) {
    const inScope = globMatcher(rule.paths);
    const ignored = globMatcher(rule.ignore);
    const pattern = new RegExp(rule.require, "m");
    for (const file of changed) {
      if (rule.when === "added" && file.status !== "added") continue;
      if (!inScope(file.path) || ignored(file.path)) continue;
      const text = read(file.path);
      if (text === null || pattern.test(text)) continue;
      findings.push({
        rule: rule.name,
        file: file.path,
        require: rule.require,
        ...(rule.description ? { description: rule.description } : {}),
      });
    }
  }
  return findings.sort((a, b) => a.file.localeCompare(b.file) || a.rule.localeCompare(b.rule));
}

/** Files added or modified between two commits (deletions are not guarded). */
export async function changedFiles(git: Git, from: string, to: string): Promise<ChangedFile[]> {
  const entries = await git.lines0(["diff", "--name-status", "-z", "--no-renames", from, to, "--"]);
  const files: ChangedFile[] = [];
  for (let i = 0; i + 1 < entries.length; i += 2) {
    const status = entries[i]!;
    const path = entries[i + 1]!;
    if (status.startsWith("A")) files.push({ path, status: "added" });
    else if (status.startsWith("M") || status.startsWith("T")) files.push({ path, status: "modified" });
  }
  return files;
}

/**
 * Applies the rules to the files upstream changed in `from..to`, reading their content as it is
 * in `tree` (the sync branch after rebase/merge, or upstream itself when the sync stopped).
 */
export async function scanGuards(
  git: Git,
  rules: readonly GuardRule[],
  range: { from: string; to: string },
  tree: string,
): Promise<GuardFinding[]> {
  if (rules.length === 0) return [];
  const changed = await changedFiles(git, range.from, range.to);
  const candidates = changed.filter((file) =>
    rules.some((rule) => globMatcher(rule.paths)(file.path) && !globMatcher(rule.ignore)(file.path)),
  );
  const contents = new Map<string, string | null>();
  for (const file of candidates) {
    const shown = await git.tryRun(["show", `${tree}:${file.path}`]);
    contents.set(file.path, shown.code === 0 ? shown.stdout : null);
  }
  return checkGuards(rules, candidates, (path) => contents.get(path) ?? null);
}
