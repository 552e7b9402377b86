#!/usr/bin/env node
// The built CLI's entry point: scripts/build.ts bundles it into dist/fleetwave.js, each command a
// chunk of its own. Source maps are in dist/ but off by default (they cost ~4 MB at every start);
// NODE_OPTIONS=--enable-source-maps makes a stack trace name the TypeScript files and lines.
import { main } from "./main.ts";

process.exitCode = await main(process.argv.slice(2));
