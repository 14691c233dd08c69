/** docs/CLI.md's reference tables are the commander definitions: a stale table or an option the CLI rejects fails here. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cliCommands, commandReference, renderCliReference } from '../../src/cli/reference.js';

const DOC = new URL('../../docs/CLI.md', import.meta.url);
const doc = readFileSync(DOC, 'utf8');

/** The text of each `## <command>` section. */
function sections(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const parts = text.split(/^## /m).slice(1);
  for (const p of parts) out.set(p.slice(0, p.indexOf('\n')).trim(), p);
  return out;
}

/** Options named in the first cell of a table row of a command's section that the command does not accept. */
function unknownFlags(text: string): string[] {
  const bySection = sections(text);
  const wrong: string[] = [];
  for (const cmd of cliCommands()) {
    const body = bySection.get(cmd.name());
    if (body === undefined) {
      wrong.push(`${cmd.name()}: no section`);
      continue;
    }
    const flags = new Set(cmd.options.flatMap((o) => [o.long, o.short].filter((f): f is string => f !== undefined)));
    for (const line of body.split('\n')) {
      const first = /^\| ([^|]*) \|/.exec(line)?.[1] ?? '';
      for (const f of first.match(/(?<![\w-])--?[a-z][a-z0-9-]*/g) ?? []) if (!flags.has(f)) wrong.push(`${cmd.name()}: ${f}`);
    }
  }
  return wrong;
}

describe('docs/CLI.md reference tables', () => {
  it('are what scripts/cli-docs.ts generates from the commander definitions (run npx tsx scripts/cli-docs.ts)', () => {
    expect(renderCliReference(doc)).toBe(doc);
  });

  it('has a generated block for every command', () => {
    const names = cliCommands().map((c) => c.name());
    expect(names.length).toBeGreaterThanOrEqual(15);
    for (const n of names) expect(doc, n).toContain(`<!-- cli-reference:${n} -->`);
  });

  it('lists every option and argument with its default', () => {
    const inspect = cliCommands().find((c) => c.name() === 'inspect')!;
    const table = commandReference(inspect);
    expect(table).toContain('| `<file>` |');
    expect(table).toMatch(/\| `--top <n>` \| [^|]+ \| 20 \|/);
    const quantize = commandReference(cliCommands().find((c) => c.name() === 'quantize')!);
    expect(quantize).toMatch(/\| `-o, --output <file>` \| output file \| required \|/);
    expect(quantize).toMatch(/\| `--kmeans-init <init>` \| .*`kmeans\+\+`.* \| linear \|/);
  });

  it('a hand-written table row names only options its command accepts', () => {
    expect(unknownFlags(doc)).toEqual([]);
    const rejected = doc.replace(/^## sensitivity\n/m, '## sensitivity\n\n| `--no-such-flag <n>` | made up |\n');
    expect(unknownFlags(rejected)).toEqual(['sensitivity: --no-such-flag']);
  });

  it('a stale table is detected', () => {
    const stale = doc.replace(/(<!-- cli-reference:inspect -->\n[\s\S]*?)\| 20 \|/, '$1| 15 |');
    expect(stale).not.toBe(doc);
    expect(renderCliReference(stale)).toBe(doc);
  });
});
