/**
 * Streaming .mpz decode from a ReadableStream (e.g. a fetch body): header
 * and index first, then each chunk is checked and decoded into the output
 * buffer as soon as its bytes have arrived. Only the output and the chunk
 * being assembled are held, never the whole .mpz file.
 */
import { fail } from '../../core/errors.js';
import { crc32c } from '../checksum.js';
import { Assembler, planSteps, type UnpackedModel } from './assemble.js';
import { HEADER_BYTES, TRAILER_BYTES, checkTrailer, defaultMaxOutput, readHeader } from './format.js';
import { decodeIndexSection, indexGenericBytes, parseIndex } from './index-codec.js';
import type { ReadOptions } from './reader.js';

/** Pulls exact byte counts out of a stream reader, copying only when a request spans pieces. */
class StreamBytes {
  private pieces: Uint8Array[] = [];
  private head = 0; // read position inside pieces[0]
  private queued = 0;
  private done = false;
  /** Bytes consumed so far (for error messages). */
  consumed = 0;

  constructor(
    private readonly reader: ReadableStreamDefaultReader<Uint8Array>,
    private readonly file?: string,
  ) {}

  private async fill(n: number, what: string): Promise<void> {
    while (this.queued < n) {
      if (this.done)
        fail(
          'E_TRUNCATED',
          `.mpz stream ended at byte ${this.consumed + this.queued} while reading ${what} (${n - this.queued} more bytes needed)`,
          this.file,
        );
      const r = await this.reader.read();
      if (r.done) this.done = true;
      else if (r.value.length > 0) {
        if (!(r.value instanceof Uint8Array)) fail('E_ARG', '.mpz stream must yield Uint8Array chunks', this.file);
        this.pieces.push(r.value);
        this.queued += r.value.length;
      }
    }
  }

  /** The next `n` bytes (a view when they lie in one piece, a copy otherwise). */
  async take(n: number, what: string): Promise<Uint8Array> {
    await this.fill(n, what);
    const first = this.pieces[0];
    let out: Uint8Array;
    if (n === 0) out = new Uint8Array(0);
    else if (first && first.length - this.head >= n) {
      out = first.subarray(this.head, this.head + n);
      this.head += n;
      if (this.head === first.length) this.shift();
    } else {
      out = new Uint8Array(n);
      let got = 0;
      while (got < n) {
        const p = this.pieces[0]!;
        const k = Math.min(n - got, p.length - this.head);
        out.set(p.subarray(this.head, this.head + k), got);
        got += k;
        this.head += k;
        if (this.head === p.length) this.shift();
      }
    }
    this.queued -= n;
    this.consumed += n;
    return out;
  }

  private shift(): void {
    this.pieces.shift();
    this.head = 0;
  }

  /** Throws E_CORRUPT if the stream holds more bytes. */
  async expectEnd(): Promise<void> {
    while (!this.done && this.queued === 0) {
      const r = await this.reader.read();
      if (r.done) this.done = true;
      else this.queued += r.value.length;
    }
    if (this.queued > 0) fail('E_CORRUPT', `.mpz stream continues past the declared file length ${this.consumed}`, this.file);
  }
}

/** Decodes an .mpz file from a stream; resolves to the original model files. */
export async function unpackStream(stream: ReadableStream<Uint8Array>, opts: ReadOptions = {}): Promise<UnpackedModel> {
  const { file } = opts;
  const reader = stream.getReader();
  const input = new StreamBytes(reader, file);
  let ok = false;
  try {
    const headerBytes = (await input.take(HEADER_BYTES, 'the header')).slice();
    const header = readHeader(headerBytes, undefined, file);
    const indexBytes = await input.take(header.indexLength, 'the index');
    if (crc32c(indexBytes) !== header.indexCrc) fail('E_CHECKSUM', '.mpz index CRC32C mismatch', file);
    // The header's fileLength is only a claim until the stream ends, so by
    // default the limits follow the bytes received: the index may decode to
    // defaultMaxOutput(bytes so far), and before each chunk (or dedup copy) the
    // output claimed through it must stay within defaultMaxOutput(bytes
    // received through that chunk). The output buffer is allocated zeroed up
    // front but written only as chunks arrive.
    const given = opts.maxOutput;
    const maxOutput = given ?? defaultMaxOutput(header.fileLength);
    const index = parseIndex(
      decodeIndexSection(indexBytes.slice(), file, given ?? defaultMaxOutput(input.consumed), opts.maxGenericBytes),
      {
        fileLength: header.fileLength,
        maxOutput,
        indexGenericBytes: indexGenericBytes(indexBytes),
        ...(opts.maxGenericBytes === undefined ? {} : { maxGenericBytes: opts.maxGenericBytes }),
        dataStart: HEADER_BYTES + header.indexLength,
        ...(file === undefined ? {} : { file }),
      },
    );
    const asm = new Assembler(index, file);
    let claimed = 0;
    for (const step of planSteps(index)) {
      const received = input.consumed + (step.kind === 'chunk' ? step.chunk.encodedLength + 4 : 0);
      if (step.owner < 0) claimed += step.kind === 'chunk' ? step.chunk.count : 0;
      else if (step.kind === 'dedup' || step.index === 0) claimed += index.tensors[step.owner]!.length;
      if (given === undefined && claimed > defaultMaxOutput(received))
        fail(
          'E_LIMIT',
          `.mpz stream claims ${claimed} output bytes by ${asm.where(step)} after ${received} bytes received (at most ${defaultMaxOutput(received)}: 256 per byte received + 64 MiB); pass maxOutput to allow more`,
          file,
        );
      if (step.kind === 'dedup') asm.apply(step);
      else asm.apply(step, await input.take(step.chunk.encodedLength + 4, asm.where(step)));
    }
    checkTrailer(await input.take(TRAILER_BYTES, 'the trailer'), headerBytes, file);
    await input.expectEnd();
    ok = true;
    return asm.finish();
  } finally {
    if (!ok) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}
