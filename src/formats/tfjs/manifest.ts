/**
 * The TF.js model JSON (model.json, or any name: blazeface.json) and its
 * weights manifest, as tfjs-core's io types and tfjs-converter's
 * write_weights.py define them, with a validating parser.
 *
 * A manifest is a list of groups; a group's shard files are concatenated
 * and its weights laid out one after another in that byte stream.
 */
import { fail } from '../../core/errors.js';

/** Element types a manifest entry declares (the dtype after dequantization). */
export type TfjsDtype = 'float32' | 'int32' | 'bool' | 'string' | 'complex64';
/** How a quantized entry is stored. */
export type TfjsQuantizationDtype = 'uint8' | 'uint16' | 'float16';
export type TfjsModelKind = 'layers-model' | 'graph-model';

export const TFJS_DTYPES: readonly TfjsDtype[] = ['float32', 'int32', 'bool', 'string', 'complex64'];
export const TFJS_QUANTIZATION_DTYPES: readonly TfjsQuantizationDtype[] = ['uint8', 'uint16', 'float16'];

export interface TfjsQuantization {
  readonly dtype: TfjsQuantizationDtype;
  /** Affine (uint8/uint16): value = q * scale + min. */
  readonly scale?: number;
  readonly min?: number;
  /** Written by tfjs-converter (always 'float32' there); informational. */
  readonly original_dtype?: string;
  readonly [extra: string]: unknown;
}

export interface TfjsWeightEntry {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: TfjsDtype;
  /** 'model' or 'optimizer' in layers-models saved with optimizer state. */
  readonly group?: string;
  readonly quantization?: TfjsQuantization;
  readonly [extra: string]: unknown;
}

export interface TfjsWeightsGroup {
  readonly paths: readonly string[];
  readonly weights: readonly TfjsWeightEntry[];
}

/** The parsed model JSON; every field we do not interpret is kept as is. */
export interface TfjsModelJson {
  readonly format?: string;
  readonly generatedBy?: string;
  readonly convertedBy?: string | null;
  readonly modelTopology?: unknown;
  readonly weightsManifest?: readonly TfjsWeightsGroup[];
  readonly [extra: string]: unknown;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Parses model JSON text or bytes (UTF-8, BOM allowed) into an object; E_CORRUPT on bad JSON. */
export function parseTfjsJson(json: string | Uint8Array, file?: string): Record<string, unknown> {
  let text: string;
  if (typeof json === 'string') text = json;
  else {
    try {
      text = utf8.decode(json);
    } catch {
      fail('E_CORRUPT', 'TF.js model JSON is not valid UTF-8', file);
    }
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    fail('E_CORRUPT', `TF.js model JSON does not parse (${(e as Error).message})`, file);
  }
  if (!isObject(parsed)) fail('E_FORMAT', 'TF.js model JSON is not an object', file);
  checkJsonDepth(parsed, file);
  return parsed;
}

/** Deepest nesting of arrays/objects a model JSON may have (real topologies stay far below; JSON.stringify and recursive walks overflow the stack near 10,000). */
export const TFJS_MAX_JSON_DEPTH = 1000;

/** E_LIMIT when `value` nests deeper than TFJS_MAX_JSON_DEPTH; walks with an explicit stack, so it cannot overflow itself. */
function checkJsonDepth(value: unknown, file: string | undefined): void {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length) {
    const [v, depth] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (depth > TFJS_MAX_JSON_DEPTH)
      fail('E_LIMIT', `TF.js model JSON nests deeper than ${TFJS_MAX_JSON_DEPTH} levels of arrays/objects`, file);
    for (const child of Object.values(v)) if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
  }
}

/**
 * Which kind of model the JSON holds: its `format` field, or for files
 * written before `format` existed, the topology's shape (a GraphDef has
 * `node`, a Keras config has `class_name`/`config`/`model_config`).
 */
export function tfjsModelKind(json: Record<string, unknown>, file?: string): TfjsModelKind {
  const format = json.format;
  if (format === 'layers-model' || format === 'graph-model') return format;
  if (format !== undefined)
    fail('E_UNSUPPORTED', `TF.js model format "${String(format)}" is neither "layers-model" nor "graph-model"`, file);
  const topology = json.modelTopology;
  if (isObject(topology)) {
    if (Array.isArray(topology.node) || isObject(topology.library) || isObject(topology.versions)) return 'graph-model';
    if ('class_name' in topology || 'config' in topology || 'model_config' in topology || 'keras_version' in topology)
      return 'layers-model';
  }
  fail('E_FORMAT', 'not a TF.js model JSON: no "format" and no recognizable "modelTopology"', file);
}

