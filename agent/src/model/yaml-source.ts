// The browser build is the same code compiled to older syntax. js-yaml's Node ESM build makes its
// parser state with object spread, which V8 (Node 20) turns into an object whose property reads
// are slow: it parses ~4× slower than this one (V8 issue 11536; js-yaml 5.5.0, measured 2026-11).
import {
  CORE_SCHEMA,
  constructFromEvents,
  defineMappingTag,
  defineScalarTag,
  EVENT_ID,
  floatCoreTag,
  NOT_RESOLVED,
  parseEvents,
} from "js-yaml/browser";
import { type Document, isMap, isPair, isScalar, isSeq, LineCounter, type Node, parseDocument } from "yaml";
import type { z } from "zod";
import { formatField, type Problem } from "./problems.ts";

/** A parsed YAML file that can say on which line any field path lives. */
export interface YamlSource {
  file: string;
  data: unknown;
  lineOf: (path: readonly PropertyKey[]) => number;
}

type ParseResult = { ok: true; source: YamlSource } | { ok: false; problems: Problem[] };

/**
 * `yaml` is the reference parser: its errors, its reading of scalars and its source positions are
 * what operators see. It is also ~10× slower than `js-yaml`, which a 10,000-bot fleet feels. So a
 * file is read by js-yaml first (see `fastLoad`), and by `yaml` only when js-yaml gives up or when
 * a line number is asked for (a zod problem, a cross-file rule); valid files never pay for it.
 */
export function parseYaml(file: string, text: string): ParseResult {
  const fast = fastLoad(text);
  // Stryker disable next-line ConditionalExpression,BlockStatement: the `yaml` path below gives the same result, only slower (the tests call fastLoad to see the fast path taken)
  if (fast) {
    let located: ReturnType<typeof readWithYaml> | undefined;
    const lineOf = (path: readonly PropertyKey[]) => {
      located ??= readWithYaml(text);
      return located.lineCounter.linePos(offsetOf(located.doc, path)).line;
    };
    return { ok: true, source: { file, data: fast.data, lineOf } };
  }
  const { doc, lineCounter } = readWithYaml(text);
  if (doc.errors.length > 0) {
    return {
      ok: false,
      problems: doc.errors.map((error) => ({
        file,
        line: lineCounter.linePos(error.pos[0]).line,
        field: "(yaml)",
        message: yamlMessage(error.code, error.message),
      })),
    };
  }
  if (doc.contents === null) {
    return {
      ok: false,
      problems: [{ file, line: 1, field: "(file)", message: "the file is empty; expected a map of fields" }],
    };
  }
  const lineOf = (path: readonly PropertyKey[]) => lineCounter.linePos(offsetOf(doc, path)).line;
  let data: unknown;
  try {
    // Stryker disable next-line ObjectLiteral: 100 is also `yaml`'s default; spelled out so the alias-bomb limit does not hang on a library default
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    // An alias to an unknown anchor, or an alias bomb, only shows up when the document is resolved.
    return {
      ok: false,
      problems: [{ file, line: 1, field: "(yaml)", message: `invalid YAML: ${(error as Error).message}` }],
    };
  }
  return { ok: true, source: { file, data, lineOf } };
}

function readWithYaml(text: string) {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  return { doc, lineCounter };
}

