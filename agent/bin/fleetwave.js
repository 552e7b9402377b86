#!/usr/bin/env node
// The CLI runs its TypeScript sources through tsx so a clean `npm ci` needs no build step.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../src/cli/main.ts");
process.exitCode = await main(process.argv.slice(2));
