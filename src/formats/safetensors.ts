/**
 * safetensors read/write, validating like the reference implementation
 * (huggingface/safetensors): an 8-byte little-endian header length N, N bytes
 * of UTF-8 JSON starting with '{' (padded with spaces to 8-byte alignment),
 * then the data area. Every tensor's `data_offsets` [begin, end) are relative
 * to the data area; sorted by offset they must cover it exactly — no gaps, no
 * overlaps, ending at the end of the file — and `end - begin` must equal
 * elements x dtype size. `__metadata__` is an optional string -> string map.
 *
 * Browser-safe: works on bytes only; src/node/safetensors-file.ts reads one
 * tensor from a file without loading the rest.
 */
import { byteLength, dtypeFromSafetensors, dtypeTraits, elementCount, type DType } from '../core/dtypes.js';
import { fail } from '../core/errors.js';
import type { Tensor } from '../core/tensor.js';
import type { ByteLayout, PayloadRange } from './layout.js';
import type { NamedTensor } from './types.js';

/** The reference implementation refuses headers above 100 MB; so do we. */
export const SAFETENSORS_MAX_HEADER_BYTES = 100_000_000;

/**
 * safetensors dtype names in the reference's enum order, which is increasing
 * alignment; the writer sorts by this rank (descending) then by name, as the
 * reference does, so each tensor's data starts aligned to its element size.
 * Which DType each name means, and its bits, come from the dtype table in
 * core/dtypes.ts; names without a DType there (F6_*) are ones modelpress
 * cannot represent.
 */
const SAFETENSORS_ORDER: readonly string[] = [
  'BOOL',
  'F4',
  'F6_E2M3',
  'F6_E3M2',
  'U8',
  'I8',
  'F8_E5M2',
  'F8_E4M3',
  'F8_E8M0',
  'I16',
  'U16',
  'F16',
  'BF16',
  'I32',
  'U32',
  'F32',
  'C64',
  'F64',
  'I64',
  'U64',
];

const byStName = new Map(
  SAFETENSORS_ORDER.map((name, rank) => {
    const dtype = dtypeFromSafetensors(name) ?? null;
    return [name, { dtype, bits: dtype === null ? 0 : dtypeTraits(dtype).bits, rank }] as const;
  }),
);
const byDType = new Map(
  [...byStName].flatMap(([name, { dtype, bits, rank }]) => (dtype === null ? [] : [[dtype, { name, bits, rank }] as const])),
);

/** The safetensors names in the reference's order (for the test that checks core's table names only these). */
export const SAFETENSORS_DTYPE_NAMES: readonly string[] = SAFETENSORS_ORDER;

/** The safetensors name of a dtype (e.g. 'BF16'), or undefined when safetensors cannot hold it. */
export function safetensorsDtypeName(d: DType): string | undefined {
  return byDType.get(d)?.name;
}

/** One tensor as the header describes it; offsets are relative to the data area. */
export interface SafetensorsHeaderEntry {
  readonly name: string;
  readonly dtype: DType;
  /** The dtype name as written in the file, e.g. 'F8_E4M3'. */
  readonly safetensorsDtype: string;
  readonly shape: readonly number[];
  readonly begin: number;
  readonly end: number;
}

export interface SafetensorsHeader {
  /** N, the JSON header's byte length (including padding). */
  readonly headerLength: number;
  /** Absolute file offset of the data area: 8 + N. */
  readonly dataStart: number;
  /** Tensors in file order (by offset). */
  readonly entries: readonly SafetensorsHeaderEntry[];
  readonly metadata: Record<string, string>;
}

export interface SafetensorsContent {
  /** Tensors in file order; each tensor's `data` is a view into the input bytes (no copy). */
  readonly tensors: NamedTensor[];
  readonly metadata: Record<string, string>;
}

/**
 * The header length N from the first 8 bytes, checked against the 100 MB
 * bound and the file size. `fileSize` is the full file's length.
 */
