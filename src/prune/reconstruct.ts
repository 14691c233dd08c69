/**
 * Layer-wise reconstruction after pruning (the least-squares step of OBS /
 * SparseGPT-style one-shot pruning, Frantar & Alistarh 2023): with the masks
 * fixed, each pruned layer's kept weights (and its bias) are refitted so that
 * the layer, fed the activations of the pruned network so far, reproduces the
 * original layer's outputs on the original activations:
 *
 *   min over w'_S, b'  sum over rows x  (w'_S . x_p,S + b' - w . x_o - b)^2 + lambda |w'_S - w_S|^2  (w: the original weights)
 *
 * solved per output row from H = sum x~_p x~_p^T and G = sum x~_o x~_p^T
 * (x~ = [x; 1]), layer after layer in graph order so each one corrects the
 * error of those before it. No training: a few onnxruntime passes and small
 * Cholesky solves. Conv (2-D, group 1, explicit pads), Gemm (transA 0, alpha
 * and beta 1) and MatMul with a constant right-hand side are refitted; other
 * layers are left as they are, with the reason. Browser-safe: the runtime is
 * passed in.
 */
import type { ModelProto, NodeProto } from 'onnx-buf';
import { TensorProto_DataType } from 'onnx-buf';
import { ModelpressError } from '../core/errors.js';
import { createRng } from '../core/random.js';
import { writeOnnx } from '../formats/onnx/write.js';
import { floatAttr, intAttr, intsAttr, stringAttr } from '../graph/attributes.js';
import { cloneModel, getInitializerValues, setInitializerValues } from '../graph/model-edit.js';
import { topologicalSort } from '../graph/toposort.js';
import { makeValueInfo } from '../graph/value-info.js';
import type { RunnerFactory } from '../runtime/runner.js';
import { TRAINING_RUNNER_OPTIONS } from '../runtime/runner.js';
import { floatTensor, floatValues } from '../runtime/tensors.js';
import { floatView, limitSamples, sampleCount, type Dataset } from '../data/dataset.js';
import { fitSampleShape, resolveModelIo, withDynamicBatch } from '../train/trainer/model-io.js';

export interface ReconstructOptions {
  openRunner: RunnerFactory;
  /** The unpruned model (the target). */
  original: ModelProto;
  /** The pruned model (same graph; pruned weights zero). Not modified. */
  pruned: ModelProto;
  /** Masks by weight name (1 kept, 0 pruned): the layers to refit. */
  masks: ReadonlyMap<string, Uint8Array>;
  /**
   * Which weights each row keeps (as many as its given mask keeps):
   * 'given' keeps the masks as they are; 'obs' re-chooses them from the
   * data by the Optimal Brain Surgeon saliency w^2 / [H^-1]_jj of the
   * layer's inputs (SparseGPT's criterion, all at once per row); 'wanda'
   * by |w| x ||x_j|| (Sun et al. 2023). Default 'given'.
   */
  select?: 'given' | 'obs' | 'wanda';
  /** Inputs (labels unused). */
  data: Dataset;
  /** Examples used (the first ones); default 2048. */
  examples?: number;
  /** Rows (output positions x examples) sampled per layer for H and G; default 16384. */
  maxRows?: number;
  /** Ridge term (towards the original values of the kept weights) as a fraction of the mean diagonal of H, scaled up when a layer has fewer than 4 sampled rows per input; default 0.01 (SparseGPT's). */
  damping?: number;
  /** Examples per onnxruntime run; default 64. */
  batchSize?: number;
  seed?: number;
  file?: string;
}

export interface ReconstructedLayer {
  name: string;
  op: string;
  /** Mean squared error of the layer's outputs against the original's on the sampled rows, before and after the refit. */
  errorBefore: number;
  errorAfter: number;
  biasRefitted: boolean;
}

