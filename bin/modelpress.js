#!/usr/bin/env node
// Runs the built CLI (npm run build writes dist/).
import { run } from '../dist/cli/main.js';

process.exitCode = await run(process.argv.slice(2));
