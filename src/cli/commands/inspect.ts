/**
 * `modelpress inspect <file> [--json] [--top N]`: what a model holds, tensor
 * by tensor (dtype, shape, size, location, value statistics and entropy
 * estimates), totals by dtype and location, duplicated tensors, and for ONNX
 * the graph facts (IR version, opsets, op histogram, inputs/outputs).
 * The --json object is documented in docs/CLI.md (schema modelpress.inspect/1).
 */
import type { Command } from 'commander';
import type { OnnxValueSummary } from '../../formats/onnx/index.js';
import { loadModel } from '../../node/load.js';
import { buildInspectReport, INSPECT_SCHEMA, type InspectReport } from '../../report/inspect.js';
import type { CliIO } from '../io.js';
import { option, topOption, followSymlinksOption } from '../options.js';
import { startProgress } from '../progress.js';
import { formatNumber, formatPercent, formatTable, humanBytes } from '../table.js';

export {
  buildInspectReport,
  INSPECT_SCHEMA,
  locationCategory,
  type InspectInput,
  type InspectReport,
  type InspectTensor,
  type InspectTotalsRow,
} from '../../report/inspect.js';

function num(x: number | null, digits = 4): string | null {
  if (x === null) return null;
  if (x === 0) return '0';
  const a = Math.abs(x);
  return a >= 1e5 || a < 1e-3 ? x.toExponential(2) : Number(x.toPrecision(digits)).toString();
}

/** Cuts the middle out of long labels: both the start (kind) and the end (innermost graph/name) stay readable. */
function shorten(s: string, max: number): string {
  if (s.length <= max) return s;
  const head = Math.floor((max - 3) / 2);
  return `${s.slice(0, head)}...${s.slice(s.length - (max - 3 - head))}`;
}

function bitsText(x: number | null): string | null {
  return x === null ? null : x.toFixed(2);
}

function valueText(v: OnnxValueSummary): string {
  return `${v.name}: ${v.dtype}${v.rankKnown ? `[${v.shape.join(', ')}]` : ' (shape not given)'}`;
}

