/**
 * The CLI reference tables of docs/CLI.md, generated from the commander
 * definitions: one usage line and one table (arguments, then options) per
 * command, written between `<!-- cli-reference:NAME -->` and
 * `<!-- /cli-reference:NAME -->`; the prose around them stays hand-written.
 * `npx tsx scripts/cli-docs.ts` rewrites the file; test/cli/docs.test.ts
 * fails when it is stale.
 */
import type { Argument, Command, Option } from 'commander';
import { ModelpressError } from '../core/errors.js';
import { memoryIO } from './io.js';
import { buildProgram } from './main.js';

const DEFAULT_NOTE = / \(default: ([\s\S]*)\)$/;

/** Markdown-safe table cell text: pipes, stars and tag openers escaped, line breaks as <br>. */
function cell(text: string): string {
  return text
    .trim()
    .replace(/[|*<]/g, '\\$&')
    .split('\n')
    .map((l) => l.trim())
    .join('<br>');
}

function code(text: string): string {
  return `\`${text}\``;
}

function argumentRow(a: Argument): string[] {
  const name = `${a.required ? '<' : '['}${a.name()}${a.variadic ? '...' : ''}${a.required ? '>' : ']'}`;
  return [code(name), cell(a.description), a.required ? 'required' : ''];
}

function defaultText(o: Option): { description: string; value: string } {
  const m = DEFAULT_NOTE.exec(o.description);
  if (m) return { description: o.description.slice(0, m.index), value: m[1]! };
  if (o.mandatory) return { description: o.description, value: 'required' };
  if (o.defaultValue === undefined || o.negate) return { description: o.description, value: '' };
  const v = o.defaultValue as unknown;
  return { description: o.description, value: Array.isArray(v) ? v.join(',') : String(v) };
}

function optionRow(o: Option): string[] {
  const d = defaultText(o);
  const choices = o.argChoices ? ` (${o.argChoices.map(code).join(', ')})` : '';
  return [code(o.flags), cell(d.description) + choices, d.value === '' ? '' : d.value === 'required' ? 'required' : cell(d.value)];
}

/** The usage line and the table of one command. */
export function commandReference(cmd: Command): string {
  const rows = [...cmd.registeredArguments.map(argumentRow), ...cmd.options.filter((o) => !o.hidden).map(optionRow)];
  const lines = ['```', `modelpress ${cmd.name()} ${cmd.usage()}`, '```', '', '| argument / option | meaning | default |', '|---|---|---|'];
  for (const r of rows) lines.push(`| ${r.join(' | ')} |`);
  return lines.join('\n');
}

function markers(name: string): { start: string; end: string } {
  return { start: `<!-- cli-reference:${name} -->`, end: `<!-- /cli-reference:${name} -->` };
}

/** The commands of the CLI as the program defines them. */
export function cliCommands(): readonly Command[] {
  return buildProgram(memoryIO()).commands;
}

/** `doc` with every command's block regenerated; E_FORMAT when a command has no marker pair. */
export function renderCliReference(doc: string, commands: readonly Command[] = cliCommands()): string {
  let out = doc;
  for (const cmd of commands) {
    const { start, end } = markers(cmd.name());
    const a = out.indexOf(start);
    const b = out.indexOf(end);
    if (a < 0 || b < a) throw new ModelpressError('E_FORMAT', `docs/CLI.md has no "${start}" ... "${end}" block for command ${cmd.name()}`);
    out = `${out.slice(0, a + start.length)}\n${commandReference(cmd)}\n${out.slice(b)}`;
  }
  return out;
}
