/**
 * Hosted mode: what tenants of the hosted product never see in a changelog, and the guards that
 * upstream changes must keep. One YAML file (default `scripts/hosted-mode.yaml`), validated with
 * zod; every problem is reported as `file:line: field: message`.
 */
import { readFile } from "node:fs/promises";
import { LineCounter, parseDocument } from "yaml";
import { z } from "zod";
import { FleetwaveError } from "#fleetwave/errors.ts";
import { offsetOf } from "#fleetwave/model/yaml-source.ts";
import { type ChangelogCommit, globMatcher } from "./model.ts";

export const DEFAULT_HOSTED_MODE_FILE = "scripts/hosted-mode.yaml";

/** The hosted-mode file is malformed. `problems` are `file:line: field: message` lines. */
export class HostedModeConfigError extends FleetwaveError {
  override name = "HostedModeConfigError";
  constructor(readonly problems: string[]) {
    super(`invalid hosted-mode file:\n${problems.join("\n")}`);
  }
}

const nonEmpty = z.string().trim().min(1, "must not be empty");

const regexSource = nonEmpty.refine(
  (source) => {
    // Stryker disable StringLiteral,BlockStatement: a source is valid with the `m` flag exactly when it is valid without it, and an empty catch returns undefined, which refine treats as false too.
    try {
      new RegExp(source, "m");
      return true;
    } catch {
      return false;
    }
    // Stryker restore StringLiteral,BlockStatement
  },
  { message: "is not a valid regular expression" },
);

export const guardRuleSchema = z.strictObject({
  /** Short id shown in reports. */
  name: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, "use lower-case letters, digits, '.', '_' or '-'"),
  description: z.string().optional(),
  /** Globs of files the rule applies to. */
  paths: z.array(nonEmpty).min(1, "needs at least one glob"),
  /** Globs of files the rule skips even when `paths` match (tests, stories). */
  ignore: z.array(nonEmpty).default([]),
  /** A regular expression (JavaScript syntax, `m` flag) that must occur in the file. */
  require: regexSource,
  /** `added`: only files upstream created; `changed`: created or modified (default). */
  when: z.enum(["added", "changed"]).default("changed"),
});

export const hostedModeSchema = z.strictObject({
  /** Commits touching only these paths are dropped from both changelog views. */
  infrastructure: z.array(nonEmpty).default([]),
  /** Items matching any of these never reach the user-facing view (they stay in the internal one). */
  exclude: z
    .strictObject({
      scopes: z.array(nonEmpty).default([]),
      paths: z.array(nonEmpty).default([]),
      keywords: z.array(nonEmpty).default([]),
    })
    .prefault({}),
  guards: z.array(guardRuleSchema).default([]),
  /**
   * Where a commit that follows no commit convention goes (`Fix the thing`, `lib: ...`):
   * `improved` shows it to users under Improved, `internal` keeps it in the internal view only.
   */
  unconventional: z
    .enum(["improved", "internal"], { message: 'use "improved" or "internal"' })
    .default("internal"),
  /**
   * Readable area names for conventional-commit scopes (`reg-exp-router: Router`); an empty name
   * shows the item without an area. Unknown scopes are title-cased.
   */
  scopeNames: z
    .record(z.string().trim().min(1, "a scope must not be empty"), z.string().trim())
    .default({})
    // scopes are matched case-insensitively
    .transform((names) => Object.fromEntries(Object.entries(names).map(([k, v]) => [k.toLowerCase(), v]))),
});

export type HostedModeConfig = z.output<typeof hostedModeSchema>;
export type GuardRule = z.output<typeof guardRuleSchema>;

export const EMPTY_HOSTED_MODE: HostedModeConfig = hostedModeSchema.parse({});

function fieldName(path: readonly PropertyKey[]): string {
  let out = "";
  for (const step of path) {
    if (typeof step === "number") out += `[${step}]`;
    else out += out ? `.${String(step)}` : String(step);
  }
  return out || "(root)";
}

/**
 * Parses and validates the hosted-mode YAML text. Pure: `file` only names the source in errors.
 * Throws HostedModeConfigError listing every problem with its line.
 */
