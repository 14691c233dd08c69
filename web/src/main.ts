/**
 * The page: takes a model (dropped, picked, or a bundled example), shows what
 * `modelpress inspect` shows, runs a quantization scheme or lossless packing in
 * a Web Worker (Cancel terminates it), offers the output as a download, and
 * measures its fidelity against the original with onnxruntime-web.
 */
import {
  datasetFromArrays,
  datasetSource,
  evaluate,
  type FeedSource,
  type InspectReport,
  limitSamples,
  ModelpressError,
  parseNpy,
  parseNpz,
  randomSource,
  type Tensor,
} from 'modelpress';
import { createWebRunner, decodeMpzFiles } from 'modelpress/browser';
import { configureOrt } from './ort.js';
import { renderCharts, renderHistogram } from './charts.js';
import type { Histogram, Job, OutFile, Reply, RunSummary, SchemeChoice, SchemeSize } from './protocol.js';

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T;

let model: File[] | undefined;
let downloadUrls: string[] = [];

/** The model's main file: the only one, or the TF.js model JSON among its shards. */
const mainFile = (files: readonly File[]): File =>
  files.length === 1 ? files[0]! : (files.find((f) => /\.json$/i.test(f.name)) ?? files[0]!);

function humanBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2)} ${units[u]}`;
}

const fmt = (x: number | null, digits = 4): string =>
  x === null ? '' : x === 0 ? '0' : Math.abs(x) >= 1e5 || Math.abs(x) < 1e-3 ? x.toExponential(2) : String(Number(x.toPrecision(digits)));

function table(el: HTMLElement, head: string[], rows: (string | number)[][], leftCols = 1): void {
  const cell = (tag: string, v: string | number, i: number) => {
    const c = document.createElement(tag);
    if (i < leftCols) c.className = 'l';
    c.textContent = String(v);
    if (i < leftCols) c.title = String(v);
    return c;
  };
  const tr = document.createElement('tr');
  head.forEach((h, i) => tr.append(cell('th', h, i)));
  const body = rows.map((r) => {
    const row = document.createElement('tr');
    r.forEach((v, i) => row.append(cell('td', v, i)));
    return row;
  });
  el.replaceChildren(tr, ...body);
}

function showError(code: string, message: string): void {
  const e = $('error');
  e.textContent = `${code}: ${message}`;
  e.hidden = false;
  $('status').textContent = '';
  document.body.dataset.state = 'error';
}

function clearError(): void {
  $('error').hidden = true;
}

function setBusy(busy: boolean, phase = ''): void {
  $<HTMLButtonElement>('run').disabled = busy;
  $<HTMLButtonElement>('cancel').disabled = !busy;
  $<HTMLButtonElement>('sizes').disabled = busy;
  $('progress').hidden = !busy;
  $('phase').textContent = phase;
}

/** The running job: its worker and how to cancel it (terminate the worker, settle the job as CANCELLED). */
let current: { readonly worker: Worker; readonly cancel: () => void } | undefined;

/** Runs one job in a fresh worker (cancelling the one running); resolves with its final reply. */
function startJob(job: Job, onProgress: (phase: string, done: number, total: number) => void): Promise<Reply> {
  current?.cancel();
  const w = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
  return new Promise((resolve) => {
    const finish = (r: Reply): void => {
      w.terminate();
      if (current?.worker === w) current = undefined;
      resolve(r);
    };
    current = { worker: w, cancel: () => finish({ kind: 'error', code: 'CANCELLED', message: 'cancelled' }) };
    w.onmessage = (e: MessageEvent<Reply>) => {
      if (e.data.kind === 'progress') onProgress(e.data.phase, e.data.done, e.data.total);
      else finish(e.data);
    };
    w.onerror = (e) => {
      e.preventDefault();
      finish({ kind: 'error', code: 'E_INTERNAL', message: e.message || 'the worker failed' });
    };
    w.postMessage(job);
  });
}

function renderInspect(r: InspectReport, hists: readonly Histogram[], ms: number): void {
  $('inspect').hidden = false;
  $('model-name').textContent = r.file;
  const o = r.onnx;
  $('summary').textContent =
    `${r.format}, ${humanBytes(r.sizeBytes)}: ${r.totals.tensors} tensors, ${r.totals.params.toLocaleString('en')} parameters, ` +
    `${humanBytes(r.totals.bytes)} of tensor data` +
    (o
      ? `; ONNX IR ${o.irVersion}, ${o.nodeCount} nodes, opsets ${o.opsets.map((s) => `${s.domain || 'ai.onnx'} ${s.version}`).join(', ')}; ` +
        `inputs ${o.inputs.map((v) => `${v.name} ${v.dtype}[${v.shape.join(',')}]`).join(', ')}`
      : '') +
    ` (inspected in ${ms.toFixed(0)} ms)`;
  table(
    $('by-dtype'),
    ['dtype', 'tensors', 'params', 'bytes'],
    r.totals.byDtype.map((d) => [d.dtype, d.tensors, d.params.toLocaleString('en'), humanBytes(d.bytes)]),
  );
  table(
    $('duplicates'),
    ['tensors', 'copies', 'bytes each', 'wasted'],
    r.duplicates.length
      ? r.duplicates.map((d) => [d.names.join(', '), d.copies, humanBytes(d.bytes), humanBytes(d.wastedBytes)])
      : [['none', '', '', '']],
  );
  $('duplicates-total').textContent = r.duplicates.length
    ? `${r.duplicates.length} groups, ${humanBytes(r.duplicates.reduce((a, d) => a + d.wastedBytes, 0))} that deduplication saves`
    : '';
  const dims = new Map<string, number>();
  for (const v of o?.inputs ?? [])
    v.shape.forEach((d, i) => {
      if (typeof d === 'string' && d !== '?' && !dims.has(d)) dims.set(d, i === 0 ? 1 : 64);
    });
  $<HTMLInputElement>('dims').value = [...dims].map(([k, v]) => `${k}=${v}`).join(', ');
  $('dims-row').hidden = dims.size === 0;
  const sorted = [...r.tensors].sort((a, b) => b.bytes - a.bytes);
  $('tensor-count').textContent = String(sorted.length);
  table(
    $('tensors'),
    ['tensor', 'dtype', 'shape', 'params', 'bytes', 'where', 'min', 'max', 'std', 'zeros %', 'entropy raw', 'entropy value', 'entropy q8'],
    sorted.map((t) => [
      t.name,
      t.dtype,
      `[${t.shape.join(', ')}]`,
      t.params.toLocaleString('en'),
      humanBytes(t.bytes),
      t.where,
      fmt(t.min),
      fmt(t.max),
      fmt(t.std),
      t.zeroFraction === null ? '' : (t.zeroFraction * 100).toFixed(1),
      t.entropy.rawBits.toFixed(2),
      t.entropy.valueBits === null ? '' : t.entropy.valueBits.toFixed(2),
      t.entropy.quant8Bits === null ? '' : t.entropy.quant8Bits.toFixed(2),
    ]),
  );
  renderCharts(r);
  const sel = $<HTMLSelectElement>('hist-tensor');
  sel.replaceChildren(
    ...hists.map((h, i) => {
      const o = document.createElement('option');
      o.value = String(i);
      o.textContent = h.name;
      return o;
    }),
  );
  sel.onchange = () => renderHistogram(hists[Number(sel.value)]!);
  sel.parentElement!.parentElement!.hidden = hists.length === 0;
  if (hists.length) renderHistogram(hists[0]!);
}

let schemes: readonly SchemeChoice[] = [];

function fillSchemes(list: readonly SchemeChoice[], measured: ReadonlyMap<string, SchemeSize> = new Map()): void {
  schemes = list;
  const sel = $<HTMLSelectElement>('scheme');
  const keep = sel.value;
  sel.replaceChildren(
    ...list.map(({ id, label }) => {
      const o = document.createElement('option');
      o.value = id;
      const m = measured.get(id);
      const size = m ? (m.bytes === null ? ' [does not apply]' : ` [${humanBytes(m.bytes)}]`) : '';
      const text = `${label}${size}`;
      o.textContent = text.length > 120 ? `${label.slice(0, 117 - size.length)}...${size}` : text;
      o.title = label;
      return o;
    }),
  );
  const pick = list.findIndex(({ id }) => id === (keep || 'int8'));
  sel.selectedIndex = Math.max(0, pick);
  $('scheme-help').textContent = 'static (calibrated activations) needs calibration data and is in the CLI only; pack keeps every byte.';
}

async function openModel(files: File[]): Promise<void> {
  clearError();
  model = files;
  $('inspect').hidden = true;
  $('compress').hidden = true;
  $('result').hidden = true;
  document.body.dataset.state = 'inspecting';
  $('status').textContent = `reading ${files.map((f) => f.name).join(', ')} (${humanBytes(files.reduce((a, f) => a + f.size, 0))})...`;
  const reply = await startJob({ kind: 'inspect', files }, (phase, done, total) => {
    $('status').textContent = total ? `${phase}: ${done}/${total} tensors` : `${phase}...`;
  });
  if (reply.kind === 'error') return reply.code === 'CANCELLED' ? undefined : showError(reply.code, reply.message);
  if (reply.kind !== 'inspect') return;
  $('status').textContent = '';
  renderInspect(reply.report, reply.histograms, reply.ms);
  $<HTMLSelectElement>('scheme').value = '';
  $('sizes-table').replaceChildren();
  fillSchemes(reply.schemes);
  $('compress').hidden = false;
  document.body.dataset.state = 'inspected';
}

async function runScheme(): Promise<void> {
  if (!model) return;
  clearError();
  const files = model;
  const scheme = $<HTMLSelectElement>('scheme').value;
  $('result').hidden = true;
  setBusy(true, 'starting');
  document.body.dataset.state = 'running';
  const t0 = performance.now();
  const timer = setInterval(() => {
    $('phase').textContent = `${$('phase').dataset.phase ?? ''} (${((performance.now() - t0) / 1000).toFixed(1)} s)`;
  }, 200);
  const job = startJob({ kind: 'run', files, scheme }, (phase, done, total) => {
    $('phase').dataset.phase = phase;
    const p = $<HTMLProgressElement>('progress');
    if (total) {
      p.max = total;
      p.value = done;
    } else p.removeAttribute('value');
  });
  const reply = await job;
  clearInterval(timer);
  $('phase').dataset.phase = '';
  setBusy(false);
  if (reply.kind === 'error') {
    if (reply.code === 'CANCELLED') {
      $('phase').textContent = 'cancelled';
      document.body.dataset.state = 'cancelled';
      return;
    }
    return showError(reply.code, reply.message);
  }
  if (reply.kind !== 'result') return;
  showResult(mainFile(files), reply.files, reply.summary);
  lastResult = { files, out: reply.files, summary: reply.summary };
  await measure();
}

/** Runs every scheme on the model in the worker and shows each output's size (and in the scheme list). */
async function runSizes(): Promise<void> {
  if (!model) return;
  clearError();
  const files = model;
  setBusy(true, 'starting');
  document.body.dataset.state = 'running';
  const job = startJob({ kind: 'sizes', files, schemes: schemes.map((s) => s.id) }, (phase, done, total) => {
    $('phase').textContent = `${phase} (${done + 1}/${total})`;
    const p = $<HTMLProgressElement>('progress');
    p.max = total;
    p.value = done;
  });
  const reply = await job;
  setBusy(false);
  if (reply.kind === 'error') {
    if (reply.code !== 'CANCELLED') return showError(reply.code, reply.message);
    $('phase').textContent = 'cancelled';
    document.body.dataset.state = 'cancelled';
    return;
  }
  if (reply.kind !== 'sizes') return;
  const total = files.reduce((a, f) => a + f.size, 0);
  $('phase').textContent = '';
  table(
    $('sizes-table'),
    ['scheme', 'output', 'ratio', '% of original', 'time'],
    reply.sizes.map((z) =>
      z.bytes === null
        ? [z.id, z.error ?? 'failed', '', '', `${(z.ms / 1000).toFixed(2)} s`]
        : [
            z.id,
            humanBytes(z.bytes),
            `${(total / z.bytes).toFixed(2)}x`,
            ((100 * z.bytes) / total).toFixed(1),
            `${(z.ms / 1000).toFixed(2)} s`,
          ],
    ),
  );
  fillSchemes(schemes, new Map(reply.sizes.map((z) => [z.id, z])));
  document.body.dataset.state = 'sized';
}

function showResult(file: File, out: readonly OutFile[], s: RunSummary): void {
  for (const u of downloadUrls) URL.revokeObjectURL(u);
  downloadUrls = out.map((f) => URL.createObjectURL(new Blob([f.bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' })));
  const links = out.map((f, i) => {
    const a = document.createElement('a');
    a.id = i === 0 ? 'download' : `download-${i}`;
    a.className = 'download';
    a.href = downloadUrls[i]!;
    a.download = f.name;
    a.textContent = `Download ${f.name} (${humanBytes(f.bytes.length)})`;
    return a;
  });
  $('download-row').replaceChildren(...links.flatMap((a, i) => (i ? [document.createElement('br'), a] : [a])));
  const fileName = out.length === 1 ? out[0]!.name : `${out[0]!.name} + ${out.length - 1} shard${out.length > 2 ? 's' : ''}`;
  const what = s.scheme === 'pack' ? `${s.tensors} tensors coded` : `${s.tensors} tensors quantized, ${s.skipped} left as they were`;
  $('result-text').textContent =
    `${file.name} -> ${fileName} (${s.scheme}): ${humanBytes(s.sizeBefore)} -> ${humanBytes(s.sizeAfter)}, ` +
    `ratio ${(s.sizeBefore / s.sizeAfter).toFixed(2)}x (${((100 * s.sizeAfter) / s.sizeBefore).toFixed(1)}% of the original); ${what}` +
    (s.minWeightSnrDb === null ? '' : `; lowest weight SNR ${s.minWeightSnrDb.toFixed(1)} dB`) +
    ` in ${(s.ms / 1000).toFixed(2)} s.` +
    (s.notes.length ? ` Notes: ${s.notes.join('; ')}` : '');
  $('result').hidden = false;
  // inputs matter only where the page runs both models
  const runs = s.format === 'onnx' && s.scheme !== 'pack';
  $('npy-row').hidden = !runs;
  $('dims-row').hidden = !runs || $<HTMLInputElement>('dims').value === '';
  $('fidelity').textContent = 'measuring...';
  $('fidelity-table').replaceChildren();
}

/** The array of a dropped .npz that feeds the model's first input: named after it, else `x`, else the only array. */
function npzInput(arrays: Map<string, Tensor>, input: string | undefined, file: string): Tensor {
  const named = (input !== undefined ? arrays.get(input) : undefined) ?? arrays.get('x');
  if (named) return named;
  const data = [...arrays].filter(([k]) => !['y', 'labels', 'split'].includes(k) && !k.startsWith('targets'));
  if (data.length === 1) return data[0]![1];
  throw new ModelpressError(
    'E_NOT_FOUND',
    `no array for input '${input ?? '?'}': the file holds ${[...arrays.keys()].map((k) => `'${k}'`).join(', ') || 'no arrays'} (name one after the input, or x)`,
    { file },
  );
}

/** Samples of a dropped .npy used for fidelity. */
const NPY_SAMPLES = 64;

/** `name=value, ...` from the dims field; E_ARG-like message on a malformed entry. */
function parseDims(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const m = /^(.+?)\s*=\s*(\d+)$/.exec(part);
    if (!m || Number(m[2]) < 1) throw new Error(`symbolic dim '${part}' is not name=<positive integer>`);
    out[m[1]!] = Number(m[2]);
  }
  return out;
}

let lastResult: { files: readonly File[]; out: readonly OutFile[]; summary: RunSummary } | undefined;

async function measure(): Promise<void> {
  if (!lastResult) return;
  document.body.dataset.state = 'measuring';
  $('fidelity').textContent = 'measuring...';
  $('fidelity-table').replaceChildren();
  try {
    await measureFidelity(lastResult.files, lastResult.out, lastResult.summary);
  } catch (e) {
    const what = e instanceof ModelpressError ? `${e.code}: ${e.message}` : e instanceof Error ? e.message : String(e);
    $('fidelity').textContent = `fidelity not measured: ${what}`;
  }
  document.body.dataset.state = 'done';
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

async function measureFidelity(files: readonly File[], outFiles: readonly OutFile[], s: RunSummary): Promise<void> {
  const file = mainFile(files);
  const out = outFiles[0]!.bytes;
  if (s.scheme === 'pack') {
    const decoded = await decodeMpzFiles(out);
    let same = decoded.files.length > 0;
    let bytes = 0;
    for (const d of decoded.files) {
      const name = d.name === '' ? file.name : d.name.replace(/^.*\//, '');
      const given = files.find((f) => f.name === name);
      same &&= given !== undefined && sameBytes(d.bytes, new Uint8Array(await given.arrayBuffer()));
      bytes += d.bytes.length;
    }
    $('fidelity').textContent = same
      ? `lossless: the .mpz decodes (modelpress/browser decodeMpzFiles) to the original ${decoded.files.length} file${decoded.files.length > 1 ? 's' : ''}, ${bytes} bytes, exactly`
      : 'MISMATCH: the decoded .mpz differs from the original';
    return;
  }
  if (s.format !== 'onnx') {
    $('fidelity').textContent =
      s.format === 'tfjs'
        ? 'TF.js models are not run in this page (onnxruntime-web runs ONNX); the lowest weight SNR above is what TF.js will see when it dequantizes'
        : 'safetensors hold weights, not a graph: nothing to run';
    return;
  }
  const original = new Uint8Array(await file.arrayBuffer());
  await configureOrt(location.href);
  const ref = await createWebRunner(original);
  const cand = await createWebRunner(out);
  try {
    const dims = parseDims($<HTMLInputElement>('dims').value);
    const npy = $<HTMLInputElement>('npy').files?.[0];
    let source: FeedSource;
    let what: string;
    if (npy) {
      const bytes = new Uint8Array(await npy.arrayBuffer());
      const x = npy.name.toLowerCase().endsWith('.npz')
        ? npzInput(await parseNpz(bytes, { file: npy.name }), ref.inputs[0]?.name, npy.name)
        : parseNpy(bytes, npy.name);
      const ds = limitSamples(datasetFromArrays(x, undefined, npy.name, npy.name), NPY_SAMPLES);
      source = datasetSource(ds, ref.inputs); // the samples' shape gives the symbolic dims
      what = `${source.count} samples of ${npy.name}`;
    } else {
      source = randomSource(ref.inputs, 4, { seed: 1, dims });
      what = `4 seeded random inputs (shapes ${source.inputs.map((i) => `${i.name}[${i.shape.join(',')}]`).join(', ')}), not on your data`;
    }
    const r = await evaluate(cand, source, { reference: ref, latency: false });
    const f = r.fidelity ?? [];
    const minSnr = Math.min(...f.map((x) => x.snrDb));
    const minCos = Math.min(...f.map((x) => x.cosine));
    $('fidelity').textContent = `on ${what}: ` + `output SNR >= ${minSnr.toFixed(1)} dB, cosine >= ${minCos.toFixed(5)}`;
    table(
      $('fidelity-table'),
      ['output', 'SNR dB', 'cosine', 'max |err|', 'mean |err|', 'top-1 agreement'],
      f.map((x) => [
        x.name,
        x.snrDb.toFixed(1),
        x.cosine.toFixed(5),
        fmt(x.maxAbsError),
        fmt(x.meanAbsError),
        fmt(x.top1Agreement ?? null),
      ]),
    );
  } finally {
    await Promise.all([ref.dispose(), cand.dispose()]);
  }
}

const fileInput = $<HTMLInputElement>('file');
fileInput.addEventListener('change', () => {
  const f = [...(fileInput.files ?? [])];
  if (f.length) void openModel(f);
});
const drop = $('drop');
drop.addEventListener('dragover', (e) => {
  e.preventDefault();
  drop.classList.add('over');
});
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => {
  e.preventDefault();
  drop.classList.remove('over');
  const f = [...(e.dataTransfer?.files ?? [])];
  if (f.length) void openModel(f);
});
for (const b of document.querySelectorAll<HTMLButtonElement>('button[data-example]')) {
  b.addEventListener('click', async () => {
    const url = b.dataset.example!;
    fileInput.value = ''; // picking the same file afterwards is a change again
    $('status').textContent = `fetching ${url}...`;
    const res = await fetch(url);
    if (!res.ok) return showError('E_IO', `${url}: HTTP ${res.status}`);
    await openModel([new File([await res.blob()], url.split('/').pop()!)]);
  });
}
$('run').addEventListener('click', () => void runScheme());
$('sizes').addEventListener('click', () => void runSizes());
$('measure').addEventListener('click', () => void measure());
$('npy').addEventListener('change', () => void measure());
$('npy-clear').addEventListener('click', () => {
  $<HTMLInputElement>('npy').value = '';
  void measure();
});
$('cancel').addEventListener('click', () => current?.cancel());
document.body.dataset.state = 'ready';
