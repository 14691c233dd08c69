/**
 * The compression worker: reads the dropped files (each once, with the File API),
 * inspects the model, quantizes it with one scheme or packs it into .mpz, and sends
 * the output files back transferred (not copied). The page terminates the worker to
 * cancel. Options match `modelpress quantize --scheme <s>` and `modelpress pack`
 * with their defaults (and the CLI's output names), so the bytes equal the CLI's.
 */
import {
  buildInspectReport,
  detectFormat,
  isModelpressError,
  listOnnxTensors,
  listSchemes,
  ModelpressError,
  type NamedTensor,
  type OnnxModel,
  packModel,
  planTfjsQuantization,
  quantizeModel,
  quantizeSafetensorsTensors,
  readOnnx,
  readSafetensors,
  readTfjs,
  type SafetensorsContent,
  safetensorsSchemeFor,
  type TfjsModel,
  tfjsSchemeFor,
  tfjsWriteInput,
  toFloat32,
  writeOnnx,
  writeSafetensors,
  writeTfjs,
} from 'modelpress';
import { createWebRunner } from 'modelpress/browser';
import { configureOrt } from './ort.js';
import type { Histogram, Job, OutFile, Reply, RunSummary, SchemeChoice, SchemeSize } from './protocol.js';

const post = (r: Reply, transfer: Transferable[] = []): void => (self as unknown as Worker).postMessage(r, transfer);
const progress = (phase: string, done = 0, total = 0): void => post({ kind: 'progress', phase, done, total });

/** A model read from the dropped files. */
interface Loaded {
  readonly format: 'onnx' | 'safetensors' | 'tfjs';
  /** The main file's name (the .onnx, .safetensors or TF.js model JSON). */
  readonly name: string;
  readonly bytes: Uint8Array;
  readonly sizeBytes: number;
  /** What `modelpress pack` packs: the main file, then (TF.js) the shards by manifest path. */
  readonly packFiles: { readonly name: string; readonly bytes: Uint8Array }[];
  readonly tensors: NamedTensor[];
  readonly onnx?: OnnxModel;
  readonly tfjs?: TfjsModel;
  readonly safetensors?: SafetensorsContent;
}

