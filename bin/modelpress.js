#!/usr/bin/env node
// Runs the built CLI (npm run build writes dist/).
import { installSignalHandlers, run } from '../dist/cli/main.js';

installSignalHandlers();
process.exitCode = await run(process.argv.slice(2));
