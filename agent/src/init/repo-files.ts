/**
 * Files `fleetwave init` copies verbatim from this repository into a new fleet repository. From a
 * source checkout they are read here; scripts/build.ts replaces this module with their text, so
 * the installed package has no sidecar files to find.
 */
import { readFileSync } from "node:fs";

const read = (path: string) => readFileSync(new URL(`../../../${path}`, import.meta.url), "utf8");

export const HOSTED_MODE_YAML = read("scripts/hosted-mode.yaml");
export const CHANGELOGS_README = read("changelogs/README.md");
