/**
 * Hostile .mpz files for the decoder-limit tests (issue 12, rows 1-2): built
 * by hand from an index with every CRC recomputed, so only the size checks
 * stand between a tiny file and gigabytes of output or minutes of decoding.
 */
import { crc32c } from '../src/codec/checksum.js';
import { ByteWriter } from '../src/codec/bytes.js';
import { CODER } from '../src/codec/container/coders.js';
import { HEADER_BYTES, TRAILER_BYTES, writeHeader, writeTrailer } from '../src/codec/container/format.js';
import { type MpzIndex, type StreamDesc, type TensorEntry, writeIndex } from '../src/codec/container/index-codec.js';
import { encodeHuffman } from '../src/codec/huffman.js';

/** An .mpz from an index and its chunks' encoded bytes (CRCs appended and recomputed); `section` overrides the stored index. */
export function buildMpz(index: Omit<MpzIndex, 'dataStart' | 'dataEnd'>, chunks: Uint8Array[], section?: Uint8Array): Uint8Array {
  let body = section;
  if (!body) {
    const raw = writeIndex(index);
    const w = new ByteWriter();
    w.u8(CODER.raw);
    w.varuint(raw.length);
    w.bytes(raw);
    body = w.finish();
  }
  const area = chunks.reduce((n, c) => n + c.length + 4, 0);
  const fileLength = HEADER_BYTES + body.length + area + TRAILER_BYTES;
  const out = new Uint8Array(fileLength);
  const header = writeHeader(body.length, fileLength, crc32c(body));
  out.set(header, 0);
  out.set(body, HEADER_BYTES);
  let at = HEADER_BYTES + body.length;
  for (const c of chunks) {
    out.set(c, at);
    new DataView(out.buffer).setUint32(at + c.length, crc32c(c), true);
    at += c.length + 4;
  }
  out.set(writeTrailer(header), fileLength - TRAILER_BYTES);
  return out;
}

export const stream = (coder: number, chunks: { count: number; encodedLength: number }[]): StreamDesc => ({
  coder,
  chunks: chunks.map((c) => ({ ...c, offset: 0 })),
});

/** One tensor of `elements` 4-bit (or uint8) elements, coded as a one-symbol Huffman codebook stream in `chunkCount` chunks. */
export function huffmanBomb(dtypeId: 2 | 22, elements: number, chunkCount = 1): Uint8Array {
  const one = encodeHuffman(new Uint8Array(1), 1); // mode "one symbol": no data bits, any count
  const length = dtypeId === 22 ? elements / 2 : elements;
  const per = elements / chunkCount;
  const tensor: TensorEntry = {
    name: 'w',
    dtypeId,
    shape: [elements],
    offset: 0,
    length,
    crc: 0,
    encoding: {
      kind: 'codebook',
      entries: Uint8Array.of(0),
      size: 1,
      center: 0,
      stream: stream(
        CODER.huffman,
        Array.from({ length: chunkCount }, () => ({ count: per, encodedLength: one.length })),
      ),
    },
  };
  return buildMpz(
    { format: 'opaque', files: [{ name: '', length, crc: 0 }], totalLength: length, skeleton: stream(CODER.raw, []), tensors: [tensor] },
    Array.from({ length: chunkCount }, () => one),
  );
}

/**
 * An .mpz whose generic-coded index claims `claimed` decoded bytes from a
 * coded body of `bodyBytes` zero bytes: with a code value of 0 the range
 * decoder yields 0 bits whatever the model predicts and consumes one byte per
 * ~2000 output bytes, so the body really decodes that long (the CPU
 * bomb: ~140 KB of it keeps a reader busy for minutes on 256 MiB).
 */
export function indexBomb(claimed: number, bodyBytes: number): Uint8Array {
  const w = new ByteWriter();
  w.u8(CODER.bytes);
  w.varuint(claimed);
  w.u8(1); // byte coder mode 1: range-coded
  w.bytes(new Uint8Array(bodyBytes));
  return buildMpz({ format: 'opaque', files: [], totalLength: 0, skeleton: stream(CODER.raw, []), tensors: [] }, [], w.finish());
}