export interface ReconstructResult {
  model: ModelProto;
  layers: ReconstructedLayer[];
  skipped: { name: string; reason: string }[];
  /** The masks the model holds (re-chosen ones for select 'obs' / 'wanda'). */
  masks: Map<string, Uint8Array>;
}

/** How one layer maps its input tensor to rows x of length k and its weight to [m, k]. */
interface LayerGeometry {
  node: NodeProto;
  weight: string;
  bias: string | undefined;
  m: number;
  k: number;
  /** Flat index of W[row, col] in the weight initializer. */
  index: (row: number, col: number) => number;
  /** Calls `emit(rowIndex)` for each row of the layer's input `x` of shape `dims`, after `fill(buffer, offset)` copies it. */
  rows: (dims: readonly number[]) => { count: number; fill: (x: Float32Array, r: number, out: Float64Array, at: number) => void };
}

function shapeOf(model: ModelProto, name: string): number[] | undefined {
  const t = model.graph?.initializer.find((i) => i.name === name);
  return t ? t.dims.map(Number) : undefined;
}

function convGeometry(node: NodeProto, w: number[], bias: string | undefined): LayerGeometry | string {
  if (w.length !== 4) return `Conv weight of rank ${w.length} (only 2-D convolutions are refitted)`;
  if (intAttr(node, 'group', 1) !== 1) return 'grouped Conv';
  const autoPad = stringAttr(node, 'auto_pad', 'NOTSET');
  if (autoPad !== 'NOTSET' && autoPad !== 'VALID') return `Conv auto_pad ${autoPad}`;
  const [m, c, kh, kw] = w as [number, number, number, number];
  const strides = intsAttr(node, 'strides') ?? [1, 1];
  const dil = intsAttr(node, 'dilations') ?? [1, 1];
  const pads = autoPad === 'VALID' ? [0, 0, 0, 0] : (intsAttr(node, 'pads') ?? [0, 0, 0, 0]);
  const [sh, sw] = strides as [number, number];
  const [dh, dw] = dil as [number, number];
  const [pt, pl, pb, pr] = pads as [number, number, number, number];
  const k = c * kh * kw;
  return {
    node,
    weight: node.input[1]!,
    bias,
    m,
    k,
    index: (row, col) => row * k + col,
    rows: (dims) => {
      const [n, cx, h, wd] = dims as [number, number, number, number];
      if (dims.length !== 4 || cx !== c)
        throw new ModelpressError('E_SHAPE', `Conv input has shape [${dims.join(', ')}], expected [N, ${c}, H, W]`);
      const oh = Math.floor((h + pt + pb - dh * (kh - 1) - 1) / sh) + 1;
      const ow = Math.floor((wd + pl + pr - dw * (kw - 1) - 1) / sw) + 1;
      const per = oh * ow;
      return {
        count: n * per,
        fill: (x, r, out, at) => {
          const s = Math.floor(r / per);
          const p = r % per;
          const y0 = Math.floor(p / ow) * sh - pt;
          const x0 = (p % ow) * sw - pl;
          let o = at;
          for (let ch = 0; ch < c; ch++) {
            const base = (s * c + ch) * h * wd;
            for (let i = 0; i < kh; i++) {
              const yy = y0 + i * dh;
              for (let j = 0; j < kw; j++) {
                const xx = x0 + j * dw;
                out[o++] = yy >= 0 && yy < h && xx >= 0 && xx < wd ? x[base + yy * wd + xx]! : 0;
              }
            }
          }
        },
      };
    },
  };
}