function checkShape(v: unknown, where: string, file: string | undefined): number[] {
  if (!Array.isArray(v)) fail('E_CORRUPT', `${where} has no shape array`, file);
  return v.map((d, i) => {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0)
      fail('E_CORRUPT', `${where} shape[${i}] is ${JSON.stringify(d)}, not a non-negative integer`, file);
    return d;
  });
}

function checkEntry(input: unknown, where: string, file: string | undefined): TfjsWeightEntry {
  if (!isObject(input)) fail('E_CORRUPT', `${where} is not an object`, file);
  let v: Record<string, unknown> = input;
  if (typeof v.name !== 'string') fail('E_CORRUPT', `${where} has no string "name"`, file);
  const at = `${where} ("${v.name}")`;
  checkShape(v.shape, at, file);
  // Some writers put the storage type in "dtype" and the real one in quantization.original_dtype; read those as the modern layout.
  const q0 = v.quantization;
  if (isObject(q0) && v.dtype === q0.dtype && TFJS_DTYPES.includes(q0.original_dtype as TfjsDtype)) v = { ...v, dtype: q0.original_dtype };
  if (typeof v.dtype !== 'string' || !TFJS_DTYPES.includes(v.dtype as TfjsDtype))
    fail('E_UNSUPPORTED', `${at} has dtype ${JSON.stringify(v.dtype)}; TF.js weights are ${TFJS_DTYPES.join(', ')}`, file);
  if (v.quantization !== undefined) {
    const q = v.quantization;
    if (!isObject(q)) fail('E_CORRUPT', `${at} quantization is not an object`, file);
    if (typeof q.dtype !== 'string' || !TFJS_QUANTIZATION_DTYPES.includes(q.dtype as TfjsQuantizationDtype)) {
      fail('E_UNSUPPORTED', `${at} has quantization dtype ${JSON.stringify(q.dtype)}; TF.js supports uint8, uint16 and float16`, file);
    }
    if (q.dtype !== 'float16' && (typeof q.scale !== 'number' || typeof q.min !== 'number')) {
      fail('E_CORRUPT', `${at} is quantized to ${q.dtype} but lacks numeric "scale" and "min"`, file);
    }
    if (q.dtype === 'float16' && v.dtype !== 'float32')
      fail('E_UNSUPPORTED', `${at} is float16-quantized but has dtype ${v.dtype} (TF.js allows float16 only for float32)`, file);
    if (q.dtype !== 'float16' && v.dtype !== 'float32' && v.dtype !== 'int32')
      fail('E_UNSUPPORTED', `${at} is ${q.dtype}-quantized but has dtype ${v.dtype} (TF.js dequantizes only to float32 and int32)`, file);
  }
  return v as unknown as TfjsWeightEntry;
}

/** Validates `weightsManifest` (absent = no weights); returns it typed. */
export function checkWeightsManifest(json: Record<string, unknown>, file?: string): readonly TfjsWeightsGroup[] {
  const m = json.weightsManifest;
  if (m === undefined || m === null) return [];
  if (!Array.isArray(m)) fail('E_CORRUPT', '"weightsManifest" is not an array of groups', file);
  const names = new Set<string>();
  return m.map((g, gi) => {
    const where = `weightsManifest[${gi}]`;
    if (!isObject(g)) fail('E_CORRUPT', `${where} is not an object`, file);
    if (!Array.isArray(g.paths) || g.paths.some((p) => typeof p !== 'string'))
      fail('E_CORRUPT', `${where}.paths is not an array of strings`, file);
    if (!Array.isArray(g.weights)) fail('E_CORRUPT', `${where}.weights is not an array`, file);
    const weights = g.weights.map((w, wi) => checkEntry(w, `${where}.weights[${wi}]`, file));
    for (const w of weights) {
      if (names.has(w.name)) fail('E_CORRUPT', `weight "${w.name}" appears twice in the manifest`, file);
      names.add(w.name);
    }
    return { paths: g.paths as string[], weights };
  });
}
