#!/usr/bin/env node
// The development entry (`npm run fleetwave`, the demo, the tests): runs the TypeScript sources
// through tsx, a dev dependency, so a checkout needs no build. The package's `fleetwave` is the
// build of agent/src/cli/bin.ts in dist/ (scripts/build.ts).
import { register } from "tsx/esm/api";

register();
const { main } = await import("../src/cli/main.ts");
process.exitCode = await main(process.argv.slice(2));