function denseGeometry(node: NodeProto, w: number[], bias: string | undefined, transB: boolean): LayerGeometry | string {
  if (w.length !== 2) return `${node.opType} weight of rank ${w.length}`;
  const [a, b] = w as [number, number];
  const m = transB ? a : b;
  const k = transB ? b : a;
  return {
    node,
    weight: node.input[1]!,
    bias,
    m,
    k,
    index: transB ? (row, col) => row * k + col : (row, col) => col * m + row,
    rows: (dims) => {
      if (dims[dims.length - 1] !== k)
        throw new ModelpressError('E_SHAPE', `${node.opType} input has shape [${dims.join(', ')}], expected [..., ${k}]`);
      const count = dims.slice(0, -1).reduce((p, d) => p * d, 1);
      return {
        count,
        fill: (x, r, out, at) => {
          for (let i = 0; i < k; i++) out[at + i] = x[r * k + i]!;
        },
      };
    },
  };
}

/** The geometry of the node using `weight` as its input 1, or why it cannot be refitted. */
function geometry(model: ModelProto, node: NodeProto, uses: ReadonlyMap<string, number>): LayerGeometry | string {
  const weight = node.input[1]!;
  const w = shapeOf(model, weight);
  if (!w) return 'weight is not an initializer';
  if ((uses.get(weight) ?? 0) !== 1) return 'weight is shared by several nodes';
  const biasName = node.opType === 'MatMul' ? undefined : node.input[2] || undefined;
  const biasShape = biasName ? shapeOf(model, biasName) : undefined;
  // A bias that is not a constant of its own, or not one value per output, stays as it is (still accounted for in the target).
  const bias = biasName && biasShape && (uses.get(biasName) ?? 0) === 1 ? biasName : undefined;
  if (biasName && !biasShape) return 'bias is not an initializer';
  if (node.opType === 'Conv') return convGeometry(node, w, bias);
  if (node.opType === 'Gemm') {
    if (intAttr(node, 'transA', 0) !== 0) return 'Gemm with transA';
    if (floatAttr(node, 'alpha', 1) !== 1 || floatAttr(node, 'beta', 1) !== 1) return 'Gemm with alpha or beta other than 1';
    const g = denseGeometry(node, w, bias, intAttr(node, 'transB', 0) === 1);
    if (typeof g !== 'string' && bias && (biasShape ?? []).reduce((a, d) => a * d, 1) !== g.m) return { ...g, bias: undefined };
    return g;
  }
  if (node.opType === 'MatMul') return denseGeometry(node, w, undefined, false);
  return `${node.opType} is not refitted`;
}

/** Solves A x = b in place for symmetric positive definite A (n x n, row-major, overwritten by its Cholesky factor). */
function choleskySolve(a: Float64Array, b: Float64Array, n: number): boolean {
  for (let j = 0; j < n; j++) {
    let d = a[j * n + j]!;
    for (let p = 0; p < j; p++) d -= a[j * n + p]! * a[j * n + p]!;
    if (!(d > 0)) return false;
    const l = Math.sqrt(d);
    a[j * n + j] = l;
    for (let i = j + 1; i < n; i++) {
      let s = a[i * n + j]!;
      for (let p = 0; p < j; p++) s -= a[i * n + p]! * a[j * n + p]!;
      a[i * n + j] = s / l;
    }
  }
  for (let i = 0; i < n; i++) {
    let s = b[i]!;
    for (let p = 0; p < i; p++) s -= a[i * n + p]! * b[p]!;
    b[i] = s / a[i * n + i]!;
  }
  for (let i = n - 1; i >= 0; i--) {
    let s = b[i]!;
    for (let p = i + 1; p < n; p++) s -= a[p * n + i]! * b[p]!;
    b[i] = s / a[i * n + i]!;
  }
  return true;
}

