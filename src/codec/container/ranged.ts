/**
 * Random access without the whole file: read one tensor through a range
 * reader (an HTTP Range request, a file handle), fetching only the header,
 * the index, the trailer and that tensor's chunks.
 */
import { fail } from '../../core/errors.js';
import type { Tensor } from '../../core/tensor.js';
import { crc32c } from '../checksum.js';
import { HEADER_BYTES, TRAILER_BYTES, checkTrailer, defaultMaxOutput, readHeader } from './format.js';
import { decodeIndexSection, indexGenericBytes, parseIndex, type MpzIndex } from './index-codec.js';
import { decodeTensorEntry, tensorChunkSpan } from './reader.js';

/** Returns exactly `length` bytes at `offset` of the .mpz file (fewer only at its end). */
export type RangeReader = (offset: number, length: number) => Promise<Uint8Array>;

export interface RangedMpz {
  readonly index: MpzIndex;
  /** Decodes one tensor, reading only its chunks (and those of the tensor it duplicates). */
  readTensor(name: string): Promise<Tensor>;
}

async function readExact(read: RangeReader, offset: number, length: number, what: string, file?: string): Promise<Uint8Array> {
  const b = await read(offset, length);
  if (b.length < length) fail('E_TRUNCATED', `.mpz ends while reading ${what} (${length} bytes at ${offset}, got ${b.length})`, file);
  return b.length === length ? b : b.subarray(0, length);
}

/** Opens an .mpz through a range reader: header, index and trailer are read and validated. */
export async function openMpzRanged(
  read: RangeReader,
  opts: { file?: string; maxOutput?: number; maxGenericBytes?: number } = {},
): Promise<RangedMpz> {
  const { file } = opts;
  const headerBytes = await readExact(read, 0, HEADER_BYTES, 'the header', file);
  const header = readHeader(headerBytes, undefined, file);
  const section = await readExact(read, HEADER_BYTES, header.indexLength, 'the index', file);
  if (crc32c(section) !== header.indexCrc) fail('E_CHECKSUM', '.mpz index CRC32C mismatch', file);
  checkTrailer(await readExact(read, header.fileLength - TRAILER_BYTES, TRAILER_BYTES, 'the trailer', file), headerBytes, file);
  const maxOutput = opts.maxOutput ?? defaultMaxOutput(header.fileLength);
  const index = parseIndex(decodeIndexSection(section, file, maxOutput, opts.maxGenericBytes), {
    fileLength: header.fileLength,
    maxOutput,
    indexGenericBytes: indexGenericBytes(section),
    ...(opts.maxGenericBytes === undefined ? {} : { maxGenericBytes: opts.maxGenericBytes }),
    dataStart: HEADER_BYTES + header.indexLength,
    ...(file === undefined ? {} : { file }),
  });
  return {
    index,
    async readTensor(name: string): Promise<Tensor> {
      const entry = index.tensors.find((t) => t.name === name);
      if (!entry) return fail('E_NOT_FOUND', `no tensor named '${name}' in the .mpz tensor table`, file);
      const { start, end } = tensorChunkSpan(index, entry);
      const span = end > start ? await readExact(read, start, end - start, `tensor '${name}'`, file) : new Uint8Array(0);
      return decodeTensorEntry(index, entry, span, start, file);
    },
  };
}