/**
 * js-yaml's CORE_SCHEMA reads plain scalars as YAML 1.2 core does, like `yaml` (no `yes`/`on`
 * booleans, no timestamps, `0o17` octal). Where the two could still disagree, this returns
 * undefined and the caller takes the `yaml` path, so the outcome is always what `yaml` gives:
 * - errors of any kind, empty and multi-document files: `yaml` words the problem;
 * - explicit tags: `yaml` keeps a string it cannot resolve (`!!float x`), js-yaml throws or converts;
 * - `%YAML 1.1` directives switch `yaml` to 1.1 scalars;
 * - anchors and aliases: `yaml` limits alias expansion by throwing, and rejects some anchored keys;
 * - `...` anywhere, and a `---` not at the start of a line: the two read such markers differently;
 * - block scalars with an indentation indicator (`|2`): the two count the indentation differently;
 * - keys that are not strings: `yaml` turns a null key into "", js-yaml into "null";
 * - numbers too big for a double: `yaml` gives Infinity, js-yaml a string (`numberTag`);
 * - a lone CR: `yaml` keeps it inside the scalar, js-yaml breaks the line;
 * - a tab where indentation goes: `yaml` rejects it in places where js-yaml does not;
 * - a line over 1024 characters: `yaml` rejects an implicit key that long, js-yaml does not.
 */
export function fastLoad(text: string): { data: unknown } | undefined {
  if (SKIP_FAST.test(text) || hasLongLine(text)) return undefined;
  try {
    const events = parseEvents(text, {});
    let documents = 0;
    for (const event of events) {
      if (event.type === EVENT_ID.DOCUMENT) {
        documents += 1;
        // Stryker disable next-line ConditionalExpression,LogicalOperator: a directive comes before a `---` not at the start of the text, which the check below refuses too, and SKIP_FAST refuses a `...` line
        if (event.directives.length > 0 || event.explicitEnd) return undefined;
        if (event.explicitStart && !DOCUMENT_START.test(text)) return undefined;
        continue;
      }
      // Stryker disable next-line ConditionalExpression: an alias needs an anchor, at which the fast path has already given up
      if (event.type === EVENT_ID.ALIAS) return undefined;
      if (event.type === EVENT_ID.POP) continue;
      if (event.tagStart !== -1) return undefined;
      // Stryker disable next-line ConditionalExpression: an anchor matters only to an alias, at which the fast path gives up
      if (event.anchorStart !== -1) return undefined;
    }
    if (documents !== 1) return undefined;
    return { data: constructFromEvents(events, { source: text, schema: fastSchema })[0] };
  } catch {
    // js-yaml's errors and the tags' refusals alike: `yaml` reads the text and words any problem.
  }
  return undefined;
}

/** A lone CR, a tab in indentation, a block scalar's indentation indicator, a `...` line. */
const SKIP_FAST = /\r(?!\n)|^ *\t|[|>](?:[1-9]|[-+][1-9])|^\.\.\.(?:\s|$)/m;

/** A loop, as a regular expression for this is ~50× slower on a fleet's worth of YAML. */
function hasLongLine(text: string): boolean {
  for (let start = 0, end = 0; end !== -1; start = end + 1) {
    end = text.indexOf("\n", start);
    if ((end === -1 ? text.length : end) - start > 1024) return true;
  }
  return false;
}

