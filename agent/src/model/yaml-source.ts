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

export function parseYaml(file: string, text: string): ParseResult {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
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
  return { ok: true, source: { file, data: doc.toJS({ maxAliasCount: 100 }), lineOf } };
}

function yamlMessage(code: string, message: string): string {
  const firstLine = message.split("\n")[0] ?? message;
  if (code === "DUPLICATE_KEY")
    return `duplicate key: ${firstLine.replace(/^Map keys must be unique.*$/, "a key appears twice in the same map")}`;
  return `invalid YAML: ${firstLine}`;
}

/**
 * The offset of the deepest node along `path`. A key that does not exist (a required field left
 * out) resolves to its parent map, which is where the operator has to add it.
 */
function offsetOf(doc: Document, path: readonly PropertyKey[]): number {
  let node: Node | null = doc.contents as Node | null;
  let offset = node?.range?.[0] ?? 0;
  for (const key of path) {
    if (isMap(node)) {
      const pair = node.items.find(
        (item) => isPair(item) && isScalar(item.key) && String(item.key.value) === String(key),
      );
      if (!pair) break;
      offset = (pair.key as Node).range?.[0] ?? offset;
      node = (pair.value as Node | null) ?? null;
      if (node?.range && !isMap(node) && !isSeq(node)) offset = Math.min(offset, node.range[0]);
    } else if (isSeq(node) && typeof key === "number") {
      const item = node.items[key] as Node | undefined;
      if (!item) break;
      node = item;
      offset = item.range?.[0] ?? offset;
    } else {
      break;
    }
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
    if (issue.expected === "int" && typeof issue.input === "number") return "must be a whole number";
    const got = Array.isArray(issue.input) ? "a list" : issue.input === null ? "null" : typeof issue.input;
    const want =
      issue.expected === "object" ? "a map" : issue.expected === "array" ? "a list" : issue.expected;
    return `expected ${want}, got ${got}`;
  }
  if (issue.code === "invalid_value")
    return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`;
  return issue.message;
}
