#!/usr/bin/env node
// The built CLI's entry point (scripts/build.ts bundles it into dist/fleetwave.js). Source maps are
// switched on before the rest of the CLI loads, so a crash names the TypeScript file and line.
process.setSourceMapsEnabled(true);
const { main } = await import("./main.ts");
process.exitCode = await main(process.argv.slice(2));
