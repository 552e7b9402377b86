import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: [
            "agent/**/*.test.ts",
            "scripts/**/*.test.ts",
            "actions/**/*.test.ts",
            "test/unit/**/*.test.ts",
          ],
        },
      },
      {
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts"],
          globalSetup: ["test/support/global-setup.ts"],
          testTimeout: 180_000,
          hookTimeout: 300_000,
          // One Docker Engine on two cores: files run one after another so timings stay sane.
          fileParallelism: false,
        },
      },
      {
        test: {
          // Faults of the world around the agent: dockerd restarted or killed, a second agent, a
          // rewritten remote, a full disk. Each case asserts the invariants after its fault.
          name: "faults",
          include: ["test/faults/**/*.test.ts"],
          // A group of its own (vitest runs groups one after another): some cases restart engines
          // of their own, which the two cores feel, so they never run beside the other projects.
          sequence: { groupOrder: 1 },
          globalSetup: ["test/support/global-setup.ts"],
          testTimeout: 300_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          // The same setup installs Debian's chromium with the engine's packages when missing.
          globalSetup: ["test/support/global-setup.ts"],
          testTimeout: 60_000,
        },
      },
    ],
  },
});
