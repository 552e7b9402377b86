/**
 * Measures the share of noise items (version, release, dependency, merge, test) in the
 * user-facing view of every corpus history: `npx tsx scripts/changelog/measure-noise.ts`.
 * Uses `scripts/hosted-mode.yaml` as a new user would; the corpora that do not use conventional
 * commits are measured with `unconventional: improved` (with `internal` they show nothing).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildCorpusRepo, CORPORA, loadCorpus, noiseKind } from "./corpus.ts";
import { DEFAULT_HOSTED_MODE_FILE, loadHostedModeConfig } from "./exclusions.ts";
import { generateChangelog } from "./generate.ts";

const UNCONVENTIONAL = new Set(["changesets", "express"]);

const config = await loadHostedModeConfig(
  join(import.meta.dirname, "..", "..", DEFAULT_HOSTED_MODE_FILE),
  true,
);
const dir = await mkdtemp(join(tmpdir(), "fleetwave-noise-"));
try {
  for (const corpus of CORPORA) {
    const repo = await buildCorpusRepo(join(dir, corpus.name), await loadCorpus(corpus.name));
    const generated = await generateChangelog({
      git: repo.git,
      from: repo.from,
      to: repo.to,
      date: "2026-01-01",
      config: {
        ...config,
        ...(UNCONVENTIONAL.has(corpus.name) ? { unconventional: "improved" as const } : {}),
      },
      github: corpus.upstream,
      outDir: null,
    });
    const items = generated.userFacing.sections.flatMap((s) => s.items);
    const noise = items.filter((item) => noiseKind(item) !== null);
    const share = items.length === 0 ? 0 : (100 * noise.length) / items.length;
    console.log(
      `${corpus.name.padEnd(11)} ${String(generated.changelog.total).padStart(4)} commits ` +
        `${String(items.length).padStart(4)} user-facing items ${String(noise.length).padStart(3)} noise ` +
        `(${share.toFixed(1)} %)`,
    );
    if (process.argv.includes("--list"))
      for (const item of noise) console.log(`    ${noiseKind(item)}: ${item}`);
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