/** A `---` at the very start of a line, before which there are only blank and comment lines. */
const DOCUMENT_START = /^(?:[ \t]*(?:#.*)?\r?\n)*---(?:[ \t\r\n]|$)/;

/** Maps with string keys only; anything else makes js-yaml fail, and so fall back (see above). */
const stringKeyMapTag = defineMappingTag<Record<string, unknown>>("tag:yaml.org,2002:map", {
  create: () => ({}),
  addPair: (map, key, value) => {
    if (typeof key !== "string" || key === "__proto__") return "not a plain string key";
    map[key] = value;
    return "";
  },
  // A key that is not a string makes the fast path give up whatever this says: addPair refuses it.
  has: (map, key) => Object.hasOwn(map, key as PropertyKey),
  keys: (map) => Object.keys(map),
  // Stryker disable next-line all: js-yaml calls get only to merge `<<` keys, which CORE_SCHEMA does not do
  get: (map, key) => (typeof key === "string" ? map[key] : undefined),
  // Stryker disable next-line all: js-yaml calls identify only when dumping
  identify: () => false,
});

/** YAML 1.2 core's numeric forms; js-yaml leaves one that overflows a double as a string. */
const CORE_NUMBER = /^(?:[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?|0o[0-7]+|0x[0-9a-fA-F]+)$/;

/** The last implicit resolver js-yaml tries for a plain scalar that starts like a number. */
const numberTag = defineScalarTag("tag:yaml.org,2002:float", {
  implicit: true,
  implicitFirstChars: floatCoreTag.implicitFirstChars,
  resolve: (source, isExplicit, tagName) => {
    const value = floatCoreTag.resolve(source, isExplicit, tagName);
    // Stryker disable next-line StringLiteral: fastLoad swallows the error and falls back to `yaml`, which words the result
    if (value === NOT_RESOLVED && CORE_NUMBER.test(source)) throw new Error("number out of range");
    return value;
  },
  // Stryker disable next-line all: js-yaml calls identify only when dumping
  identify: () => false,
});

const fastSchema = CORE_SCHEMA.withTags(stringKeyMapTag, numberTag);

function yamlMessage(code: string, message: string): string {
  // `yaml`'s only duplicate-key message is "Map keys must be unique".
  if (code === "DUPLICATE_KEY") return "duplicate key: a key appears twice in the same map";
  // Stryker disable next-line LogicalOperator: no message of `yaml` spans lines with prettyErrors off; this keeps a future one to its first line
  return `invalid YAML: ${message.split("\n")[0] ?? message}`;
}

/**
 * The offset of the deepest node along `path`. A key that does not exist (a required field left
 * out) resolves to its parent map, which is where the operator has to add it. Also used by the
 * changelog's hosted-mode file, so both report problems at the same places.
 */
export function offsetOf(doc: Document, path: readonly PropertyKey[]): number {
  let node: Node | null = doc.contents as Node | null;
  // Stryker disable next-line OptionalChaining: every node of a parsed document has a range
  let offset = node?.range?.[0] ?? 0;
  for (const key of path) {
    if (isMap(node)) {
      const pair = node.items.find(
        (item) => isPair(item) && isScalar(item.key) && String(item.key.value) === String(key),
      );
      if (!pair) break;
      // Stryker disable next-line OptionalChaining: every node of a parsed document has a range
      offset = (pair.key as Node).range?.[0] ?? offset;
      node = (pair.value as Node | null) ?? null;
    } else if (isSeq(node)) {
      // A key that is not a position (a name, a symbol) finds no item.
      const item = node.items[key as number] as Node | undefined;
      if (!item) break;
      node = item;
      // Stryker disable next-line OptionalChaining: every node of a parsed document has a range
      offset = item.range?.[0] ?? offset;
    } else break;
  }
  return offset;
}

/** zod issues as located problems; an unknown key becomes one problem on that key's own line. */
export function zodProblems(source: YamlSource, error: z.ZodError): Problem[] {
  const problems: Problem[] = [];
  for (const issue of error.issues) {
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) {
        const path = [...issue.path, key];
        problems.push({
          file: source.file,
          line: source.lineOf(path),
          field: formatField(path),
          message: "unknown field",
        });
      }
      continue;
    }
    problems.push({
      file: source.file,
      line: source.lineOf(issue.path),
      field: formatField(issue.path),
      message: issueMessage(issue),
    });
  }
  return problems;
}

function issueMessage(issue: z.core.$ZodIssue): string {
  if (issue.code === "invalid_type") {
    if (issue.input === undefined) return `required (expected ${issue.expected})`;
    // zod checks the type first: "int" is expected only of a number.
    if (issue.expected === "int") return "must be a whole number";
    const got = Array.isArray(issue.input) ? "a list" : issue.input === null ? "null" : typeof issue.input;
    const want =
      issue.expected === "object" ? "a map" : issue.expected === "array" ? "a list" : issue.expected;
    return `expected ${want}, got ${got}`;
  }
  if (issue.code === "invalid_value")
    return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`;
  return issue.message;
}