export function safetensorsHeaderLength(first8: Uint8Array, fileSize: number, file?: string): number {
  if (first8.length < 8 || fileSize < 8)
    fail('E_TRUNCATED', `safetensors file is ${fileSize} bytes, shorter than the 8-byte header length`, file);
  const view = new DataView(first8.buffer, first8.byteOffset, 8);
  const n = view.getBigUint64(0, true);
  if (n > BigInt(SAFETENSORS_MAX_HEADER_BYTES))
    fail('E_CORRUPT', `safetensors header length ${n} exceeds the ${SAFETENSORS_MAX_HEADER_BYTES}-byte limit`, file);
  const len = Number(n);
  if (8 + len > fileSize) fail('E_TRUNCATED', `safetensors header length ${len} runs past the end of the ${fileSize}-byte file`, file);
  return len;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkIndex(v: unknown, what: string, file: string | undefined): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
    fail('E_CORRUPT', `${what} is ${JSON.stringify(v)}, not a non-negative integer`, file);
  return v;
}

/** The JSON header (the N bytes after the length) as an object: '{' first, UTF-8, JSON, an object. */
function headerObject(raw: Uint8Array, file: string | undefined): Record<string, unknown> {
  if (raw.length === 0 || raw[0] !== 0x7b)
    fail(
      'E_FORMAT',
      `safetensors header does not start with '{' (byte 8 is ${raw.length === 0 ? 'absent' : `0x${raw[0]!.toString(16).padStart(2, '0')}`})`,
      file,
    );
  let text: string;
  try {
    text = utf8.decode(raw);
  } catch {
    fail('E_CORRUPT', 'safetensors header is not valid UTF-8', file);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    fail('E_CORRUPT', `safetensors header is not valid JSON (${(e as Error).message})`, file);
  }
  if (!isPlainObject(json)) fail('E_CORRUPT', 'safetensors header JSON is not an object', file);
  return json;
}

/**
 * Parses and validates a header. `headerBytes` holds at least the first
 * 8 + N bytes of the file; `fileSize` is the whole file's length (the data
 * offsets must end exactly there).
 */
export function parseSafetensorsHeader(headerBytes: Uint8Array, fileSize: number, file?: string): SafetensorsHeader {
  const n = safetensorsHeaderLength(headerBytes, fileSize, file);
  if (headerBytes.length < 8 + n) fail('E_TRUNCATED', `safetensors header needs ${8 + n} bytes, got ${headerBytes.length}`, file);
  const json = headerObject(headerBytes.subarray(8, 8 + n), file);
  let metadata: Record<string, string> = {};
  const entries: SafetensorsHeaderEntry[] = [];
  for (const [name, info] of Object.entries(json)) {
    if (name === '__metadata__') {
      if (info === null) continue; // the reference reads null as no metadata
      if (!isPlainObject(info)) fail('E_CORRUPT', '__metadata__ is not an object of strings', file);
      for (const [k, v] of Object.entries(info)) {
        if (typeof v !== 'string') fail('E_CORRUPT', `__metadata__ value of "${k}" is ${JSON.stringify(v)}, not a string`, file);
      }
      metadata = Object.fromEntries(Object.entries(info)) as Record<string, string>; // fromEntries: a "__proto__" key stays a plain key
      continue;
    }
    entries.push(parseEntry(name, info, file));
  }

  // Zero-size tensors share offsets with their neighbours; sort by (begin, end) like the reference.
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  const dataLength = fileSize - 8 - n;
  let cursor = 0;
  for (const e of entries) {
    if (e.begin < cursor)
      fail(
        'E_CORRUPT',
        `tensor "${e.name}" data_offsets [${e.begin}, ${e.end}] overlap the previous tensor, which ends at ${cursor}`,
        file,
      );
    if (e.begin > cursor)
      fail(
        'E_CORRUPT',
        `tensor "${e.name}" data_offsets [${e.begin}, ${e.end}] leave a gap after offset ${cursor} (the data area must be covered contiguously)`,
        file,
      );
    if (e.end > dataLength)
      fail(
        'E_TRUNCATED',
        `tensor "${e.name}" data_offsets [${e.begin}, ${e.end}] run past the end of the ${dataLength}-byte data area`,
        file,
      );
    cursor = e.end;
  }
  if (cursor !== dataLength)
    fail(
      'E_CORRUPT',
      `the tensors cover ${cursor} bytes but the data area holds ${dataLength} (trailing bytes after the last tensor)`,
      file,
    );
  return { headerLength: n, dataStart: 8 + n, entries, metadata };
}

