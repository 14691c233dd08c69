/** Number formats shared by the Markdown and HTML reports (and the terminal table). */
import { formatSnr, type EvalRecord } from './record.js';

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** Byte counts in binary units: 512 B, 4.50 KiB, 10.3 MiB; null prints as '-'. The one byte format of reports and the terminal. */
export function bytes(n: number | null): string {
  if (n === null) return '-';
  let v = n;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  if (u === 0) return `${n} B`;
  return `${v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)} ${UNITS[u]}`;
}

export function percent(x: number | null): string {
  return x === null ? '-' : `${(x * 100).toFixed(2)}%`;
}

export function fixed(x: number | null | undefined, digits = 3): string {
  return x === null || x === undefined ? '-' : x.toFixed(digits);
}

export function integer(n: number): string {
  return n.toLocaleString('en-US');
}

export function ms(x: number | null | undefined): string {
  return x === null || x === undefined ? '-' : x < 1 ? `${x.toFixed(3)} ms` : `${x.toFixed(2)} ms`;
}

/** The summary columns every report shows, one row per record. */
export function summaryRows(records: readonly EvalRecord[]): { header: string[]; rows: string[][] } {
  const header = [
    'model',
    'size',
    'params',
    'ratio',
    'accuracy',
    'F1 macro',
    'cosine',
    'SNR',
    'top-1 agree',
    'p50 (b=1)',
    'p95 (b=1)',
    'throughput',
    'peak RSS',
  ];
  const rows = records.map((r) => [
    r.model,
    bytes(r.sizeBytes),
    integer(r.params),
    r.compressionRatio === null ? '-' : `${r.compressionRatio.toFixed(2)}x`,
    percent(r.accuracy),
    fixed(r.f1Macro, 4),
    r.fidelity ? r.fidelity.cosine.toFixed(6) : '-',
    formatSnr(r.fidelity?.snrDb ?? null),
    r.fidelity ? percent(r.fidelity.top1Agreement) : '-',
    ms(r.latencyMs?.p50),
    ms(r.latencyMs?.p95),
    `${Math.round(r.throughputSamplesPerS).toLocaleString('en-US')}/s`,
    bytes(r.peakRssBytes),
  ]);
  return { header, rows };
}
