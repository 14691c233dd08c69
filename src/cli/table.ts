/**
 * Plain-text tables for terminal output: columns padded to their widest cell,
 * numbers right-aligned, text left-aligned; plus the number and size formats
 * every command prints with.
 */
import { bytes } from '../report/format.js';
import { terminalSafe } from './io.js';

export interface Column {
  readonly header: string;
  /** 'right' for numbers (the default when every body cell of the column is a number). */
  readonly align?: 'left' | 'right';
}

export type Cell = string | number | null | undefined;

/** Renders a table with a header row and a dashed rule; `null`/`undefined` cells print as '-'. */
export function formatTable(columns: readonly (Column | string)[], rows: readonly (readonly Cell[])[]): string {
  const cols = columns.map((c) => (typeof c === 'string' ? { header: c } : c));
  const text = rows.map((r) => cols.map((_, i) => cellText(r[i])));
  const widths = cols.map((c, i) => Math.max(c.header.length, ...text.map((r) => r[i]!.length)));
  const aligns = cols.map(
    (c, i) => c.align ?? (rows.length > 0 && rows.every((r) => typeof r[i] === 'number' || r[i] == null) ? 'right' : 'left'),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((s, i) => (aligns[i] === 'right' ? s.padStart(widths[i]!) : s.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  const out = [line(cols.map((c) => c.header)), line(widths.map((w) => '-'.repeat(w))), ...text.map(line)];
  return `${out.join('\n')}\n`;
}

function cellText(c: Cell): string {
  if (c === null || c === undefined) return '-';
  return typeof c === 'number' ? formatNumber(c) : terminalSafe(c);
}

/** Integers with thousands separators; other numbers with 4 significant digits, exponent form when very large or small. */
export function formatNumber(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (Number.isInteger(x) && Math.abs(x) < 1e15) return groupThousands(x);
  const a = Math.abs(x);
  if (a !== 0 && (a >= 1e6 || a < 1e-3)) return x.toExponential(3);
  return Number(x.toPrecision(4)).toString();
}

function groupThousands(n: number): string {
  const s = Math.abs(n).toString();
  let out = '';
  for (let i = 0; i < s.length; i++) {
    if (i > 0 && (s.length - i) % 3 === 0) out += ',';
    out += s[i];
  }
  return n < 0 ? `-${out}` : out;
}

/** Byte counts in binary units: 512 B, 4.50 KiB, 10.3 MiB (the reports' format). */
export function humanBytes(n: number): string {
  return bytes(n);
}

/** A fraction as a percentage with one decimal: 0.1234 -> '12.3%'. */
export function formatPercent(fraction: number): string {
  return `${(fraction * 100).toFixed(1)}%`;
}