function parseEntry(name: string, info: unknown, file: string | undefined): SafetensorsHeaderEntry {
  if (!isPlainObject(info)) fail('E_CORRUPT', `tensor "${name}" header entry is not an object`, file);
  const stName = info.dtype;
  if (typeof stName !== 'string') fail('E_CORRUPT', `tensor "${name}" has no string dtype`, file);
  const st = byStName.get(stName);
  if (!st) fail('E_CORRUPT', `tensor "${name}" has unknown dtype "${stName}"`, file);
  if (st.dtype === null) fail('E_UNSUPPORTED', `tensor "${name}" has dtype ${stName}, which modelpress cannot represent`, file);
  if (!Array.isArray(info.shape)) fail('E_CORRUPT', `tensor "${name}" has no shape array`, file);
  const shape = info.shape.map((d, i) => checkIndex(d, `tensor "${name}" shape[${i}]`, file));
  const offsets = info.data_offsets;
  if (!Array.isArray(offsets) || offsets.length !== 2) fail('E_CORRUPT', `tensor "${name}" data_offsets is not a [begin, end] pair`, file);
  const begin = checkIndex(offsets[0], `tensor "${name}" data_offsets[0]`, file);
  const end = checkIndex(offsets[1], `tensor "${name}" data_offsets[1]`, file);
  if (end < begin) fail('E_CORRUPT', `tensor "${name}" data_offsets [${begin}, ${end}] end before they begin`, file);
  let count = 1;
  for (const d of shape) {
    count *= d;
    if (!Number.isSafeInteger(count)) fail('E_CORRUPT', `tensor "${name}" shape [${shape.join(', ')}] overflows`, file);
  }
  const bits = count * st.bits;
  if (!Number.isSafeInteger(bits)) fail('E_CORRUPT', `tensor "${name}" shape [${shape.join(', ')}] overflows`, file);
  if (bits % 8 !== 0)
    fail('E_CORRUPT', `tensor "${name}" of ${stName}[${shape.join(', ')}] does not fill whole bytes (${bits} bits)`, file);
  if (end - begin !== bits / 8)
    fail(
      'E_CORRUPT',
      `tensor "${name}" of ${stName}[${shape.join(', ')}] needs ${bits / 8} bytes but data_offsets [${begin}, ${end}] span ${end - begin}`,
      file,
    );
  return { name, dtype: st.dtype, safetensorsDtype: stName, shape, begin, end };
}

/** The tensor an entry describes, given the data area's bytes (a view, no copy). */
export function tensorFromSafetensorsEntry(entry: SafetensorsHeaderEntry, data: Uint8Array, dataStart: number): NamedTensor {
  const tensor: Tensor = { dtype: entry.dtype, shape: [...entry.shape], data };
  return { name: entry.name, tensor, location: { kind: 'safetensors', offset: dataStart + entry.begin, length: entry.end - entry.begin } };
}

/**
 * Reads a whole safetensors file. Tensors come in file order; their `data`
 * are views into `bytes`; `location.offset` is the absolute file offset.
 */
export function readSafetensors(bytes: Uint8Array, file?: string): SafetensorsContent {
  const header = parseSafetensorsHeader(bytes, bytes.length, file);
  const tensors = header.entries.map((e) =>
    tensorFromSafetensorsEntry(e, bytes.subarray(header.dataStart + e.begin, header.dataStart + e.end), header.dataStart),
  );
  return { tensors, metadata: header.metadata };
}

const utf8Encoder = new TextEncoder();

/** Byte-wise (UTF-8) string order, as Rust's `str::cmp` sorts names. */
function compareUtf8(a: string, b: string): number {
  if (a === b) return 0;
  const x = utf8Encoder.encode(a);
  const y = utf8Encoder.encode(b);
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}

/**
 * Serializes tensors to safetensors bytes. Deterministic: tensors sorted by
 * dtype rank descending (widest alignment first) then name by UTF-8 bytes,
 * as the reference does; `__metadata__` first with its keys sorted; the JSON
 * padded with spaces to a multiple of 8 so every tensor's data is aligned.
 */
