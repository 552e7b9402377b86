import { configDefaults, defineConfig } from "vitest/config";

// The unit tests of the pure core, alone: what `npm run test:mutation` runs against every mutant.
export default defineConfig({
  test: {
    // Instrumented code on a busy machine: the property tests need more than the default 5 s.
    testTimeout: 60_000,
    include: [
      "agent/src/model/**/*.test.ts",
      "agent/src/plan/**/*.test.ts",
      "scripts/changelog/**/*.test.ts",
      "agent/src/agent/outcome-events.test.ts",
      "agent/src/http/tokens.test.ts",
      "agent/src/http/webhook.test.ts",
    ],
    // These build git repositories (the CLI, and real upstream histories replayed): seconds per
    // mutant, which made one changelog file take a quarter of an hour. The pure modules are held
    // by their own unit tests; these stay in the unit suite as the end-to-end check.
    exclude: [
      ...configDefaults.exclude,
      "scripts/changelog/changelog.test.ts",
      "scripts/changelog/corpus.test.ts",
    ],
  },
});
