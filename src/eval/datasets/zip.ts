/**
 * A small zip reader for .npz files: locates the end-of-central-directory
 * record, walks the central directory (sizes come from there, because numpy
 * writes zip64 local headers), and returns entries stored (method 0) or
 * deflated (method 8). Inflation is injected; the default uses the
 * browser-safe DecompressionStream('deflate-raw'). The directory's sizes bound
 * the work: a member larger than `maxBytes` is refused before it is read, and
 * inflation stops at the declared size, so a zip bomb costs no more memory
 * than its directory admits to.
 */
import { concatBytes } from '../../core/bytes.js';
import { fail } from '../../core/errors.js';

export interface ZipEntry {
  readonly name: string;
  readonly method: number;
  readonly compressedSize: number;
  readonly size: number;
  readonly crc32: number;
  /** Offset of the entry's local header. */
  readonly localOffset: number;
}

/**
 * Inflates raw deflate data, producing at most `maxOutput` bytes: an inflater
 * whose output would exceed it throws (or stops) instead of allocating more.
 */
export type InflateRaw = (data: Uint8Array, maxOutput: number) => Promise<Uint8Array> | Uint8Array;

/** Default bound on one archive member's (or one decompressed file's) size: 2 GiB. */
export const DEFAULT_MAX_DATA_BYTES = 2 ** 31;

/** Options of the zip readers. */
export interface ZipReadOptions {
  inflateRaw?: InflateRaw;
  file?: string;
  /** Largest member size accepted, in bytes; default DEFAULT_MAX_DATA_BYTES. */
  maxBytes?: number;
}

/** Deflate's best ratio is 1032:1 (a 258-byte match in under 2 bits); the directory claiming more is lying. */
export const DEFLATE_MAX_RATIO = 1032;

const EOCD = 0x06054b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

/** Lists the entries of a zip archive from its central directory. */
export function listZip(bytes: Uint8Array, file?: string): ZipEntry[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let eocd = -1;
  for (let i = bytes.length - 22; i >= Math.max(0, bytes.length - 22 - 0xffff); i--) {
    if (view.getUint32(i, true) === EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0)
    fail(
      bytes.length >= 4 && view.getUint32(0, true) === LOCAL ? 'E_TRUNCATED' : 'E_FORMAT',
      'not a complete zip archive: no end-of-central-directory record',
      file,
    );
  const count = view.getUint16(eocd + 10, true);
  const dirSize = view.getUint32(eocd + 12, true);
  const dirOffset = view.getUint32(eocd + 16, true);
  if (dirOffset === 0xffffffff || count === 0xffff)
    fail('E_UNSUPPORTED', 'zip64 archives (over 4 GiB or 65535 entries) are not supported', file);
  if (dirOffset + dirSize > eocd)
    fail('E_CORRUPT', `zip central directory [${dirOffset}, +${dirSize}) overlaps its end record at ${eocd}`, file);
  const entries: ZipEntry[] = [];
  let p = dirOffset;
  for (let i = 0; i < count; i++) {
    if (p + 46 > eocd || view.getUint32(p, true) !== CENTRAL)
      fail('E_CORRUPT', `zip central directory entry ${i} at offset ${p} has a bad signature`, file);
    const method = view.getUint16(p + 10, true);
    const crc32 = view.getUint32(p + 16, true);
    const compressedSize = view.getUint32(p + 20, true);
    const size = view.getUint32(p + 24, true);
    const nameLength = view.getUint16(p + 28, true);
    const extraLength = view.getUint16(p + 30, true);
    const commentLength = view.getUint16(p + 32, true);
    const localOffset = view.getUint32(p + 42, true);
    if (compressedSize === 0xffffffff || size === 0xffffffff || localOffset === 0xffffffff)
      fail('E_UNSUPPORTED', `zip entry ${i} uses zip64 sizes`, file);
    const name = new TextDecoder().decode(bytes.subarray(p + 46, p + 46 + nameLength));
    entries.push({ name, method, compressedSize, size, crc32, localOffset });
    p += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

/** The uncompressed bytes of one entry, CRC-checked. */
export async function readZipEntry(bytes: Uint8Array, entry: ZipEntry, options: ZipReadOptions = {}): Promise<Uint8Array> {
  const { file } = options;
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_DATA_BYTES;
  if (entry.size > maxBytes)
    fail('E_CORRUPT', `zip entry '${entry.name}' declares ${entry.size} bytes, over the ${maxBytes}-byte limit for one member`, file);
  if (entry.method === 0 && entry.compressedSize !== entry.size)
    fail('E_CORRUPT', `stored zip entry '${entry.name}' has ${entry.compressedSize} bytes but declares ${entry.size}`, file);
  if (entry.method === 8 && entry.size > entry.compressedSize * DEFLATE_MAX_RATIO + 64)
    fail(
      'E_CORRUPT',
      `zip entry '${entry.name}' declares ${entry.size} bytes from ${entry.compressedSize} deflated, beyond deflate's ${DEFLATE_MAX_RATIO}:1 limit`,
      file,
    );
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const at = entry.localOffset;
  if (at + 30 > bytes.length || view.getUint32(at, true) !== LOCAL)
    fail('E_CORRUPT', `zip entry '${entry.name}': no local header at offset ${at}`, file);
  const start = at + 30 + view.getUint16(at + 26, true) + view.getUint16(at + 28, true);
  const end = start + entry.compressedSize;
  if (end > bytes.length)
    fail('E_TRUNCATED', `zip entry '${entry.name}' needs bytes [${start}, ${end}), archive has ${bytes.length}`, file);
  const raw = bytes.subarray(start, end);
  let data: Uint8Array;
  if (entry.method === 0) data = raw;
  else if (entry.method === 8) {
    try {
      data = await (options.inflateRaw ?? inflateRawWithStreams)(raw, entry.size);
    } catch (e) {
      if (e instanceof OutputLimitError)
        fail('E_CORRUPT', `zip entry '${entry.name}' inflates to more than the ${entry.size} bytes its directory declares`, file);
      fail('E_CORRUPT', `zip entry '${entry.name}': deflate data is damaged (${(e as Error).message})`, file);
    }
  } else
    fail(
      'E_UNSUPPORTED',
      `zip entry '${entry.name}' uses compression method ${entry.method}; only stored (0) and deflate (8) are read`,
      file,
    );
  if (data.length !== entry.size)
    fail('E_CORRUPT', `zip entry '${entry.name}' inflates to ${data.length} bytes, directory says ${entry.size}`, file);
  if (crc32(data) !== entry.crc32) fail('E_CHECKSUM', `zip entry '${entry.name}' fails its CRC-32 check`, file);
  return data;
}

/** Thrown by an inflater whose output would exceed its limit. */
export class OutputLimitError extends Error {
  constructor(limit: number) {
    super(`output exceeds ${limit} bytes`);
  }
}

/** Inflates with DecompressionStream, cancelling it once the output passes `maxOutput` bytes. */
async function inflateRawWithStreams(data: Uint8Array, maxOutput: number): Promise<Uint8Array> {
  const stream = new Blob([data as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream('deflate-raw'));
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > maxOutput) {
      await reader.cancel();
      throw new OutputLimitError(maxOutput);
    }
    chunks.push(value);
  }
  return concatBytes(chunks);
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (IEEE), as zip and gzip use. */
export function crc32(data: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