export function writeSafetensors(
  tensors: readonly { readonly name: string; readonly tensor: Tensor }[],
  metadata?: Readonly<Record<string, string>>,
): Uint8Array {
  const parts = encodeSafetensors(tensors, metadata);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

/**
 * The same file as `writeSafetensors`, as a list of chunks to write in order:
 * the header (length + padded JSON), then each tensor's own `data` (not
 * copied), so files larger than one buffer can be written.
 */
export function encodeSafetensors(
  tensors: readonly { readonly name: string; readonly tensor: Tensor }[],
  metadata?: Readonly<Record<string, string>>,
): Uint8Array[] {
  const seen = new Set<string>();
  const items = tensors.map(({ name, tensor }) => {
    if (name === '__metadata__') fail('E_ARG', 'a tensor cannot be named "__metadata__" in safetensors');
    if (seen.has(name)) fail('E_ARG', `duplicate tensor name "${name}"`);
    seen.add(name);
    const st = byDType.get(tensor.dtype);
    if (!st) fail('E_UNSUPPORTED', `tensor "${name}" has dtype ${tensor.dtype}, which safetensors cannot hold`);
    let count = 1;
    for (const d of tensor.shape) count *= d;
    const bits = count * st.bits;
    if (bits % 8 !== 0) fail('E_SHAPE', `tensor "${name}" of ${st.name}[${tensor.shape.join(', ')}] does not fill whole bytes`);
    if (tensor.data.length !== bits / 8)
      fail('E_SHAPE', `tensor "${name}" of ${tensor.dtype}[${tensor.shape.join(', ')}] needs ${bits / 8} bytes, has ${tensor.data.length}`);
    return { name, tensor, st };
  });
  items.sort((a, b) => b.st.rank - a.st.rank || compareUtf8(a.name, b.name));

  const parts: string[] = [];
  if (metadata && Object.keys(metadata).length > 0) {
    for (const [k, v] of Object.entries(metadata))
      if (typeof v !== 'string') fail('E_ARG', `safetensors metadata value of "${k}" is not a string`);
    parts.push(`"__metadata__":${stringifySorted(metadata)}`);
  }
  // Built by hand: JSON.stringify would move integer-like keys ("0", "12") to the front.
  let offset = 0;
  for (const { name, tensor, st } of items) {
    const end = offset + tensor.data.length;
    parts.push(`${JSON.stringify(name)}:{"dtype":"${st.name}","shape":[${tensor.shape.join(',')}],"data_offsets":[${offset},${end}]}`);
    offset = end;
  }
  const json = utf8Encoder.encode(`{${parts.join(',')}}`);
  const pad = (8 - (json.length % 8)) % 8;
  const header = new Uint8Array(8 + json.length + pad);
  new DataView(header.buffer).setBigUint64(0, BigInt(json.length + pad), true);
  header.set(json, 8);
  header.fill(0x20, 8 + json.length);
  return [header, ...items.map(({ tensor }) => tensor.data)];
}

function stringifySorted(map: Readonly<Record<string, string>>): string {
  const keys = Object.keys(map).sort(compareUtf8);
  return `{${keys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(map[k])}`).join(',')}}`;
}

/**
 * The byte layout of a safetensors file for the container: the 8-byte length
 * and the JSON header are not payloads; each tensor's data range is one
 * (typed when dtype, shape and length agree, else 'bytes'). Lenient where
 * parseSafetensorsHeader is strict (gaps, overlaps, unknown dtypes pack as
 * they are); the header length and JSON are checked as the reader checks
 * them, and a tensor fails only where its range cannot be placed.
 */
export function safetensorsByteLayout(bytes: Uint8Array): ByteLayout {
  const dataStart = 8 + safetensorsHeaderLength(bytes, bytes.length);
  const header = headerObject(bytes.subarray(8, dataStart), undefined);
  const ranges: PayloadRange[] = [];
  for (const [name, value] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const entry = (isPlainObject(value) ? value : {}) as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const offs = entry.data_offsets;
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((x) => Number.isSafeInteger(x) && x >= 0))
      fail('E_FORMAT', `safetensors tensor '${name}' has bad data_offsets`);
    const [a, b] = offs as [number, number];
    if (b < a || dataStart + b > bytes.length) fail('E_CORRUPT', `safetensors tensor '${name}' data_offsets [${a}, ${b}] outside the data`);
    const length = b - a;
    const dtype = typeof entry.dtype === 'string' ? dtypeFromSafetensors(entry.dtype) : undefined;
    const shape =
      Array.isArray(entry.shape) && entry.shape.every((d) => Number.isSafeInteger(d) && d >= 0) ? (entry.shape as number[]) : undefined;
    const typed = dtype !== undefined && shape !== undefined && byteLength(dtype, elementCount(shape)) === length;
    ranges.push({ name, dtype: typed ? dtype : 'bytes', shape: typed ? shape : [length], offset: dataStart + a, length });
  }
  return { format: 'safetensors', files: [{ name: '', length: bytes.length }], ranges };
}
