/** The table and number formatting inspect prints with (src/cli/table.ts), and the progress no-op off a TTY. */
import { describe, expect, it } from 'vitest';
import { memoryIO } from '../../src/cli/io.js';
import { startProgress } from '../../src/cli/progress.js';
import { formatNumber, formatPercent, formatTable, humanBytes } from '../../src/cli/table.js';

describe('formatTable', () => {
  it('pads columns, right-aligns numbers, left-aligns text', () => {
    const out = formatTable(
      ['name', 'params', { header: 'dtype', align: 'left' }],
      [
        ['conv.weight', 1171841, 'float32'],
        ['b', 12, 'int64'],
        ['c', null, 'string'],
      ],
    );
    expect(out).toBe(
      [
        'name            params  dtype',
        '-----------  ---------  -------',
        'conv.weight  1,171,841  float32',
        'b                   12  int64',
        'c                    -  string',
        '',
      ].join('\n'),
    );
  });

  it('prints only the header for no rows', () => {
    expect(formatTable(['a', 'bb'], [])).toBe('a  bb\n-  --\n');
  });
});

describe('number formats', () => {
  it('formats counts, floats, sizes and percentages', () => {
    expect(formatNumber(2690296)).toBe('2,690,296');
    expect(formatNumber(-1234)).toBe('-1,234');
    expect(formatNumber(0.123456)).toBe('0.1235');
    expect(formatNumber(1.5e8 + 0.5)).toBe('1.500e+8');
    expect(formatNumber(2e-5)).toBe('2.000e-5');
    expect(formatNumber(NaN)).toBe('NaN');
    expect(humanBytes(512)).toBe('512 B');
    expect(humanBytes(4608)).toBe('4.50 KiB');
    expect(humanBytes(10.8e6)).toBe('10.3 MiB');
    expect(humanBytes(3 * 1024 ** 3)).toBe('3.00 GiB');
    expect(formatPercent(0.1234)).toBe('12.3%');
  });
});

describe('startProgress', () => {
  it('draws nothing when stderr is not a terminal', () => {
    const io = memoryIO();
    const p = startProgress(io, 'reading', 10);
    p.update(5);
    p.increment();
    p.stop();
    p.stop();
    expect(io.err).toBe('');
    expect(io.out).toBe('');
  });
});
