/**
 * The `.mpz` container's fixed parts: magic, version, header, trailer, and
 * the encoding ids stored in the index (coder ids: coders.ts). docs/FORMAT.md is the specification; this
 * file and index-codec.ts are its reference implementation.
 */
import { fail } from '../../core/errors.js';
import { MPZ_MAGIC, hasMpzMagic } from '../../formats/mpz-magic.js';
import { crc32c } from '../checksum.js';

/** The magic (first 8 bytes) is defined in formats/mpz-magic.ts, so format detection needs no container import. */
export { MPZ_MAGIC, hasMpzMagic };
/** Last 8 bytes start with this end magic "MPZE", followed by the header's CRC32C. */
export const MPZ_END_MAGIC: Uint8Array = Uint8Array.of(0x4d, 0x50, 0x5a, 0x45);

export const VERSION_MAJOR = 1;
/** Latest minor version this reader and writer know: 1 added the lz coder (id 10), 2 fastfloat (id 11). Writers write the lowest one they need. */
export const VERSION_MINOR = 2;
export const HEADER_BYTES = 32;
export const TRAILER_BYTES = 8;
/** Raw bytes per payload chunk (the unit of checksumming and streaming). */
export const CHUNK_BYTES = 256 * 1024;
/** Largest output a reader accepts (4 GiB - 1): typed arrays beyond that are not portable. */
export const MAX_OUTPUT_BYTES = 0xffffffff;
/** Largest chunk a writer may emit and a reader accepts (decoded bytes; 16x the default): bounds every per-chunk allocation. */
export const MAX_CHUNK_BYTES = 4 * 1024 * 1024;

/**
 * Most bytes a file may ask the generic context-mixing coder (coder 1) to
 * decode, summed over the index, skeleton and tensor chunks and the sign
 * sections of signlz chunks (docs/FORMAT.md, "Decoder limits"). That coder
 * runs at ~0.3-0.6 MB/s, so this caps its work at about a second for a file of
 * any size; everything beyond goes through the lz coder, which decodes at
 * 100+ MB/s. Writers stay within it; readers refuse more with E_LIMIT.
 */
export const MAX_GENERIC_BYTES = 512 * 1024;

/**
 * Default limit on the decoded output of an .mpz of `fileLength` bytes:
 * 256x the file plus 64 MiB. Real files stay far below it (silero packs 2.7x,
 * pruned+clustered models ~41x); a claim beyond it is refused with E_LIMIT
 * before anything is allocated. Callers may pass their own `maxOutput`.
 */
export function defaultMaxOutput(fileLength: number): number {
  return Math.min(MAX_OUTPUT_BYTES, 256 * fileLength + 64 * 1024 * 1024);
}

/** Encoding kinds of a tensor entry. */
export const ENCODING = { dedup: 0, direct: 1, codebook: 2 } as const;

export interface Header {
  readonly major: number;
  readonly minor: number;
  readonly indexLength: number;
  readonly fileLength: number;
  readonly indexCrc: number;
  readonly headerCrc: number;
}

export function writeHeader(indexLength: number, fileLength: number, indexCrc: number, minor: number = VERSION_MINOR): Uint8Array {
  const h = new Uint8Array(HEADER_BYTES);
  const v = new DataView(h.buffer);
  h.set(MPZ_MAGIC, 0);
  h[8] = VERSION_MAJOR;
  h[9] = minor;
  v.setUint16(10, 0, true);
  v.setUint32(12, indexLength, true);
  v.setBigUint64(16, BigInt(fileLength), true);
  v.setUint32(24, indexCrc, true);
  v.setUint32(28, crc32c(h.subarray(0, 28)), true);
  return h;
}

export function writeTrailer(header: Uint8Array): Uint8Array {
  const t = new Uint8Array(TRAILER_BYTES);
  t.set(MPZ_END_MAGIC, 0);
  new DataView(t.buffer).setUint32(4, crc32c(header), true);
  return t;
}

/**
 * Parses and validates the 32-byte header: magic, version, reserved flags,
 * header CRC. `available` is how many bytes the caller has (undefined when
 * streaming and the end is not known yet).
 */
export function readHeader(bytes: Uint8Array, available?: number, file?: string): Header {
  if (bytes.length < HEADER_BYTES) {
    if (bytes.length >= MPZ_MAGIC.length && !hasMpzMagic(bytes)) fail('E_FORMAT', 'not an .mpz file (bad magic)', file);
    fail('E_TRUNCATED', `.mpz header needs ${HEADER_BYTES} bytes, got ${bytes.length}`, file);
  }
  if (!hasMpzMagic(bytes)) fail('E_FORMAT', 'not an .mpz file (bad magic)', file);
  const v = new DataView(bytes.buffer, bytes.byteOffset, HEADER_BYTES);
  const headerCrc = v.getUint32(28, true);
  if (crc32c(bytes.subarray(0, 28)) !== headerCrc) fail('E_CHECKSUM', '.mpz header CRC32C mismatch (bytes 0..27)', file);
  const major = bytes[8]!;
  const minor = bytes[9]!;
  if (major !== VERSION_MAJOR) fail('E_UNSUPPORTED', `.mpz major version ${major} (this reader handles ${VERSION_MAJOR}.x)`, file);
  const flags = v.getUint16(10, true);
  if (flags !== 0)
    fail(
      'E_UNSUPPORTED',
      `.mpz header flags 0x${flags.toString(16)} set; all are reserved and must be 0 in version ${VERSION_MAJOR}.${minor}`,
      file,
    );
  const indexLength = v.getUint32(12, true);
  const fileLength64 = v.getBigUint64(16, true);
  if (fileLength64 > BigInt(Number.MAX_SAFE_INTEGER)) fail('E_UNSUPPORTED', `.mpz file length ${fileLength64} is beyond 2^53`, file);
  const fileLength = Number(fileLength64);
  if (fileLength < HEADER_BYTES + indexLength + TRAILER_BYTES)
    fail('E_CORRUPT', `.mpz file length ${fileLength} is smaller than header + index (${indexLength}) + trailer`, file);
  if (available !== undefined && available < fileLength)
    fail('E_TRUNCATED', `.mpz file is ${available} bytes, header declares ${fileLength}`, file);
  if (available !== undefined && available > fileLength)
    fail('E_CORRUPT', `.mpz file is ${available} bytes, header declares ${fileLength} (trailing data)`, file);
  return { major, minor, indexLength, fileLength, indexCrc: v.getUint32(24, true), headerCrc };
}

/** Checks the 8-byte trailer against the header. */
export function checkTrailer(trailer: Uint8Array, header: Uint8Array, file?: string): void {
  if (trailer.length !== TRAILER_BYTES) fail('E_TRUNCATED', `.mpz trailer needs ${TRAILER_BYTES} bytes, got ${trailer.length}`, file);
  for (let i = 0; i < MPZ_END_MAGIC.length; i++)
    if (trailer[i] !== MPZ_END_MAGIC[i]) fail('E_CORRUPT', '.mpz trailer end magic missing', file);
  const want = new DataView(trailer.buffer, trailer.byteOffset, TRAILER_BYTES).getUint32(4, true);
  if (want !== crc32c(header.subarray(0, HEADER_BYTES)))
    fail('E_CHECKSUM', '.mpz trailer does not belong to this header (CRC32C mismatch)', file);
}
