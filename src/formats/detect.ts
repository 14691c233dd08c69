/**
 * Which format a file holds, judged from its content; the extension only
 * breaks ties. Each probe is cheap and tolerant of truncation (a truncated
 * file is still recognized, so its reader can say what is missing):
 * - modelpress container: its 8 magic bytes (\x89MPZ\r\n\x1a\n, formats/mpz-magic.ts);
 * - safetensors: a little-endian u64 header length <= 100 MB, then '{';
 * - TF.js: a JSON object with modelTopology / weightsManifest / format;
 * - ONNX: the leading protobuf fields parse as a ModelProto (known field
 *   numbers with their wire types, a plausible ir_version, or a graph /
 *   opset_import submessage), whatever order the fields come in.
 */
import { fail } from '../core/errors.js';
import { readVarint as decodeVarint, type VarintOut } from '../core/varint.js';
import { MPZ_MAGIC, hasMpzMagic } from './mpz-magic.js';
import { SAFETENSORS_MAX_HEADER_BYTES } from './safetensors.js';
import type { FormatName } from './types.js';

/** Magic bytes opening a modelpress container (.mpz; docs/FORMAT.md). */
export { MPZ_MAGIC, hasMpzMagic };

/** A format modelpress reads: a model format, or its own container. */
export type DetectedFormat = FormatName | 'mpz';

const EXTENSIONS: Record<string, DetectedFormat> = { onnx: 'onnx', safetensors: 'safetensors', json: 'tfjs', mpz: 'mpz' };

/** True for a safetensors prefix: sane header length, '{' at byte 8, and (when all there) a header ending in '}'. */
export function looksLikeSafetensors(bytes: Uint8Array): boolean {
  if (bytes.length < 9 || bytes[8] !== 0x7b) return false;
  const n = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (n < 2n || n > BigInt(SAFETENSORS_MAX_HEADER_BYTES)) return false;
  const end = 8 + Number(n);
  if (end > bytes.length) return true; // truncated: the reader will say so
  let last = end - 1;
  while (last > 8 && (bytes[last] === 0x20 || bytes[last] === 0x0a || bytes[last] === 0x0d || bytes[last] === 0x09)) last--;
  return bytes[last] === 0x7d;
}

const lenientUtf8 = new TextDecoder('utf-8');
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** True for a TF.js model JSON (also when truncated, if its first 64 KB name a TF.js field). */
export function looksLikeTfjsJson(bytes: Uint8Array): boolean {
  let i = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  while (i < bytes.length && (bytes[i] === 0x20 || bytes[i] === 0x0a || bytes[i] === 0x0d || bytes[i] === 0x09)) i++;
  if (bytes[i] !== 0x7b) return false;
  const text = lenientUtf8.decode(bytes.subarray(i));
  try {
    const v: unknown = JSON.parse(text);
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
    const o = v as Record<string, unknown>;
    return 'modelTopology' in o || 'weightsManifest' in o || o.format === 'layers-model' || o.format === 'graph-model';
  } catch {
    const head = text.slice(0, 65536);
    return head.includes('"modelTopology"') || head.includes('"weightsManifest"') || /"format"\s*:\s*"(layers|graph)-model"/.test(head);
  }
}

const varint: VarintOut = { value: 0 };

/** A protobuf varint at `pos`: [value, next position], or undefined if it runs off the end or past 10 bytes. */
function readVarint(bytes: Uint8Array, pos: number): [number, number] | undefined {
  const next = decodeVarint(bytes, pos, bytes.length, 10, varint);
  return next < 0 ? undefined : [varint.value, next];
}

/** ModelProto field number -> wire type (0 varint, 2 length-delimited). */
const MODEL_FIELDS: ReadonlyMap<number, number> = new Map([
  [1, 0],
  [2, 2],
  [3, 2],
  [4, 2],
  [5, 0],
  [6, 2],
  [7, 2],
  [8, 2],
  [14, 2],
  [20, 2],
  [25, 2],
  [26, 2],
]);
/** GraphProto and OperatorSetIdProto fields, to check a submessage's first tag. */
const GRAPH_FIELDS: ReadonlyMap<number, number> = new Map([
  [1, 2],
  [2, 2],
  [5, 2],
  [10, 2],
  [11, 2],
  [12, 2],
  [13, 2],
  [14, 2],
  [15, 2],
  [16, 2],
]);
const OPSET_FIELDS: ReadonlyMap<number, number> = new Map([
  [1, 2],
  [2, 0],
]);