const baseName = (name: string): string => name.replace(/^.*\//, '');

async function load(files: readonly File[]): Promise<Loaded> {
  if (files.length === 0) throw new ModelpressError('E_ARG', 'no file given');
  const main = files.length === 1 ? files[0]! : (files.find((f) => /\.json$/i.test(f.name)) ?? files[0]!);
  progress(`reading ${main.name}`);
  const bytes = new Uint8Array(await main.arrayBuffer());
  const format = detectFormat(bytes, main.name);
  if (format === 'mpz')
    throw new ModelpressError('E_ARG', 'is already an .mpz container (this page packs models; unpack it with the CLI)', {
      file: main.name,
    });
  if (format === 'onnx') {
    const onnx = readOnnx(bytes, { file: main.name });
    return {
      format,
      name: main.name,
      bytes,
      sizeBytes: bytes.length,
      packFiles: [{ name: '', bytes }],
      tensors: listOnnxTensors(onnx, { file: main.name }),
      onnx,
    };
  }
  if (format === 'safetensors') {
    const st = readSafetensors(bytes, main.name);
    return {
      format,
      name: main.name,
      bytes,
      sizeBytes: bytes.length,
      packFiles: [{ name: '', bytes }],
      tensors: st.tensors,
      safetensors: st,
    };
  }
  // TF.js: the shards are the other dropped files, matched by file name to the manifest's paths
  const shards = new Map<string, Uint8Array>();
  for (const f of files) {
    if (f === main) continue;
    progress(`reading ${f.name}`);
    shards.set(f.name, new Uint8Array(await f.arrayBuffer()));
  }
  const used: { name: string; bytes: Uint8Array }[] = [];
  const tfjs = readTfjs(
    bytes,
    (path) => {
      const b = shards.get(baseName(path));
      if (!b)
        throw new ModelpressError('E_NOT_FOUND', `shard '${path}' was not given: drop the model JSON together with its shard files`, {
          file: main.name,
        });
      used.push({ name: path, bytes: b });
      return b;
    },
    main.name,
  );
  const sizeBytes = bytes.length + used.reduce((a, s) => a + s.bytes.length, 0);
  return { format, name: main.name, bytes, sizeBytes, packFiles: [{ name: main.name, bytes }, ...used], tensors: tfjs.tensors, tfjs };
}

/** The CLI's scheme table for a format, plus lossless packing; static (needs calibration data, the CLI's --calib) is left out. */
function schemesFor(format: Loaded['format']): SchemeChoice[] {
  const out: SchemeChoice[] = [{ id: 'pack', label: 'pack: lossless .mpz container (restores the exact bytes)' }];
  for (const s of listSchemes()) {
    if (s.needsCalibration || !s.formats[format]) continue;
    if (s.id === 'kmeans:<bits>') for (const b of [2, 4, 6, 8]) out.push({ id: `kmeans:${b}`, label: `kmeans:${b}: ${s.summary}` });
    else out.push({ id: s.id, label: `${s.id}: ${s.summary}` });
  }
  return out;
}

const HIST_TENSORS = 12;
const HIST_BINS = 64;

/** Histograms of the largest float tensors' finite values. */
function histograms(tensors: readonly NamedTensor[]): Histogram[] {
  const floats = tensors.filter(
    (t) => ['float32', 'float16', 'bfloat16', 'float64'].includes(t.tensor.dtype) && t.tensor.data.byteLength >= 64,
  );
  const out: Histogram[] = [];
  for (const t of [...floats].sort((a, b) => b.tensor.data.byteLength - a.tensor.data.byteLength).slice(0, HIST_TENSORS)) {
    const v = toFloat32(t.tensor);
    let min = Infinity;
    let max = -Infinity;
    for (const x of v) {
      if (!Number.isFinite(x)) continue;
      if (x < min) min = x;
      if (x > max) max = x;
    }
    if (!(min <= max)) continue;
    const counts = new Array<number>(HIST_BINS).fill(0);
    const w = max > min ? (max - min) / HIST_BINS : 1;
    for (const x of v) if (Number.isFinite(x)) counts[Math.min(HIST_BINS - 1, Math.floor((x - min) / w))]!++;
    out.push({ name: t.name, min, max, counts });
  }
  return out;
}

async function inspect(files: readonly File[]): Promise<void> {
  const t0 = performance.now();
  const m = await load(files);
  let done = 0;
  const report = buildInspectReport(
    {
      format: m.format,
      path: m.name,
      sizeBytes: m.sizeBytes,
      files: m.packFiles.map((f) => f.name || m.name),
      tensors: m.tensors,
      onnx: m.onnx,
      tfjs: m.tfjs,
      safetensors: m.safetensors,
    },
    () => ++done % 16 === 0 && progress('statistics', done, m.tensors.length),
  );
  post({ kind: 'inspect', report, schemes: schemesFor(m.format), histograms: histograms(m.tensors), ms: performance.now() - t0 });
}

async function run(files: readonly File[], scheme: string): Promise<void> {
  const r = await compress(await load(files), scheme);
  post(
    { kind: 'result', ...r },
    r.files.map((f) => f.bytes.buffer),
  );
}

/** Every scheme's output size on this model, one after the other (progress per scheme). */
async function sizes(files: readonly File[], schemes: readonly string[]): Promise<void> {
  const m = await load(files);
  const out: SchemeSize[] = [];
  for (const [i, scheme] of schemes.entries()) {
    progress(`measuring ${scheme}`, i, schemes.length);
    const t0 = performance.now();
    try {
      const r = await compress(m, scheme);
      out.push({ id: scheme, bytes: r.summary.sizeAfter, ms: performance.now() - t0 });
    } catch (e) {
      out.push({ id: scheme, bytes: null, error: e instanceof Error ? e.message : String(e), ms: performance.now() - t0 });
    }
  }
  post({ kind: 'sizes', sizes: out });
}

function stem(name: string): string {
  return name.replace(/\.(onnx|safetensors|json)$/i, '');
}

async function compress(m: Loaded, scheme: string): Promise<{ files: OutFile[]; summary: RunSummary }> {
  const t0 = performance.now();
  const file = m.name;
  const summary = (files: OutFile[], tensors: number, skipped: number, notes: readonly string[], minWeightSnrDb: number | null) => ({
    files,
    summary: {
      scheme,
      format: m.format,
      sizeBefore: m.sizeBytes,
      sizeAfter: files.reduce((a, f) => a + f.bytes.length, 0),
      tensors,
      skipped,
      notes,
      minWeightSnrDb,
      ms: performance.now() - t0,
    },
  });
  if (scheme === 'pack') {
    progress('packing (choosing a coder per tensor, then decoding to verify)');
    const { bytes, report } = packModel({ format: m.format, files: m.packFiles }, { file, verify: true });
    return summary(
      [{ name: `${file}.mpz`, bytes }],
      report.tensors.length,
      0,
      report.fallback ? [`stored whole: ${report.fallback}`] : [],
      null,
    );
  }
  const out = `${stem(file)}.${scheme.replace(':', '')}`;
  if (m.format === 'safetensors') {
    progress(`converting (${scheme})`);
    const r = quantizeSafetensorsTensors(m.tensors, safetensorsSchemeFor(scheme), { file, minSize: 256 });
    const changed = r.reports.filter((t) => t.action !== 'skipped').length;
    if (changed === 0) throw new ModelpressError('E_UNSUPPORTED', `scheme ${scheme} found no float32 tensor to convert`, { file });
    return summary(
      [{ name: `${out}.safetensors`, bytes: writeSafetensors(r.tensors, m.safetensors?.metadata) }],
      changed,
      r.reports.length - changed,
      [],
      null,
    );
  }
  if (m.format === 'tfjs') {
    progress(`quantizing (${scheme})`);
    const plan = planTfjsQuantization(m.tensors, tfjsSchemeFor(scheme), { file, minSize: 256 });
    const changed = Object.keys(plan.choice).length;
    if (changed === 0) throw new ModelpressError('E_UNSUPPORTED', `scheme ${scheme} found no float32 weight to quantize`, { file });
    // `modelpress quantize model.json -o <out>.json` names the shards after the output JSON
    const w = writeTfjs(m.tfjs!.modelJson, tfjsWriteInput(m.tfjs!), { quantize: plan.choice, shardPrefix: `${out}.` });
    const files = [
      { name: `${out}.json`, bytes: new TextEncoder().encode(w.json) },
      ...w.shards.map((s) => ({ name: s.path, bytes: s.bytes })),
    ];
    const snrs = plan.tensors.flatMap((t) => (t.error && Number.isFinite(t.error.snrDb) ? [t.error.snrDb] : []));
    return summary(files, changed, plan.tensors.length - changed, [], snrs.length ? Math.min(...snrs) : null);
  }
  progress(`quantizing (${scheme})`);
  // the fp16 scheme probes onnxruntime for missing float16 kernels, as the CLI does with onnxruntime-node
  const result = await quantizeModel(m.onnx!.proto, scheme, {
    file,
    minSize: 256,
    openRunner: async (model, o) => {
      await configureOrt(new URL('../', self.location.href).href); // the worker is in assets/ (src/ in dev)
      return createWebRunner(model, o);
    },
  });
  progress('writing');
  const bytes = writeOnnx(result.model, { file });
  const done = result.tensors.filter((t) => t.action !== 'skipped');
  const snrs = done.flatMap((t) => (t.error && Number.isFinite(t.error.snrDb) ? [t.error.snrDb] : []));
  return summary(
    [{ name: `${out}.onnx`, bytes }],
    done.length,
    result.tensors.length - done.length,
    result.notes,
    snrs.length ? Math.min(...snrs) : null,
  );
}

self.onmessage = async (e: MessageEvent<Job>) => {
  try {
    const job = e.data;
    if (job.kind === 'inspect') await inspect(job.files);
    else if (job.kind === 'run') await run(job.files, job.scheme);
    else await sizes(job.files, job.schemes);
  } catch (err) {
    const code = isModelpressError(err) ? err.code : ((err as { code?: string }).code ?? 'E_INTERNAL');
    post({ kind: 'error', code, message: err instanceof Error ? err.message : String(err) });
  }
};
