/**
 * The dashboard page's inline script, kept in dashboard.client.js so it is plain browser
 * JavaScript an editor and a linter understand. scripts/build.ts replaces this module with the
 * file's text, so the built package has no sidecar file to read at start-up.
 */
import { readFileSync } from "node:fs";

export const CLIENT_SCRIPT = readFileSync(new URL("./dashboard.client.js", import.meta.url), "utf8");