/** The terminal rendering of a report; `top` limits the tensor table to the N largest. */
export function renderInspectText(r: InspectReport, top: number): string {
  const out: string[] = [];
  out.push(`${r.file}: ${r.format}, ${humanBytes(r.sizeBytes)} in ${r.files.length} file${r.files.length === 1 ? '' : 's'}`);
  out.push(
    `${formatNumber(r.totals.tensors)} tensors, ${formatNumber(r.totals.params)} parameters, ${humanBytes(r.totals.bytes)} of tensor data`,
  );
  if (r.onnx) {
    const o = r.onnx;
    out.push(
      `ONNX IR version ${o.irVersion}${o.producer ? `, producer ${o.producer}` : ''}; opsets: ${o.opsets.map((s) => `${s.domain || 'ai.onnx'} ${s.version}`).join(', ') || 'none'}`,
    );
    out.push(`${formatNumber(o.nodeCount)} nodes in ${o.subgraphCount + 1} graph${o.subgraphCount ? 's' : ''}`);
    for (const v of o.inputs) out.push(`  input  ${valueText(v)}`);
    for (const v of o.outputs) out.push(`  output ${valueText(v)}`);
    const ops = Object.entries(o.opHistogram).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    if (ops.length) out.push(`ops: ${ops.map(([k, n]) => `${k} ${n}`).join(', ')}`);
  }
  if (r.tfjs)
    out.push(
      `TF.js ${r.tfjs.kind}${r.tfjs.convertedBy ? `, converted by ${r.tfjs.convertedBy}` : ''}; shards: ${r.tfjs.shards.join(', ') || 'none'}`,
    );
  if (r.safetensors && Object.keys(r.safetensors.metadata).length) {
    out.push(
      `metadata: ${Object.entries(r.safetensors.metadata)
        .map(([k, v]) => `${k}=${v.length > 60 ? `${v.slice(0, 57)}...` : v}`)
        .join(', ')}`,
    );
  }
  out.push('', 'by dtype');
  out.push(
    formatTable(
      ['dtype', 'tensors', 'params', 'bytes'],
      r.totals.byDtype.map((d) => [d.dtype, d.tensors, d.params, humanBytes(d.bytes)]),
    ).trimEnd(),
  );
  out.push('', 'by location');
  out.push(
    formatTable(
      ['location', 'tensors', 'params', 'bytes'],
      r.totals.byLocation.map((d) => [d.location, d.tensors, d.params, humanBytes(d.bytes)]),
    ).trimEnd(),
  );

  const largest = [...r.tensors].sort((a, b) => b.bytes - a.bytes || b.params - a.params).slice(0, top);
  if (largest.length) {
    out.push('', largest.length < r.tensors.length ? `largest ${largest.length} of ${r.tensors.length} tensors` : 'tensors');
    const right = { align: 'right' as const };
    out.push(
      formatTable(
        [
          'name',
          'dtype',
          'shape',
          { header: 'params', ...right },
          { header: 'bytes', ...right },
          'location',
          { header: 'min', ...right },
          { header: 'max', ...right },
          { header: 'mean', ...right },
          { header: 'std', ...right },
          { header: 'zeros', ...right },
          { header: 'H raw', ...right },
          { header: 'H 8bit', ...right },
        ],
        largest.map((t) => [
          shorten(t.name, 48),
          t.dtype,
          `[${t.shape.join(',')}]`,
          t.params,
          humanBytes(t.bytes),
          shorten(t.where, 44),
          num(t.min),
          num(t.max),
          num(t.mean),
          num(t.std),
          t.zeroFraction === null ? null : formatPercent(t.zeroFraction),
          bitsText(t.entropy.rawBits),
          bitsText(t.entropy.quant8Bits),
        ]),
      ).trimEnd(),
    );
    out.push('(H raw: entropy of the stored bytes; H 8bit: after uniform 8-bit quantization; bits per parameter)');
  }
  const nonFinite = r.tensors.filter((t) => t.nanCount + t.infCount > 0);
  if (nonFinite.length)
    out.push(
      '',
      `non-finite values in ${nonFinite.length} tensors: ${nonFinite.map((t) => `${t.name} (${t.nanCount} NaN, ${t.infCount} Inf)`).join(', ')}`,
    );
  if (r.duplicates.length) {
    const wasted = r.duplicates.reduce((s, g) => s + g.wastedBytes, 0);
    out.push(
      '',
      `${r.duplicates.length} groups of duplicated tensors (identical dtype, shape and bytes), ${humanBytes(wasted)} stored more than once:`,
    );
    for (const g of r.duplicates) {
      const names = g.names.length > 6 ? [...g.names.slice(0, 6), `... ${g.names.length - 6} more`] : g.names;
      out.push(`  ${g.copies} x ${g.dtype}[${g.shape.join(',')}] (${humanBytes(g.bytes)}): ${names.join(', ')}`);
    }
  } else out.push('', 'no duplicated tensors');
  return `${out.join('\n')}\n`;
}

export function register(program: Command, io: CliIO): void {
  program
    .command('inspect')
    .description('show what a model holds: tensors, dtypes, sizes, locations, value statistics, entropy, duplicates; ONNX graph facts')
    .argument(
      '<file>',
      'model file: .onnx (external data next to it is read), .safetensors, or a TF.js model JSON (shards next to it are read)',
    )
    .addOption(option('--json', `print a JSON object (schema ${INSPECT_SCHEMA}, docs/CLI.md) instead of tables`))
    .addOption(topOption('tensors in the terminal table, largest (bytes) first; 0 hides the table (the JSON lists all)'))
    .addOption(followSymlinksOption())
    .action((file: string, opts: { json?: boolean; top: number; followSymlinks?: boolean }) => {
      const model = loadModel(file, { followSymlinks: opts.followSymlinks });
      const progress = startProgress(opts.json ? { ...io, isTTY: false } : io, 'inspecting', model.tensors.length);
      let report: InspectReport;
      try {
        report = buildInspectReport(model, () => progress.increment());
      } finally {
        progress.stop();
      }
      io.stdout(opts.json ? `${JSON.stringify(report, null, 2)}\n` : renderInspectText(report, opts.top));
    });
}