export function parseHostedModeConfig(text: string, file: string): HostedModeConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new HostedModeConfigError(
      doc.errors.map((e) => {
        const line = lineCounter.linePos(e.pos[0]).line;
        return `${file}:${line}: ${e.message.split("\n")[0]}`;
      }),
    );
  }
  const data: unknown = doc.toJS() ?? {};
  const result = hostedModeSchema.safeParse(data);
  if (result.success) return result.data;
  const problems = result.error.issues.flatMap((issue) => {
    const keys = issue.code === "unrecognized_keys" ? issue.keys : [undefined];
    return keys.map((key) => {
      const path = key === undefined ? issue.path : [...issue.path, key];
      const line = lineCounter.linePos(offsetOf(doc, path)).line;
      const message = key === undefined ? issue.message : "unknown key";
      return { line, text: `${file}:${line}: ${fieldName(path)}: ${message}` };
    });
  });
  problems.sort((a, b) => a.line - b.line);
  throw new HostedModeConfigError(problems.map((p) => p.text));
}

/** Reads the hosted-mode file; a missing file is an error only when `required`. */
export async function loadHostedModeConfig(path: string, required: boolean): Promise<HostedModeConfig> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT" && !required) return EMPTY_HOSTED_MODE;
    throw new FleetwaveError(`cannot read hosted-mode file ${path}: ${(error as Error).message}`);
  }
  return parseHostedModeConfig(text, path);
}

const SYNTAX = /[\\^$.*+?()[\]{}|/]/g;

/**
 * A case-insensitive whole-word matcher for a keyword or phrase. Words are delimited by anything
 * that is not a letter, digit or `_`; inside a phrase, spaces, `-` and `_` are interchangeable;
 * a plural `s`/`es` is allowed. So `cli` matches "CLI", "the cli's flags", but not "client" or
 * "clicking"; `API key` matches "api-key" and "API keys".
 */
export function keywordMatcher(keyword: string): (text: string) => boolean {
  // Stryker disable MethodExpression,Regex: the filter below drops the empty words that skipping trim() or splitting on single separators would leave.
  const words = keyword
    .trim()
    .split(/[\s_-]+/)
    .filter((w) => w.length > 0)
    .map((w) => w.replace(SYNTAX, "\\$&"));
  // Stryker restore MethodExpression,Regex
  const pattern = new RegExp(
    `(?<![\\p{L}\\p{N}_])${words.join("[\\s_-]+")}(?:e?s)?(?![\\p{L}\\p{N}_])`,
    "iu",
  );
  return (text) => pattern.test(text);
}

export type Exclusion =
  | { kind: "scope"; value: string }
  | { kind: "path"; value: string }
  | { kind: "keyword"; value: string };

/** Why the commit is hidden from users, or null when it may be shown. */
export type ExclusionMatcher = (commit: ChangelogCommit) => Exclusion | null;

/**
 * Builds the hosted-mode filter. A commit is hidden from the user-facing view when
 * - its scope is one of `scopes` (case-insensitive), or
 * - it touched files and every one of them matches `paths` (a change that only lives in a hidden
 *   area; a broad change that also touches such a path stays visible), or
 * - its scope or subject contains one of `keywords` as a whole word (case-insensitive).
 */
export function exclusionMatcher(exclude: HostedModeConfig["exclude"]): ExclusionMatcher {
  const scopes = new Set(exclude.scopes.map((s) => s.toLowerCase()));
  const pathGlobs = exclude.paths;
  const inHiddenPath = globMatcher(pathGlobs);
  const keywords = exclude.keywords.map((k) => ({ keyword: k, test: keywordMatcher(k) }));
  return (commit) => {
    // Stryker disable next-line ArrayDeclaration: a made-up scope in place of "none" matches no configured scope.
    const scopeParts = commit.scope ? commit.scope.split(/[,/]/).map((s) => s.trim().toLowerCase()) : [];
    const scope = scopeParts.find((s) => scopes.has(s));
    if (scope) return { kind: "scope", value: scope };
    // Stryker disable next-line ConditionalExpression,EqualityOperator: with no globs no file is hidden, so `every` is false anyway; the check skips the work.
    if (pathGlobs.length > 0 && commit.files.length > 0 && commit.files.every(inHiddenPath)) {
      const glob = pathGlobs.find((g) => globMatcher([g])(commit.files[0]!)) ?? pathGlobs[0]!;
      return { kind: "path", value: glob };
    }
    const text = `${commit.scope ?? ""} ${commit.subject}`;
    const hit = keywords.find((k) => k.test(text));
    if (hit) return { kind: "keyword", value: hit.keyword };
    return null;
  };
}

export function describeExclusion(exclusion: Exclusion): string {
  return `${exclusion.kind} "${exclusion.value}"`;
}