/** The inverse of the symmetric positive definite k x k matrix `a` (+ lambda on the diagonal), by Gauss-Jordan elimination. */
function inverseDiagonal(h: Float64Array, k: number, k1: number, lambda: number): Float64Array {
  const a = new Float64Array(k * k);
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) a[i * k + j] = h[i * k1 + j]!;
    a[i * k + i] += lambda;
  }
  const inv = new Float64Array(k * k);
  for (let i = 0; i < k; i++) inv[i * k + i] = 1;
  for (let c = 0; c < k; c++) {
    const p = a[c * k + c]!;
    if (!(Math.abs(p) > 0)) continue;
    for (let j = 0; j < k; j++) {
      a[c * k + j] /= p;
      inv[c * k + j] /= p;
    }
    for (let r = 0; r < k; r++) {
      if (r === c) continue;
      const f = a[r * k + c]!;
      if (f === 0) continue;
      for (let j = 0; j < k; j++) {
        a[r * k + j] -= f * a[c * k + j]!;
        inv[r * k + j] -= f * inv[c * k + j]!;
      }
    }
  }
  const d = new Float64Array(k);
  for (let i = 0; i < k; i++) d[i] = inv[i * k + i]!;
  return d;
}

/** Per row, keep as many weights as `given` keeps, the ones of highest saliency. */
function selectMask(
  given: Uint8Array,
  h: Float64Array,
  k: number,
  k1: number,
  m: number,
  lambda: number,
  index: (row: number, col: number) => number,
  w: Float32Array,
  how: 'obs' | 'wanda',
): Uint8Array {
  const weightOf = new Float64Array(k);
  if (how === 'obs') {
    const d = inverseDiagonal(h, k, k1, lambda);
    for (let j = 0; j < k; j++) weightOf[j] = 1 / Math.max(d[j]!, 1e-30);
  } else for (let j = 0; j < k; j++) weightOf[j] = h[j * k1 + j]!;
  const out = new Uint8Array(given.length);
  const order = Array.from({ length: k }, (_, j) => j);
  const score = new Float64Array(k);
  for (let row = 0; row < m; row++) {
    let keep = 0;
    for (let c = 0; c < k; c++) {
      const at = index(row, c);
      keep += given[at]!;
      const v = w[at]!;
      score[c] = v * v * weightOf[c]!;
    }
    order.sort((a, b) => score[b]! - score[a]! || a - b);
    for (let t = 0; t < keep; t++) out[index(row, order[t]!)] = 1;
  }
  return out;
}

