const SHORT = /^sha256:[0-9a-f]{12}/;

/** `sha256:3f2a9c1b7e4d`: the first 12 hex, as commit messages, logs and emails show a digest. */
export function shortDigest(digest: string): string {
  return SHORT.exec(digest)?.[0] ?? digest.replace(/\s+/g, " ").trim().slice(0, 19);
}

/** `3f2a9c1b7e4d`, or `none` for no digest: a digest in a table column, where the prefix is noise. */
export function digestCell(digest: string | null | undefined, none = "—"): string {
  if (!digest) return none;
  return shortDigest(digest).replace(/^sha256:/, "");
}

/**
 * Whether `wanted` names `digest`: the full digest, or at least its first 12 hex digits (with or
 * without `sha256:`), as tables and commit subjects show it.
 */
export function digestMatches(digest: string, wanted: string): boolean {
  const w = wanted.trim();
  if (w === digest) return true;
  const hex = w.replace(/^sha256:/, "");
  return /^[0-9a-f]{12,64}$/.test(hex) && digest.startsWith(`sha256:${hex}`);
}
