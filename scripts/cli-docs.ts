/**
 * Regenerates the CLI reference tables in docs/CLI.md from the commander
 * definitions (src/cli/reference.ts). `npx tsx scripts/cli-docs.ts` writes
 * the file; `--check` only reports whether it is current (exit 1 when stale).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderCliReference } from '../src/cli/reference.js';

const path = fileURLToPath(new URL('../docs/CLI.md', import.meta.url));
const doc = readFileSync(path, 'utf8');
const next = renderCliReference(doc);
if (process.argv.includes('--check')) {
  if (next !== doc) {
    process.stderr.write('docs/CLI.md is stale: run npx tsx scripts/cli-docs.ts\n');
    process.exitCode = 1;
  }
} else if (next !== doc) {
  writeFileSync(path, next);
  process.stdout.write('docs/CLI.md: reference tables regenerated\n');
} else process.stdout.write('docs/CLI.md: up to date\n');
