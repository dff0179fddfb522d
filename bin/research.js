#!/usr/bin/env node
// The `research` CLI. Runs the TypeScript sources directly through tsx, so no build step is needed after `npm install`.
import { register } from "tsx/esm/api";
register();
const { main } = await import("../src/cli/main.ts");
await main(process.argv);