/** Refits the kept weights of every masked layer; see the file comment. */
export async function reconstructLayers(o: ReconstructOptions): Promise<ReconstructResult> {
  const examples = Math.min(o.examples ?? 2048, sampleCount(o.data));
  if (examples < 1) throw new ModelpressError('E_ARG', 'layer-wise reconstruction needs at least one example');
  const maxRows = o.maxRows ?? 16384;
  const damping = o.damping ?? 0.01;
  const batchSize = o.batchSize ?? 64;
  const where = o.file === undefined ? {} : { file: o.file };
  const io = resolveModelIo(o.original, {}, o.file);
  const data = floatView(limitSamples(o.data, examples));
  const feedShape = fitSampleShape(io, data.sampleShape, o.file);
  const size = data.sampleShape.reduce((a, b) => a * b, 1);
  const graph = o.original.graph!;
  const uses = new Map<string, number>();
  for (const n of graph.node) for (const i of n.input) uses.set(i, (uses.get(i) ?? 0) + 1);

  const current = cloneModel(o.pruned);
  const layers: ReconstructedLayer[] = [];
  const skipped: { name: string; reason: string }[] = [];
  const rng = createRng(o.seed ?? 0);
  const seen = new Set<string>();
  const masksOut = new Map<string, Uint8Array>([...o.masks].map(([n, v]) => [n, v.slice()]));

  /** The values of tensor `x` over the examples, by batch, from `model` (a probe with `x` as its only output). */
  const probe = async (model: ModelProto, x: string): Promise<{ values: Float32Array; dims: number[] }[]> => {
    const p = withDynamicBatch(cloneModel(model), io.inputName);
    p.graph!.output = [makeValueInfo(x, TensorProto_DataType.FLOAT)];
    p.graph!.valueInfo = p.graph!.valueInfo.filter((v) => v.name !== x);
    const runner = await o.openRunner(writeOnnx(p), {
      ...TRAINING_RUNNER_OPTIONS,
      generated: `the reconstruction probe of '${x}'`,
      ...where,
    });
    try {
      const out: { values: Float32Array; dims: number[] }[] = [];
      for (let start = 0; start < examples; start += batchSize) {
        const n = Math.min(batchSize, examples - start);
        const feed = floatTensor(data.inputs.subarray(start * size, (start + n) * size), [n, ...feedShape]);
        const y = (await runner.run({ [io.inputName]: feed }, [x]))[x]!;
        out.push({ values: floatValues(y).slice(), dims: [...y.shape] });
      }
      return out;
    } finally {
      await runner.dispose();
    }
  };

  for (const node of topologicalSort(current.graph!)) {
    const weight = node.input[1];
    if (!['Conv', 'Gemm', 'MatMul'].includes(node.opType) || weight === undefined || !o.masks.has(weight) || seen.has(weight)) continue;
    seen.add(weight);
    const g = geometry(current, node, uses);
    if (typeof g === 'string') {
      skipped.push({ name: weight, reason: g });
      continue;
    }
    let mask = o.masks.get(weight)!;
    const x = node.input[0]!;
    const [orig, pruned] = [await probe(o.original, x), await probe(current, x)];
    const { m, k } = g;
    const k1 = k + 1;
    const w0 = getInitializerValues(o.original, [g.weight]).get(g.weight)!;
    const b0 = g.bias ? getInitializerValues(o.original, [g.bias]).get(g.bias)! : undefined;
    const bNow = g.bias ? getInitializerValues(current, [g.bias]).get(g.bias)! : undefined;
    const wNow = getInitializerValues(current, [g.weight]).get(g.weight)!;
    // H = sum x~p x~p^T, G = sum x~o x~p^T over sampled rows, accumulated in blocks stored column-major (k1 x B).
    const total = orig.reduce((a, b) => a + g.rows(b.dims).count, 0);
    const keep = Math.min(1, maxRows / total);
    const B = 256;
    const H = new Float64Array(k1 * k1);
    const G = new Float64Array(k1 * k1);
    const po = new Float64Array(k1 * B);
    const pp = new Float64Array(k1 * B);
    const ro = new Float64Array(k1);
    const rp = new Float64Array(k1);
    let filled = 0;
    let rowsUsed = 0;
    const flush = (): void => {
      for (let i = 0; i < k1; i++) {
        const oi = i * B;
        for (let j = 0; j < k1; j++) {
          const oj = j * B;
          let sh = 0;
          let sg = 0;
          for (let t = 0; t < filled; t++) {
            const pj = pp[oj + t]!;
            sh += pp[oi + t]! * pj;
            sg += po[oi + t]! * pj;
          }
          H[i * k1 + j] += sh;
          G[i * k1 + j] += sg;
        }
      }
      filled = 0;
    };
    for (let bi = 0; bi < orig.length; bi++) {
      const rowsO = g.rows(orig[bi]!.dims);
      const rowsP = g.rows(pruned[bi]!.dims);
      for (let r = 0; r < rowsO.count; r++) {
        if (keep < 1 && rng.next() >= keep) continue;
        rowsO.fill(orig[bi]!.values, r, ro, 0);
        rowsP.fill(pruned[bi]!.values, r, rp, 0);
        ro[k] = 1;
        rp[k] = 1;
        for (let i = 0; i < k1; i++) {
          po[i * B + filled] = ro[i]!;
          pp[i * B + filled] = rp[i]!;
        }
        rowsUsed++;
        if (++filled === B) flush();
      }
    }
    flush();
    if (rowsUsed === 0) {
      skipped.push({ name: weight, reason: 'no input rows sampled' });
      continue;
    }
    let diag = 0;
    for (let i = 0; i < k; i++) diag += H[i * k1 + i]!;
    // Ridge towards the original weights on the kept support (not towards zero): with few rows for a wide layer the refit stays near magnitude pruning.
    const lambda = Math.max(1e-12, ((damping * diag) / k) * Math.max(1, (4 * k1) / rowsUsed));
    const wNew = new Float32Array(wNow.length);
    const bNew = bNow ? Float32Array.from(bNow) : undefined;
    if (o.select === 'obs' || o.select === 'wanda') {
      mask = selectMask(mask, H, k, k1, m, lambda, g.index, w0, o.select);
    }
    masksOut.set(weight, mask);
    const hasBias = g.bias !== undefined;
    const fixedBias = (row: number): number => (b0?.[row] ?? 0) - (bNow?.[row] ?? 0);
    for (let row = 0; row < m; row++) {
      const support: number[] = [];
      for (let c = 0; c < k; c++) if (mask[g.index(row, c)] === 1) support.push(c);
      if (hasBias) support.push(k);
      const n = support.length;
      // target row w~ = [W0 row, b0 row]; rhs = (w~ G)_S; with a bias not refitted, its change moves into the target.
      const rhs = new Float64Array(n);
      const full = new Float64Array(k1);
      for (let c = 0; c < k; c++) full[c] = w0[g.index(row, c)]!;
      full[k] = hasBias ? (b0?.[row] ?? 0) : fixedBias(row);
      for (let s = 0; s < n; s++) {
        const col = support[s]!;
        let v = 0;
        for (let i = 0; i < k1; i++) v += full[i]! * G[i * k1 + col]!;
        rhs[s] = col < k ? v + lambda * w0[g.index(row, col)]! : v;
      }
      const a = new Float64Array(n * n);
      for (let s = 0; s < n; s++) {
        for (let t = 0; t < n; t++) a[s * n + t] = H[support[s]! * k1 + support[t]!]!;
        if (support[s]! < k) a[s * n + s] += lambda;
      }
      if (!choleskySolve(a, rhs, n)) {
        // numerically singular (dead inputs): the original weights under the mask
        for (let c = 0; c < k; c++) wNew[g.index(row, c)] = mask[g.index(row, c)] ? w0[g.index(row, c)]! : 0;
        continue;
      }
      for (let s = 0; s < n; s++) {
        const col = support[s]!;
        if (col < k) wNew[g.index(row, col)] = rhs[s]!;
        else bNew![row] = rhs[s]!;
      }
    }
    // The layer's output error against the original's, before and after the refit, on up to 64 rows of each batch.
    const layerError = (w: Float32Array, b: Float32Array | undefined): number => {
      let sum = 0;
      let count = 0;
      for (let bi = 0; bi < orig.length; bi++) {
        const rowsO = g.rows(orig[bi]!.dims);
        const rowsP = g.rows(pruned[bi]!.dims);
        const stride = Math.max(1, Math.floor(rowsO.count / 64));
        for (let r = 0; r < rowsO.count; r += stride) {
          rowsO.fill(orig[bi]!.values, r, ro, 0);
          rowsP.fill(pruned[bi]!.values, r, rp, 0);
          for (let row = 0; row < m; row++) {
            let d = (b?.[row] ?? 0) - (b0?.[row] ?? 0);
            for (let c = 0; c < k; c++) {
              const at = g.index(row, c);
              d += w[at]! * rp[c]! - w0[at]! * ro[c]!;
            }
            sum += d * d;
          }
          count += m;
        }
      }
      return sum / count;
    };
    const values: Record<string, Float32Array> = { [g.weight]: wNew };
    if (bNew && g.bias) values[g.bias] = bNew;
    setInitializerValues(current, values);
    layers.push({
      name: weight,
      op: node.opType,
      errorBefore: layerError(wNow, bNow),
      errorAfter: layerError(wNew, bNew ?? bNow),
      biasRefitted: g.bias !== undefined,
    });
  }
  return { model: current, layers, skipped, masks: masksOut };
}
