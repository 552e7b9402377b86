/**
 * The words users read: a commit subject as a plain sentence, prefixed with its area ("Cache: add
 * a skip option"), and the key that spots near-duplicates. Pure.
 */

const TRAILING_REFS =
  /\s*\((?:(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?|see|refs?)\s+)?#\d+(?:\s*,\s*#\d+)*\)\s*$/i;

/**
 * Rewrites a commit subject as a plain sentence: no type prefix (already parsed off), no gitmoji,
 * backticks or trailing `(#123)` / `[skip ci]`, no trailing period noise, first letter capitalised
 * (unless `capitalize` is false: after an area, `replaceUrlParam` stays as written).
 */
export function toSentence(subject: string, capitalize = true): string {
  // Stryker disable next-line Regex: the runs of spaces left are collapsed again below.
  let text = subject.replace(/\s+/g, " ").trim();
  text = text.replace(/^(?::[a-z0-9_+-]+:\s*)+/i, "");
  text = text.replace(/\[(?:skip ci|ci skip|no ci)\]/gi, "");
  // Stryker disable next-line StringLiteral: any start value only makes the loop run once more on the same text.
  let previous = "";
  while (previous !== text) {
    previous = text;
    // Stryker disable next-line Regex: spaces are already single here.
    text = text.replace(TRAILING_REFS, "").replace(/\s+#\d+$/, "");
  }
  // Trailing punctuation goes before the backticks do, so "to `::`" keeps its "::".
  text = text.replace(/[\s.;,:]+$/u, "");
  text = text
    .replace(/`([^`]+)`/g, "$1")
    .replace(/\s+/g, " ")
    .trim();
  if (text.length === 0 || !capitalize) return text;
  const first = text.codePointAt(0)!;
  const head = String.fromCodePoint(first);
  return head.toLocaleUpperCase("en-US") + text.slice(head.length);
}

/** Words that read as acronyms when a scope is title-cased. */
const ACRONYMS = new Set([
  "api",
  "aws",
  "cli",
  "cors",
  "csp",
  "csrf",
  "css",
  "dom",
  "html",
  "http",
  "hmr",
  "id",
  "ip",
  "js",
  "json",
  "jsx",
  "jwt",
  "sdk",
  "sse",
  "ssr",
  "ts",
  "ui",
  "url",
  "ux",
]);

function titleCase(scope: string): string {
  return (
    scope
      // Stryker disable next-line Regex: the filter below drops the empty words single separators leave.
      .split(/[\s_/-]+/)
      .filter((w) => w.length > 0)
      .map((w) =>
        ACRONYMS.has(w.toLowerCase()) ? w.toUpperCase() : w.charAt(0).toLocaleUpperCase("en-US") + w.slice(1),
      )
      .join(" ")
  );
}

/**
 * The readable area of a conventional-commit scope: its name in `names` (keys in lower case;
 * an empty name means "no area"), otherwise the scope title-cased. `a,b` names both areas.
 */
export function areaName(scope: string | null, names: Readonly<Record<string, string>>): string | null {
  if (!scope) return null;
  const whole = names[scope.trim().toLowerCase()];
  if (whole !== undefined) return whole.length > 0 ? whole : null;
  const parts = scope
    .split(",")
    .map((part) => part.trim())
    // Stryker disable next-line ConditionalExpression,EqualityOperator: an empty part becomes an empty name, which the last filter drops.
    .filter((part) => part.length > 0 && part !== "*")
    .map((part) => names[part.toLowerCase()] ?? titleCase(part))
    .filter((name) => name.length > 0);
  const unique = [...new Set(parts)];
  return unique.length > 0 ? unique.join(", ") : null;
}

/** `Add a skip option` → `add a skip option`; `API keys …` and `JSX …` keep their capitals. */
export function lowerFirstWord(sentence: string): string {
  return sentence.replace(/^(\p{Lu})(\p{Ll}*)(?=$|[\s,;:])/u, (all, head: string, rest: string) =>
    rest.length > 0 ? head.toLocaleLowerCase("en-US") + rest : all,
  );
}

/** The item users read: `Area: sentence` when there is an area, the sentence otherwise. */
export function withArea(area: string | null, sentence: string): string {
  if (!area || sentence.length === 0) return sentence;
  return `${area}: ${lowerFirstWord(sentence)}`;
}

/** Same area, same words (any order, any case or punctuation): the same item for a reader. */
export function duplicateKey(item: string): string {
  const words = item
    .toLowerCase()
    // Stryker disable next-line Regex: the filter below drops the empty words single separators leave.
    .split(/[^\p{L}\p{N}]+/u)
    .filter((w) => w.length > 0);
  return [...new Set(words)].sort().join(" ");
}