function firstTagFits(bytes: Uint8Array, pos: number, end: number, fields: ReadonlyMap<number, number>): boolean {
  if (pos >= end) return true; // an empty submessage is valid
  const tag = readVarint(bytes, pos);
  return tag !== undefined && fields.get(Math.floor(tag[0] / 8)) === tag[0] % 8;
}

/**
 * True when the leading fields parse as an ONNX ModelProto: every field
 * seen has a ModelProto number and wire type, names are UTF-8, and there is
 * strong evidence (an ir_version in 1..15, or a graph/opset_import whose
 * first field fits) plus at least two fields or the whole input consumed.
 */
export function looksLikeOnnx(bytes: Uint8Array): boolean {
  let pos = 0;
  let fields = 0;
  let strong = false;
  while (pos < bytes.length && fields < 64) {
    const tag = readVarint(bytes, pos);
    if (!tag) break;
    const field = Math.floor(tag[0] / 8);
    const wire = tag[0] % 8;
    if (MODEL_FIELDS.get(field) !== wire) return strong && fields >= 2; // a field we do not know after clear evidence: newer ONNX or damage the reader will name
    pos = tag[1];
    if (wire === 0) {
      const v = readVarint(bytes, pos);
      if (!v) {
        fields++;
        break;
      }
      if (field === 1) {
        if (v[0] < 1 || v[0] > 15) return false; // IR versions so far: 1..11
        strong = true;
      }
      pos = v[1];
    } else {
      const len = readVarint(bytes, pos);
      if (!len) {
        fields++;
        break;
      }
      pos = len[1];
      const end = pos + len[0];
      const available = Math.min(end, bytes.length);
      if (field === 2 || field === 3 || field === 4 || field === 6) {
        if (field !== 6 && len[0] > 4096) return false;
        try {
          if (end <= bytes.length) strictUtf8.decode(bytes.subarray(pos, end));
        } catch {
          return false;
        }
      }
      if (field === 7 || field === 8) {
        if (!firstTagFits(bytes, pos, available, field === 7 ? GRAPH_FIELDS : OPSET_FIELDS)) return false;
        strong = true;
      }
      if (end > bytes.length) {
        fields++;
        break;
      }
      pos = end;
    }
    fields++;
  }
  return strong && (fields >= 2 || pos === bytes.length);
}

function extensionOf(file: string | undefined): string {
  if (!file) return '';
  const base = file.slice(Math.max(file.lastIndexOf('/'), file.lastIndexOf('\\')) + 1);
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(dot + 1).toLowerCase() : '';
}

function preview(bytes: Uint8Array): string {
  const head = bytes.subarray(0, 16);
  const hex = [...head].map((b) => b.toString(16).padStart(2, '0')).join(' ');
  const ascii = [...head].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
  return `${hex}${bytes.length > 16 ? ' ...' : ''} "${ascii}"`;
}

/**
 * The format of a model file from its content (the whole file, or at least
 * its first few KB); `file` names it in errors and its extension breaks a
 * tie between formats the content fits. E_FORMAT when nothing fits.
 */
export function detectFormat(bytes: Uint8Array, file?: string): DetectedFormat {
  if (bytes.length === 0) fail('E_FORMAT', 'empty file: not an ONNX, safetensors or TF.js model', file);
  const candidates: DetectedFormat[] = [];
  if (hasMpzMagic(bytes)) candidates.push('mpz');
  if (looksLikeSafetensors(bytes)) candidates.push('safetensors');
  if (looksLikeTfjsJson(bytes)) candidates.push('tfjs');
  if (looksLikeOnnx(bytes)) candidates.push('onnx');
  const byExtension = EXTENSIONS[extensionOf(file)];
  if (candidates.length > 0) return byExtension && candidates.includes(byExtension) ? byExtension : candidates[0]!;
  const hint = byExtension ? ` — the .${extensionOf(file)} extension says ${byExtension}, but the content is not` : '';
  fail('E_FORMAT', `not an ONNX, safetensors or TF.js model (first bytes: ${preview(bytes)})${hint}`, file);
}
