/** Markdown report for READMEs and pull requests, rendered from canonical records. */
import { fixed, ms, summaryRows } from './format.js';
import type { EvalRecord } from './record.js';

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  // First column names the row; the rest are figures.
  const align = header.map((_, i) => (i === 0 ? '---' : '---:'));
  return `${[`| ${header.map(esc).join(' | ')} |`, `| ${align.join(' | ')} |`, ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`)].join('\n')}\n`;
}

export function renderMarkdown(records: readonly EvalRecord[], options: { title?: string } = {}): string {
  const out: string[] = [`# ${options.title ?? 'modelpress evaluation'}`, ''];
  const first = records[0];
  if (first)
    out.push(
      `Data: \`${first.data.source}\`, ${first.data.samples.toLocaleString('en-US')} ${first.data.labeled ? 'labelled samples' : 'runs'}, batch size ${first.data.batchSize}.`,
      '',
    );
  const { header, rows } = summaryRows(records);
  out.push(table(header, rows));
  const batched = records.filter((r) => r.latencyBatchMs);
  if (batched.length) {
    out.push('## Latency at batch size', '');
    out.push(
      table(
        ['model', 'batch', 'p50', 'p95', 'p99', 'per sample (p50)'],
        batched.map((r) => {
          const l = r.latencyBatchMs!;
          return [r.model, String(l.batchSize), ms(l.p50), ms(l.p95), ms(l.p99), ms(l.p50 / l.batchSize)];
        }),
      ),
    );
  }
  const classified = records.filter((r) => r.perClass);
  if (classified.length) {
    out.push('## F1 per class', '');
    const classes = classified[0]!.perClass!.map((c) => String(c.class));
    out.push(
      table(
        ['model', ...classes],
        classified.map((r) => [r.model, ...r.perClass!.map((c) => fixed(c.f1, 3))]),
      ),
    );
  }
  const withRef = records.filter((r) => r.fidelity && r.fidelity.outputs.length > 1);
  if (withRef.length) {
    out.push('## Fidelity per output', '');
    out.push(
      table(
        ['model', 'output', 'cosine', 'SNR', 'max |err|', 'mean |err|'],
        withRef.flatMap((r) =>
          r.fidelity!.outputs.map((o) => [
            r.model,
            o.output,
            o.cosine.toFixed(6),
            typeof o.snrDb === 'string' ? o.snrDb : `${o.snrDb.toFixed(1)} dB`,
            o.maxAbsError.toExponential(2),
            o.meanAbsError.toExponential(2),
          ]),
        ),
      ),
    );
  }
  const withEnergy = records.filter((r) => r.energy);
  if (withEnergy.length) {
    const uj = (v: number) => v.toPrecision(4);
    out.push(`## Energy per inference (estimate, ${withEnergy[0]!.energy!.table})`, '');
    out.push('Dense is what onnxruntime executes; ideally sparse skips the MACs and weight reads of zero weights.', '');
    out.push(
      table(
        ['model', 'count', 'total µJ', 'compute µJ', 'memory µJ', 'MACs'],
        withEnergy.flatMap((r) => {
          const e = r.energy!;
          const rows = [[r.model, 'dense', uj(e.totalUJ), uj(e.computeUJ), uj(e.memoryUJ), Math.round(e.macs).toLocaleString('en-US')]];
          if (e.sparse && e.sparse.totalUJ <= 0.99 * e.totalUJ)
            rows.push([
              r.model,
              'ideally sparse',
              uj(e.sparse.totalUJ),
              uj(e.sparse.computeUJ),
              uj(e.sparse.memoryUJ),
              Math.round(e.sparse.macs).toLocaleString('en-US'),
            ]);
          return rows;
        }),
      ),
    );
  }
  return out.join('\n');
}
