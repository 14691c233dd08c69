/**
 * The hostile-input corpus of issue 12: one generator per row of its table
 * (decompression bombs, symlinks, FIFOs, np.savez layouts, deep nesting,
 * huge dims, overwrites, signals, escape sequences, sparse 2 GiB+ data),
 * each case with the CLI command to run and the outcome it must have (the
 * E_* codes and exit statuses accepted, or a check of the correct result).
 * `test/hostile/corpus.test.ts` builds it in a temp dir and runs every case
 * through the CLI under a memory cap.
 *
 *   npx tsx scripts/hostile-corpus.ts <outdir>     # builds it, prints the cases
 *
 * Every file is built here from the repo's own writers (ONNX protobuf,
 * safetensors, TF.js, npy, IDX, the .mpz index writer with its CRCs
 * recomputed), so nothing is downloaded. Paths in `argv` are relative to the
 * corpus directory (run the CLI with it as the working directory); files
 * outside it that a case must not touch (symlink targets) are in `watch`.
 */
import { execFileSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  ftruncateSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { constants, deflateRawSync } from 'node:zlib';
import { fromBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema } from 'onnx-buf';
import { crc32c } from '../src/codec/checksum.js';
import { CODER } from '../src/codec/container/coders.js';
import { MAX_CHUNK_BYTES } from '../src/codec/container/format.js';
import type { TensorEntry } from '../src/codec/container/index-codec.js';
import { packModel } from '../src/codec/container/index.js';
import { makeTensor } from '../src/core/tensor.js';
import { encodeIdx } from '../src/eval/datasets/idx.js';
import { encodeNpy } from '../src/eval/datasets/npy.js';
import { crc32 } from '../src/eval/datasets/zip.js';
import { setExternal } from '../src/formats/onnx/external.js';
import { writeOnnx } from '../src/formats/onnx/write.js';
import { writeSafetensors } from '../src/formats/safetensors.js';
import { buildMpz, huffmanBomb as sharedHuffmanBomb, indexBomb, stream } from '../support/mpz-bombs.js';
import { writeTfjs } from '../src/formats/tfjs/index.js';
import { GraphBuilder, makeModel } from '../src/graph/index.js';

/** What one CLI run printed and left behind, for a case's own check. */
export interface CaseRun {
  readonly exit: number | null;
  readonly out: string;
  readonly err: string;
  /** The corpus directory (the run's working directory). */
  readonly dir: string;
}

export interface HostileCase {
  /** Unique id, `<row><letter>-<what>`. */
  readonly id: string;
  /** The row of issue 12's table (1..15). */
  readonly row: number;
  readonly what: string;
  /** CLI arguments; paths relative to the corpus directory. */
  readonly argv: readonly string[];
  /** Exit statuses accepted. */
  readonly exit: readonly number[];
  /** `[E_*]` codes accepted in stderr; empty when the command must succeed (stderr then holds no error). */
  readonly codes: readonly string[];
  /** Corpus paths the command may create or change (its outputs); everything else must stay as it was. */
  readonly writes?: readonly string[];
  /** Absolute paths outside the corpus (symlink targets) that must stay as they were. */
  readonly watch?: readonly string[];
  /**
   * Send this signal as soon as a `.tmp` file appears in the folder `tempIn`
   * (corpus-relative), or `afterMs` after the start. Before its first write
   * the CLI has no handlers, so the signal's default action may end it.
   */
  readonly signal?:
    | { readonly signal: 'SIGTERM' | 'SIGINT'; readonly tempIn: string }
    | { readonly signal: 'SIGTERM' | 'SIGINT'; readonly afterMs: number };
  /** Checks the result beyond the exit status and code; returns a problem, or undefined when right. */
  readonly verify?: (run: CaseRun) => string | undefined;
}

export interface HostileCorpus {
  readonly dir: string;
  /** A folder outside the corpus that symlinks in it point to (must stay unchanged). */
  readonly outside: string;
  readonly cases: readonly HostileCase[];
  /** Rows with cases left out, and why (a tool missing on this machine). */
  readonly skipped: readonly string[];
}

export interface BuildOptions {
  /** The folder symlinks point out to; default a fresh temp dir. */
  readonly outside?: string;
}

/** Names with control characters that retitle the terminal and clear the screen (row 14). */
export const HOSTILE_NAME = 'w\u001b]0;pwned\u0007\u001b[2J\u009b31m';

const f32 = (values: readonly number[]): Uint8Array => new Uint8Array(Float32Array.from(values).buffer);

/** Control characters (besides newline and tab) in `text`. */
export function controlChars(text: string): number[] {
  return [...text].map((c) => c.charCodeAt(0)).filter((c) => c !== 10 && c !== 9 && (c < 0x20 || (c >= 0x7f && c <= 0x9f)));
}

// ---------------------------------------------------------------- .mpz bombs (rows 1, 2)

const streamOf = stream;

/** Row 1: one tensor of `elements` 4-bit elements coded as a one-symbol Huffman codebook (no data bits, any count). */
const huffmanBomb = (elements: number, chunkCount = 1): Uint8Array => sharedHuffmanBomb(22, elements, chunkCount);

/**
 * Row 2, on the skeleton: `chunks` generic-coded skeleton chunks of 4 MiB
 * each, every one `encodedLength` bytes (mode 1, then zeros), then a raw
 * tensor of `padding` zero bytes that makes the file large enough for the
 * claim to pass the default output limit. The file CRC is wrong, so a reader
 * that decodes it all ends with E_CHECKSUM.
 */
function skeletonBomb(chunks: number, encodedLength: number, padding = 0): Uint8Array {
  const skeletonBytes = chunks * MAX_CHUNK_BYTES;
  const total = skeletonBytes + padding;
  const body = new Uint8Array(encodedLength);
  body[0] = 1; // mode 1: range-coded; the rest are zeros
  const pad: TensorEntry[] =
    padding === 0
      ? []
      : [
          {
            name: 'pad',
            dtypeId: 2,
            shape: [padding],
            offset: skeletonBytes,
            length: padding,
            crc: crc32c(new Uint8Array(padding)),
            encoding: { kind: 'direct', stream: streamOf(CODER.raw, [{ count: padding, encodedLength: padding }]) },
          },
        ];
  return buildMpz(
    {
      format: 'opaque',
      files: [{ name: '', length: total, crc: 0 }],
      totalLength: total,
      skeleton: streamOf(
        CODER.bytes,
        Array.from({ length: chunks }, () => ({ count: MAX_CHUNK_BYTES, encodedLength })),
      ),
      tensors: pad,
    },
    [...Array.from({ length: chunks }, () => body), ...(padding === 0 ? [] : [new Uint8Array(padding)])],
  );
}

// ---------------------------------------------------------------- ONNX models

/** y = x · W with W [2, 2] float32 stored as external data at `offset` of `location`. */
function externalOnnx(location: string, offset = 0): Uint8Array {
  const b = new GraphBuilder();
  b.input('x', 'float32', [1, 2]);
  const w = b.initializer('W', 'float32', [2, 2], new Float32Array(4));
  b.node('MatMul', ['x', w], { outputs: ['y'], name: 'mm' });
  b.output('y', 'float32', [1, 2]);
  setExternal(b.graph.initializer[0]!, location, offset, 16);
  return writeOnnx(makeModel(b.graph, { opset: 13 }));
}

/** An ONNX model whose tensor, node, input, output and graph names carry terminal escape sequences (row 14). */
function hostileNamesOnnx(): Uint8Array {
  const b = new GraphBuilder(undefined, HOSTILE_NAME);
  b.input(`x${HOSTILE_NAME}`, 'float32', [1, 4]);
  const w = b.initializer(
    HOSTILE_NAME,
    'float32',
    [4, 4],
    Float32Array.from({ length: 16 }, (_, i) => i / 8 - 1),
  );
  b.node('MatMul', [`x${HOSTILE_NAME}`, w], { outputs: [`y${HOSTILE_NAME}`], name: `mm${HOSTILE_NAME}` });
  b.output(`y${HOSTILE_NAME}`, 'float32', [1, 4]);
  return writeOnnx(makeModel(b.graph));
}

/** x [N, inputs] float32 -> logits = x · W [inputs, classes] (plus a bias), named 'logits'. */
function linearClassifier(w: Float32Array, inputs: number, classes: number): Uint8Array {
  const b = new GraphBuilder();
  b.input('x', 'float32', ['N', inputs]);
  const wn = b.initializer('w', 'float32', [inputs, classes], w);
  const bn = b.initializer('b', 'float32', [classes], new Float32Array(classes));
  const mm = b.op('MatMul', ['x', wn]);
  b.node('Add', [mm, bn], { outputs: ['logits'] });
  b.output('logits', 'float32', ['N', classes]);
  return writeOnnx(makeModel(b.graph));
}

/** Identity on one float32 input of `shape` (row 10's huge dims). */
function identityOnnx(shape: readonly number[]): Uint8Array {
  const b = new GraphBuilder();
  b.input('x', 'float32', shape);
  b.node('Identity', ['x'], { outputs: ['y'] });
  b.output('y', 'float32', shape);
  return writeOnnx(makeModel(b.graph));
}

/** A small MatMul model with an 8x8 weight (quantize, prune and pack all have work to do). */
function matmulOnnx(): Uint8Array {
  const b = new GraphBuilder();
  b.input('x', 'float32', [1, 8]);
  const w = b.initializer(
    'w',
    'float32',
    [8, 8],
    Float32Array.from({ length: 64 }, (_, i) => Math.sin(i) * 0.5),
  );
  b.node('MatMul', ['x', w], { outputs: ['y'] });
  b.output('y', 'float32', [1, 8]);
  return writeOnnx(makeModel(b.graph));
}

// ---------------------------------------------------------------- archives

/**
 * A zip laid out as `np.savez` writes it: stored members, local headers
 * with sizes 0xffffffff and a zip64 extra field (numpy forces zip64), the
 * central directory with the plain sizes. `deflated` members carry raw
 * deflate data and the `size`/`crc` given (which may lie).
 */
function savezZip(members: readonly { name: string; data: Uint8Array; deflated?: boolean; size?: number; crc?: number }[]): Uint8Array {
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  for (const m of members) {
    const name = new TextEncoder().encode(m.name);
    const size = m.size ?? m.data.length;
    const crc = m.crc ?? crc32(m.data);
    const method = m.deflated ? 8 : 0;
    const zip64 = !m.deflated;
    const local = new Uint8Array(30 + name.length + (zip64 ? 20 : 0));
    const lv = new DataView(local.buffer);
    lv.setUint32(0, 0x04034b50, true);
    lv.setUint16(4, zip64 ? 45 : 20, true);
    lv.setUint16(8, method, true);
    lv.setUint16(12, 0x21, true); // 1980-01-01
    lv.setUint32(14, crc, true);
    lv.setUint32(18, zip64 ? 0xffffffff : m.data.length, true);
    lv.setUint32(22, zip64 ? 0xffffffff : size, true);
    lv.setUint16(26, name.length, true);
    lv.setUint16(28, zip64 ? 20 : 0, true);
    local.set(name, 30);
    if (zip64) {
      lv.setUint16(30 + name.length, 1, true);
      lv.setUint16(32 + name.length, 16, true);
      lv.setBigUint64(34 + name.length, BigInt(size), true);
      lv.setBigUint64(42 + name.length, BigInt(m.data.length), true);
    }
    const cd = new Uint8Array(46 + name.length);
    const cv = new DataView(cd.buffer);
    cv.setUint32(0, 0x02014b50, true);
    cv.setUint16(4, 45, true);
    cv.setUint16(6, zip64 ? 45 : 20, true);
    cv.setUint16(10, method, true);
    cv.setUint16(14, 0x21, true);
    cv.setUint32(16, crc, true);
    cv.setUint32(20, m.data.length, true);
    cv.setUint32(24, size, true);
    cv.setUint16(28, name.length, true);
    cv.setUint32(42, offset, true);
    cd.set(name, 46);
    central.push(cd);
    parts.push(local, m.data);
    offset += local.length + m.data.length;
  }
  const cdSize = central.reduce((n, c) => n + c.length, 0);
  const end = new Uint8Array(22);
  const ev = new DataView(end.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, members.length, true);
  ev.setUint16(10, members.length, true);
  ev.setUint32(12, cdSize, true);
  ev.setUint32(16, offset, true);
  return Buffer.concat([...parts, ...central, end]);
}

/** Raw deflate of `segments` x 16 MiB of zeros, from one sync-flushed segment repeated (~16 KB per 16 MiB). */
function zeroDeflate(segments: number): Uint8Array {
  const segment = deflateRawSync(new Uint8Array(16 << 20), { finishFlush: constants.Z_SYNC_FLUSH });
  const final = deflateRawSync(new Uint8Array(0));
  const out = new Uint8Array(segment.length * segments + final.length);
  for (let i = 0; i < segments; i++) out.set(segment, i * segment.length);
  out.set(final, segment.length * segments);
  return out;
}

/** A gzip file around raw deflate data with the trailer's CRC and ISIZE as given. */
function gzipOf(deflated: Uint8Array, isize: number, crc = 0): Uint8Array {
  const trailer = new Uint8Array(8);
  new DataView(trailer.buffer).setUint32(0, crc, true);
  new DataView(trailer.buffer).setUint32(4, isize >>> 0, true);
  return Buffer.concat([Uint8Array.of(0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3), deflated, trailer]);
}

const gzipTrue = (b: Uint8Array): Uint8Array => gzipOf(deflateRawSync(b), b.length, crc32(b));

/** An .npy whose header text has `from` replaced by `to` (the header padding absorbs the length change). */
function npyWithShape(t: ReturnType<typeof makeTensor>, from: string, to: string): Uint8Array {
  const bytes = encodeNpy(t).slice();
  const headerLength = new DataView(bytes.buffer).getUint16(8, true);
  const text = new TextDecoder('latin1').decode(bytes.subarray(10, 10 + headerLength));
  if (!text.includes(from)) throw new Error(`npy header ${text} has no ${from}`);
  const header = text
    .replace(from, to)
    .replace(/ +\n$/, '')
    .padEnd(headerLength - 1, ' ');
  for (let i = 0; i < header.length; i++) bytes[10 + i] = header.charCodeAt(i);
  bytes[10 + headerLength - 1] = 0x0a;
  return bytes;
}

// ---------------------------------------------------------------- safetensors and TF.js

/** A valid safetensors file of `count` one-byte U8 tensors: its JSON header is about 60 bytes per tensor (row 8). */
function manyTinyTensors(count: number): Uint8Array {
  const entries: string[] = [];
  for (let i = 0; i < count; i++) entries.push(`"t${i}":{"dtype":"U8","shape":[1],"data_offsets":[${i},${i + 1}]}`);
  let json = `{${entries.join(',')}}`;
  json = json.padEnd(Math.ceil(json.length / 8) * 8, ' ');
  const header = Buffer.from(json, 'latin1');
  const out = Buffer.alloc(8 + header.length + count);
  out.writeBigUInt64LE(BigInt(header.length), 0);
  header.copy(out, 8);
  for (let i = 0; i < count; i++) out[8 + header.length + i] = i & 0xff;
  return out;
}

/** Writes a TF.js graph model (model.json + shards) of one float32 [4, 4] weight into `dir` under `name`.json. */
function writeTfjsModel(dir: string, name = 'model', topology: unknown = { node: [] }): { json: string; shards: string[] } {
  const res = writeTfjs({ format: 'graph-model', modelTopology: topology as Record<string, unknown> }, [
    { name: 'w', tensor: makeTensor('float32', [4, 4], f32(Array.from({ length: 16 }, (_, i) => i / 7 - 1))) },
  ]);
  writeFileSync(join(dir, `${name}.json`), res.json);
  for (const s of res.shards) writeFileSync(join(dir, s.path), s.bytes);
  return { json: `${name}.json`, shards: res.shards.map((s) => s.path) };
}

/** A TF.js model JSON whose one weight has `shapeJson` as its shape (raw JSON text, e.g. `[null, 4]`), with a 64-byte shard. */
function tfjsWithShape(dir: string, shapeJson: string): void {
  const json = `{"format":"graph-model","modelTopology":{"node":[]},"weightsManifest":[{"paths":["group1-shard1of1.bin"],"weights":[{"name":"w","shape":${shapeJson},"dtype":"float32"}]}]}`;
  writeFileSync(join(dir, 'model.json'), json);
  writeFileSync(join(dir, 'group1-shard1of1.bin'), new Uint8Array(64));
}

// ---------------------------------------------------------------- the corpus

function mkfifoAvailable(): boolean {
  try {
    execFileSync('mkfifo', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const json = (out: string): Record<string, unknown> | undefined => {
  try {
    return JSON.parse(out) as Record<string, unknown>;
  } catch {
    return undefined;
  }
};

/** Builds the corpus into `dir` (created if missing; must be empty or absent) and returns its cases. */
export function buildHostileCorpus(dirArg: string, opts: BuildOptions = {}): HostileCorpus {
  const dir = resolve(dirArg);
  mkdirSync(dir, { recursive: true });
  const outside = resolve(opts.outside ?? mkdtempSync(join(tmpdir(), 'mp-hostile-outside-')));
  mkdirSync(outside, { recursive: true });
  const at = (...p: string[]): string => join(dir, ...p);
  const folder = (...p: string[]): string => {
    mkdirSync(at(...p), { recursive: true });
    return join(...p);
  };
  const put = (rel: string, bytes: Uint8Array | string): string => {
    mkdirSync(dirname(at(rel)), { recursive: true });
    writeFileSync(at(rel), bytes);
    return rel;
  };
  const cases: HostileCase[] = [];
  const skipped: string[] = [];
  const add = (c: HostileCase): void => {
    cases.push(c);
  };
  const refused = (id: string, row: number, what: string, argv: string[], codes: string[], extra: Partial<HostileCase> = {}): void =>
    add({ id, row, what, argv, exit: codes.includes('E_ARG') ? [2] : [1], codes, ...extra });
  const FIFO = mkfifoAvailable();

  // A classifier whose labels follow from its inputs (argmax x · W), shared by the data rows.
  const W = Float32Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1, 1, -1, 0.5]); // [4, 3]
  const classifier = put('data/classifier.onnx', linearClassifier(W, 4, 3));
  put('data/mnist.onnx', linearClassifier(new Float32Array(784 * 10).fill(0.001), 784, 10));

  // Row 1: .mpz memory bombs.
  put('mpz/huffman-4g.mpz', huffmanBomb(2 ** 32)); // 2^32 int4 elements: 2 GiB of output from ~100 bytes
  put('mpz/huffman-1g-chunked.mpz', huffmanBomb(2 ** 31, 256));
  refused(
    '1a-huffman-unpack',
    1,
    'one-symbol Huffman codebook claiming 2^32 elements: unpack',
    ['unpack', 'mpz/huffman-4g.mpz', '-o', 'mpz/h.bin'],
    ['E_LIMIT'],
  );
  refused('1b-huffman-eval', 1, 'the same through eval', ['eval', 'mpz/huffman-4g.mpz', '--no-latency'], ['E_LIMIT']);
  refused(
    '1c-huffman-chunked',
    1,
    '2^31 int4 elements (1 GiB) of one-symbol Huffman in 256 chunks of 4 MiB (each within the chunk limit)',
    ['unpack', 'mpz/huffman-1g-chunked.mpz', '-o', 'mpz/h1.bin'],
    ['E_LIMIT'],
  );

  // Row 2: .mpz CPU bombs in the generic byte coder.
  put('mpz/index-256m.mpz', indexBomb(256 * 1024 * 1024, 140_000));
  refused(
    '2a-index-bomb',
    2,
    'index generic-coded from 140 KB of zeros claiming 256 MiB',
    ['unpack', 'mpz/index-256m.mpz', '-o', 'mpz/i.bin'],
    ['E_LIMIT'],
  );
  put('mpz/skeleton-256m.mpz', skeletonBomb(64, 3000));
  refused(
    '2b-skeleton-over-limit',
    2,
    'skeleton of 64 generic-coded 4 MiB chunks (256 MiB) from 192 KB',
    ['unpack', 'mpz/skeleton-256m.mpz', '-o', 'mpz/s.bin'],
    ['E_LIMIT'],
  );
  // 24 x 4 MiB = 96 MiB of skeleton, each chunk exactly the 2,090 zero bytes that
  // decode to 4 MiB, plus 120 KB of raw padding so the claim is within the
  // default output limit (256 x file + 64 MiB): every chunk really decodes.
  put('mpz/skeleton-96m.mpz', skeletonBomb(24, 2090, 120_000));
  refused(
    '2c-skeleton-within-limit',
    2,
    'skeleton of 24 generic-coded 4 MiB chunks (96 MiB, within the default limit) from a 170 KB file, file CRC wrong',
    ['unpack', 'mpz/skeleton-96m.mpz', '-o', 'mpz/s96.bin'],
    ['E_CHECKSUM', 'E_LIMIT'],
  );

  // Row 3: unpack into a folder holding .bashrc, .git/config and a symlinked subfolder.
  folder('unpack/victim/.git');
  put('unpack/victim/.bashrc', 'echo mine\n');
  put('unpack/victim/.git/config', '[core]\n\tmine = true\n');
  symlinkSync(outside, at('unpack/victim/sub'));
  const weights = f32([1, 2, 3, 4]);
  for (const [file, location] of [
    ['bashrc', '.bashrc'],
    ['gitconfig', '.git/config'],
    ['sublink', 'sub/w.data'],
  ] as const) {
    const packed = packModel({
      format: 'onnx',
      files: [
        { name: 'm.onnx', bytes: externalOnnx(location) },
        { name: location, bytes: weights },
      ],
    });
    put(`unpack/${file}.mpz`, packed.bytes);
  }
  refused(
    '3a-unpack-bashrc',
    3,
    'unpack of an .mpz naming .bashrc into a folder that has one',
    ['unpack', 'unpack/bashrc.mpz', '-o', 'unpack/victim/m.onnx'],
    ['E_ARG'],
  );
  refused(
    '3b-unpack-gitconfig',
    3,
    'unpack of an .mpz naming .git/config into a folder that has one',
    ['unpack', 'unpack/gitconfig.mpz', '-o', 'unpack/victim/m.onnx'],
    ['E_ARG'],
  );
  refused(
    '3c-unpack-symlinked-dir',
    3,
    'unpack of an .mpz naming sub/w.data where sub links outside, even with --force',
    ['unpack', 'unpack/sublink.mpz', '-o', 'unpack/victim/m.onnx', '--force'],
    ['E_ARG'],
    { watch: [outside] },
  );

  // Row 4: TF.js quantize into its own folder; convert to TF.js next to another model.
  folder('tfjs4');
  const t4 = writeTfjsModel(at('tfjs4'));
  put(
    'tfjs4/small.safetensors',
    writeSafetensors([{ name: 'v', tensor: makeTensor('float32', [4, 4], f32(Array.from({ length: 16 }, (_, i) => i))) }]),
  );
  add({
    id: '4a-tfjs-quantize-same-folder',
    row: 4,
    what: 'quantize D/model.json -o D/model-q.json: shards named after the output, the input untouched',
    argv: ['quantize', `tfjs4/${t4.json}`, '--scheme', 'uint8', '--min-size', '1', '-o', 'tfjs4/model-q.json'],
    exit: [0],
    codes: [],
    writes: ['tfjs4/model-q.json', 'tfjs4/model-q.group1-shard1of1.bin'],
    verify: ({ dir: d }) => {
      const paths = (
        json(readFileSync(join(d, 'tfjs4/model-q.json'), 'utf8'))?.weightsManifest as { paths: string[] }[] | undefined
      )?.flatMap((g) => g.paths);
      return paths?.join() === 'model-q.group1-shard1of1.bin' ? undefined : `output manifest names ${paths}`;
    },
  });
  add({
    id: '4b-convert-next-to-model',
    row: 4,
    what: 'convert to TF.js into a folder holding another model',
    argv: ['convert', 'tfjs4/small.safetensors', '-o', 'tfjs4/other.json'],
    exit: [0],
    codes: [],
    writes: ['tfjs4/other.json', 'tfjs4/other.group1-shard1of1.bin'],
  });
  put('tfjs4b/x.group1-shard1of1.bin', 'someone else\n');
  refused(
    '4c-convert-shard-collision',
    4,
    'convert to TF.js where the shard name is taken by a file that is not its shard',
    ['convert', 'tfjs4/small.safetensors', '-o', 'tfjs4b/x.json'],
    ['E_ARG'],
  );

  // Row 5: plain np.savez (stored members at unaligned offsets) must evaluate correctly.
  const n5 = 64;
  const x5 = Float32Array.from({ length: n5 * 4 }, (_, i) => Math.sin(i * 12.9898) * 2);
  const y5 = new BigInt64Array(n5);
  for (let s = 0; s < n5; s++) {
    let best = 0;
    let bestV = -Infinity;
    for (let c = 0; c < 3; c++) {
      let v = 0;
      for (let k = 0; k < 4; k++) v += x5[s * 4 + k]! * W[k * 3 + c]!;
      if (v > bestV) [best, bestV] = [c, v];
    }
    y5[s] = BigInt(best);
  }
  const odd = encodeNpy(makeTensor('uint8', [3], Uint8Array.of(1, 2, 3))); // odd length: x.npy's data lands at an odd offset
  put(
    'data/savez.npz',
    savezZip([
      { name: 'a.npy', data: odd },
      { name: 'x.npy', data: encodeNpy(makeTensor('float32', [n5, 4], new Uint8Array(x5.buffer))) },
      { name: 'y.npy', data: encodeNpy(makeTensor('int64', [n5], new Uint8Array(y5.buffer))) },
    ]),
  );
  add({
    id: '5a-savez-stored-eval',
    row: 5,
    what: 'eval --data on a plain np.savez archive (stored members, x.npy data at an odd offset): accuracy exactly 1',
    argv: ['eval', classifier, '--data', 'data/savez.npz', '--json', '--no-latency'],
    exit: [0],
    codes: [],
    verify: ({ out }) => {
      const r = json(out) as { accuracy?: number; data?: { samples?: number } } | undefined;
      if (r?.accuracy !== 1) return `accuracy ${r?.accuracy} (labels follow from the data: a misread x gives less)`;
      if (r.data?.samples !== undefined && r.data.samples !== n5) return `${r.data.samples} samples, wrote ${n5}`;
      return undefined;
    },
  });

  add({
    id: '5b-savez-stored-calib',
    row: 5,
    what: 'quantize --scheme static --calib on the same archive: calibrates and writes the model',
    argv: ['quantize', classifier, '--scheme', 'static', '--calib', 'data/savez.npz', '--min-size', '1', '-o', 'data/static.onnx'],
    exit: [0],
    codes: [],
    writes: ['data/static.onnx'],
    verify: ({ dir: d }) =>
      readFileSync(join(d, 'data/static.onnx')).includes('QuantizeLinear') ? undefined : 'no QuantizeLinear in the output',
  });

  // Row 6: symlinked ONNX external data and TF.js shards pointing at /etc/passwd.
  const secret = '/etc/passwd';
  if (existsSync(secret)) {
    folder('links/file');
    symlinkSync(secret, at('links/file/w.data'));
    put('links/file/m.onnx', externalOnnx('w.data'));
    folder('links/dir');
    symlinkSync('/etc', at('links/dir/etc'));
    put('links/dir/m.onnx', externalOnnx('etc/passwd'));
    folder('links/shard');
    tfjsWithShape(at('links/shard'), '[4]');
    rmSync(at('links/shard/group1-shard1of1.bin'));
    symlinkSync(secret, at('links/shard/group1-shard1of1.bin'));
    const watch = [secret];
    refused(
      '6a-extdata-link-convert',
      6,
      'external data linked to /etc/passwd: convert',
      ['convert', 'links/file/m.onnx', '-o', 'links/file/o.safetensors'],
      ['E_IO'],
      {
        watch,
      },
    );
    refused('6b-extdata-link-pack', 6, 'the same: pack', ['pack', 'links/file/m.onnx', '-o', 'links/file/o.mpz'], ['E_IO'], { watch });
    refused(
      '6c-extdata-dirlink',
      6,
      "external data 'etc/passwd' through a directory link to /etc: inspect",
      ['inspect', 'links/dir/m.onnx'],
      ['E_IO'],
      {
        watch,
      },
    );
    refused(
      '6d-shard-link-convert',
      6,
      'TF.js shard linked to /etc/passwd: convert',
      ['convert', 'links/shard/model.json', '-o', 'links/shard/o.safetensors'],
      ['E_IO'],
      { watch },
    );
    refused('6e-shard-link-pack', 6, 'the same: pack', ['pack', 'links/shard/model.json', '-o', 'links/shard/o.mpz'], ['E_IO'], { watch });
  } else skipped.push('row 6: /etc/passwd is missing');

  // Row 7: gzip/zip bombs in the dataset readers.
  const bomb = zeroDeflate(250); // 4,194,304,000 zero bytes from ~4 MB
  put('bombs/lying.npz', savezZip([{ name: 'x.npy', data: bomb, deflated: true, size: 1000, crc: 0 }]));
  put('bombs/huge.npz', savezZip([{ name: 'x.npy', data: bomb, deflated: true, size: 250 * (16 << 20), crc: 0 }]));
  refused(
    '7a-npz-lying-size',
    7,
    'npz member declaring 1000 bytes that inflates to 4 GB: eval --data',
    ['eval', classifier, '--data', 'bombs/lying.npz', '--no-latency'],
    ['E_CORRUPT'],
  );
  refused(
    '7b-npz-huge-size',
    7,
    'npz member truthfully declaring 4 GB',
    ['eval', classifier, '--data', 'bombs/huge.npz', '--no-latency'],
    ['E_CORRUPT'],
  );
  const labels = encodeIdx({ dtype: 'uint8', shape: [2], data: Uint8Array.of(1, 2) });
  put('bombs/idx-gzip/t10k-images-idx3-ubyte.gz', gzipOf(bomb, 4096));
  put('bombs/idx-gzip/t10k-labels-idx1-ubyte.gz', gzipTrue(labels));
  refused(
    '7c-idx-gzip-bomb',
    7,
    'gzipped IDX whose trailer declares 4 KB, inflating to 4 GB',
    ['eval', 'data/mnist.onnx', '--data', 'fashion-mnist:test', '--data-dir', 'bombs/idx-gzip', '--no-latency'],
    ['E_CORRUPT'],
  );
  refused(
    '7e-npz-bomb-calib',
    7,
    'the lying npz as quantize --calib',
    ['quantize', classifier, '--scheme', 'static', '--calib', 'bombs/lying.npz', '-o', 'bombs/q.onnx'],
    ['E_CORRUPT'],
  );
  const images = encodeIdx({ dtype: 'uint8', shape: [2, 28, 28], data: new Uint8Array(2 * 784) });
  new DataView(images.buffer).setUint32(4, 60000, false); // claims 60,000 images, holds 2
  put('bombs/idx-header/t10k-images-idx3-ubyte.gz', gzipTrue(images));
  put('bombs/idx-header/t10k-labels-idx1-ubyte.gz', gzipTrue(labels));
  refused(
    '7d-idx-lying-header',
    7,
    'IDX header claiming 60,000 images over 2 images of data',
    ['eval', 'data/mnist.onnx', '--data', 'fashion-mnist:test', '--data-dir', 'bombs/idx-header', '--no-latency'],
    ['E_TRUNCATED'],
  );

  // Row 8: pack on large skeletons.
  put('st8/header-2mb.safetensors', manyTinyTensors(33_000));
  put('st8/header-95mb.safetensors', manyTinyTensors(1_385_000));
  add({
    id: '8a-pack-2mb-header',
    row: 8,
    what: 'pack of a valid safetensors file with a 2 MB header (33,000 one-byte tensors)',
    argv: ['pack', 'st8/header-2mb.safetensors', '-o', 'st8/header-2mb.mpz'],
    exit: [0],
    codes: [],
    writes: ['st8/header-2mb.mpz'],
  });
  refused(
    '8b-pack-95mb-header',
    8,
    'pack of a valid safetensors file with a 95 MB header (1.385 M one-byte tensors)',
    ['pack', 'st8/header-95mb.safetensors', '-o', 'st8/header-95mb.mpz'],
    ['E_LIMIT'],
  );

  // Row 9: FIFOs as external data and TF.js shard.
  if (FIFO) {
    folder('fifo/onnx');
    execFileSync('mkfifo', [at('fifo/onnx/w.data')]);
    put('fifo/onnx/m.onnx', externalOnnx('w.data'));
    folder('fifo/tfjs');
    tfjsWithShape(at('fifo/tfjs'), '[4]');
    rmSync(at('fifo/tfjs/group1-shard1of1.bin'));
    execFileSync('mkfifo', [at('fifo/tfjs/group1-shard1of1.bin')]);
    refused('9a-fifo-extdata-inspect', 9, 'FIFO as external data: inspect', ['inspect', 'fifo/onnx/m.onnx'], ['E_IO']);
    refused(
      '9b-fifo-extdata-convert',
      9,
      'the same: convert --follow-symlinks',
      ['convert', 'fifo/onnx/m.onnx', '-o', 'fifo/onnx/o.safetensors', '--follow-symlinks'],
      ['E_IO'],
    );
    refused('9c-fifo-extdata-pack', 9, 'the same: pack', ['pack', 'fifo/onnx/m.onnx', '-o', 'fifo/onnx/o.mpz'], ['E_IO']);
    refused('9d-fifo-shard-pack', 9, 'FIFO as TF.js shard: pack', ['pack', 'fifo/tfjs/model.json', '-o', 'fifo/tfjs/o.mpz'], ['E_IO']);
    execFileSync('mkfifo', [at('fifo/model.onnx'), at('fifo/data.npz')]);
    refused('9e-fifo-model', 9, 'FIFO as the model file: inspect', ['inspect', 'fifo/model.onnx'], ['E_IO']);
    refused('9f-fifo-data', 9, 'FIFO as the --data file: eval', ['eval', classifier, '--data', 'fifo/data.npz', '--no-latency'], ['E_IO']);
  } else skipped.push('row 9: mkfifo is missing');

  // Row 10: internal errors on huge dims, NaN shapes and deep nesting.
  put('huge/65536x65536.onnx', identityOnnx([65536, 65536]));
  put('huge/1x1e9.onnx', identityOnnx([1, 1e9]));
  refused(
    '10a-dims-65536x65536',
    10,
    'eval of a model whose input is 65536x65536',
    ['eval', 'huge/65536x65536.onnx', '--no-latency'],
    ['E_LIMIT'],
  );
  refused('10b-dims-1e9', 10, 'eval of a model whose input is 1x1e9', ['eval', 'huge/1x1e9.onnx', '--no-latency'], ['E_LIMIT']);
  folder('nan/tfjs-null');
  tfjsWithShape(at('nan/tfjs-null'), '[null, 4]'); // JSON.stringify writes NaN as null
  folder('nan/tfjs-string');
  tfjsWithShape(at('nan/tfjs-string'), '["NaN", 4]');
  for (const [v, label] of [
    ['null', '[NaN, 4] (JSON.stringify writes NaN as null)'],
    ['string', '["NaN", 4]'],
  ] as const) {
    const json = `nan/tfjs-${v}/model.json`;
    refused(`10c-tfjs-nan-${v}-inspect`, 10, `inspect of a TF.js model whose shape is ${label}`, ['inspect', json], ['E_CORRUPT']);
    refused(`10c-tfjs-nan-${v}-convert`, 10, 'the same: convert', ['convert', json, '-o', `nan/${v}.safetensors`], ['E_CORRUPT']);
    refused(
      `10c-tfjs-nan-${v}-pack-lossless`,
      10,
      'the same: pack --lossless',
      ['pack', json, '--lossless', '-o', `nan/${v}-l.mpz`],
      ['E_UNSUPPORTED'],
    );
    add({
      id: `10c-tfjs-nan-${v}-pack`,
      row: 10,
      what: 'the same: pack stores the bytes whole with the generic coder, as documented, and says why',
      argv: ['pack', json, '-o', `nan/${v}.mpz`],
      exit: [0],
      codes: [],
      writes: [`nan/${v}.mpz`],
      verify: ({ out, err }) => (/bad shape/.test(out + err) ? undefined : 'no note naming the bad shape'),
    });
  }
  put('nan/x.npy', npyWithShape(makeTensor('float32', [2, 4], new Uint8Array(32)), '(2, 4)', '(nan, 4)'));
  refused(
    '10e-npy-shape-nan-eval',
    10,
    'eval --data of an .npy whose shape is (nan, 4)',
    ['eval', classifier, '--data', 'nan/x.npy', '--no-latency'],
    ['E_CORRUPT', 'E_SHAPE', 'E_FORMAT'],
  );
  put('nan/matmul4.onnx', linearClassifier(W, 4, 3));
  refused(
    '10f-npy-shape-nan-calib',
    10,
    'quantize --calib of the same .npy',
    ['quantize', 'nan/matmul4.onnx', '--scheme', 'static', '--calib', 'nan/x.npy', '-o', 'nan/q.onnx'],
    ['E_CORRUPT', 'E_SHAPE', 'E_FORMAT'],
  );
  folder('deep');
  const depth = 20_000;
  put(
    'deep/model.json',
    `{"format":"graph-model","modelTopology":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)},"weightsManifest":[{"paths":["group1-shard1of1.bin"],"weights":[{"name":"w","shape":[4],"dtype":"float32"}]}]}`,
  );
  put('deep/group1-shard1of1.bin', new Uint8Array(16));
  refused(
    '10g-deep-topology-pack',
    10,
    'pack of a TF.js topology nested 20,000 deep',
    ['pack', 'deep/model.json', '-o', 'deep/o.mpz'],
    ['E_LIMIT'],
  );
  refused('10h-deep-topology-inspect', 10, 'the same: inspect', ['inspect', 'deep/model.json'], ['E_LIMIT']);

  // Row 11: SIGTERM/SIGINT during the final write.
  const big = Float32Array.from({ length: 12 << 20 }, (_, i) => (i % 1000) / 1000);
  const bigFile = writeSafetensors([{ name: 'big', tensor: makeTensor('float32', [12 << 20], new Uint8Array(big.buffer)) }]);
  put('sig/big.safetensors', bigFile);
  const old = 'the previous output\n';
  for (const [id, signal, code] of [
    ['11a-sigterm-write', 'SIGTERM', 143],
    ['11b-sigint-write', 'SIGINT', 130],
  ] as const) {
    const out = `sig/out-${signal.toLowerCase()}.safetensors`;
    put(out, old);
    add({
      id,
      row: 11,
      what: `${signal} the moment convert's temp file appears: exit ${code} (or 0 if it had finished), no temp left, the output old or whole new`,
      argv: ['convert', 'sig/big.safetensors', '-o', out],
      exit: [code, 0],
      codes: [],
      writes: [out],
      signal: { signal, tempIn: 'sig' },
      verify: ({ dir: d }) => {
        // The write is synchronous, so the handler runs once it is done or before it starts: old or whole new, never a part.
        const now = readFileSync(join(d, out));
        return now.toString() === old || Buffer.compare(now, Buffer.from(bigFile)) === 0
          ? undefined
          : `the output is neither the old file nor the whole model (${now.length} bytes)`;
      },
    });
  }

  // A job several seconds long whose work is synchronous until its output is written (pack's coding of 16 MiB).
  const mid = Float32Array.from({ length: 4 << 20 }, (_, i) => (i % 1000) / 1000);
  put('sig/mid.safetensors', writeSafetensors([{ name: 'mid', tensor: makeTensor('float32', [4 << 20], new Uint8Array(mid.buffer)) }]));
  for (const [id, signal, code] of [
    ['11c-sigint-during-work', 'SIGINT', 130],
    ['11d-sigterm-during-work', 'SIGTERM', 143],
  ] as const)
    add({
      id,
      row: 11,
      what: `${signal} 1 s into packing 16 MiB of floats (synchronous coding, nothing written yet): the CLI ends at once (exit ${code}), leaving nothing`,
      argv: ['pack', 'sig/mid.safetensors', '-o', `sig/${id}.mpz`],
      exit: [code],
      codes: [],
      signal: { signal, afterMs: 1000 },
    });

  // Row 12: -o equal to the input.
  put('same/m.onnx', matmulOnnx());
  symlinkSync('m.onnx', at('same/alias.onnx'));
  folder('same/sub');
  put('same/m.mpz', packModel({ format: 'onnx', files: [{ name: '', bytes: readFileSync(at('same/m.onnx')) }] }).bytes);
  for (const [id, argv] of [
    ['12a-quantize', ['quantize', 'same/m.onnx', '--scheme', 'int8', '-o', 'same/m.onnx']],
    ['12b-pack', ['pack', 'same/m.onnx', '-o', 'same/m.onnx']],
    ['12c-unpack', ['unpack', 'same/m.mpz', '-o', 'same/m.mpz']],
    ['12d-convert', ['convert', 'same/m.onnx', '-o', 'same/m.onnx']],
    ['12e-prune', ['prune', 'same/m.onnx', '--sparsity', '0.5', '-o', 'same/m.onnx']],
    ['12f-pack-via-link', ['pack', 'same/m.onnx', '-o', 'same/alias.onnx']],
    ['12g-quantize-via-dotdot', ['quantize', 'same/m.onnx', '--scheme', 'int8', '-o', 'same/sub/../m.onnx']],
  ] as const)
    refused(id, 12, `-o equal to the input: ${argv.join(' ')}`, [...argv], ['E_ARG']);

  // Row 13: -o naming a symlink to a directory, or a real directory.
  folder('outdir/real');
  symlinkSync(outside, at('outdir/link'));
  put(
    'outdir/w.safetensors',
    writeSafetensors([{ name: 'w', tensor: makeTensor('float32', [4, 4], f32(Array.from({ length: 16 }, (_, i) => i))) }]),
  );
  for (const [target, label] of [
    ['outdir/link', 'a symlink to a directory outside'],
    ['outdir/real', 'a real directory'],
  ] as const)
    for (const [cmd, argv] of [
      ['quantize', ['quantize', 'outdir/w.safetensors', '--scheme', 'int8', '-o', target]],
      ['pack', ['pack', 'outdir/w.safetensors', '-o', target]],
      ['convert', ['convert', 'outdir/w.safetensors', '--to', 'safetensors', '-o', target]],
    ] as const)
      refused(`13${target.endsWith('link') ? 'a' : 'b'}-${cmd}`, 13, `-o naming ${label}: ${cmd}`, [...argv], ['E_ARG'], {
        watch: [outside],
        verify: ({ err }) => (err.includes('EISDIR') ? 'raw EISDIR' : undefined),
      });

  refused('13c-unpack-dir', 13, '-o naming a real directory: unpack', ['unpack', 'same/m.mpz', '-o', 'outdir/real'], ['E_ARG'], {
    verify: ({ err }) => (err.includes('EISDIR') ? 'raw EISDIR' : undefined),
  });

  // Row 14: names with terminal escape sequences.
  put('names/h.onnx', hostileNamesOnnx());
  put(
    'names/h.safetensors',
    writeSafetensors([{ name: HOSTILE_NAME, tensor: makeTensor('float32', [4, 4], f32(Array.from({ length: 16 }, (_, i) => i))) }]),
  );
  const escaped = ({ out, err }: CaseRun): string | undefined => {
    const raw = controlChars(out + err);
    if (raw.length > 0) return `raw control characters ${raw.map((c) => `0x${c.toString(16)}`).join(' ')} on the terminal`;
    if (!(out + err).includes('\\x1b')) return 'the escaped name is not shown';
    return undefined;
  };
  for (const [id, argv] of [
    ['14a-inspect-onnx', ['inspect', 'names/h.onnx']],
    ['14b-inspect-safetensors', ['inspect', 'names/h.safetensors']],
  ] as const)
    add({
      id,
      row: 14,
      what: `names with escape sequences printed escaped: ${argv.join(' ')}`,
      argv: [...argv],
      exit: [0],
      codes: [],
      verify: escaped,
    });
  add({
    id: '14c-inspect-json',
    row: 14,
    what: 'the same with --json: JSON escapes on stdout, the exact names inside',
    argv: ['inspect', 'names/h.onnx', '--json'],
    exit: [0],
    codes: [],
    verify: ({ out, err }) => {
      if (controlChars(out + err).length > 0) return 'raw control characters on stdout';
      const names = (json(out)?.tensors as { name: string }[] | undefined)?.map((t) => t.name);
      return names?.includes(HOSTILE_NAME) ? undefined : `tensor names ${JSON.stringify(names)} lack the exact hostile name`;
    },
  });
  add({
    id: '14d-error-names-file',
    row: 14,
    what: 'an error naming a file whose name has escape sequences',
    argv: ['inspect', `names/x${HOSTILE_NAME}.onnx`],
    exit: [1],
    codes: ['E_NOT_FOUND'],
    verify: escaped,
  });

  // Row 15: external data over 2 GiB, as a sparse file.
  const size = 2.6e9;
  const offset = 2_500_000_000;
  const values = [1.5, -2, 3.25, 4];
  folder('sparse');
  const fd = openSync(at('sparse/big.data'), 'w');
  try {
    ftruncateSync(fd, size);
    writeSync(fd, f32(values), 0, 16, offset);
  } finally {
    closeSync(fd);
  }
  put('sparse/m.onnx', externalOnnx('big.data', offset));
  add({
    id: '15a-sparse-inspect',
    row: 15,
    what: 'inspect of a 16-byte tensor at 2.5 GB in a 2.6 GB sparse data file',
    argv: ['inspect', 'sparse/m.onnx', '--json'],
    exit: [0],
    codes: [],
    verify: ({ out }) => {
      const r = json(out) as { tensors?: { name: string; shape?: number[] }[] } | undefined;
      return r?.tensors?.some((t) => t.name === 'W') ? undefined : 'tensor W missing from the report';
    },
  });
  add({
    id: '15b-sparse-convert',
    row: 15,
    what: 'convert of the same model to safetensors: the tensor holds the four values',
    argv: ['convert', 'sparse/m.onnx', '--to', 'safetensors', '-o', 'sparse/out.safetensors'],
    exit: [0],
    codes: [],
    writes: ['sparse/out.safetensors'],
    verify: ({ dir: d }) => {
      const bytes = readFileSync(join(d, 'sparse/out.safetensors'));
      const n = Number(bytes.readBigUInt64LE(0));
      const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8')) as Record<string, { data_offsets: [number, number] }>;
      const w = header.W;
      if (!w) return 'no tensor W in the output';
      const data = bytes.subarray(8 + n + w.data_offsets[0], 8 + n + w.data_offsets[1]);
      const got = [...new Float32Array(new Uint8Array(data).buffer)];
      return got.join() === values.join() ? undefined : `W = [${got}], wrote [${values}]`;
    },
  });
  add({
    id: '15c-sparse-quantize',
    row: 15,
    what: 'quantize of the same model (int8): reads the tensor by range',
    argv: ['quantize', 'sparse/m.onnx', '--scheme', 'int8', '--min-size', '1', '-o', 'sparse/q.onnx'],
    exit: [0],
    codes: [],
    writes: ['sparse/q.onnx'],
    verify: ({ dir: d }) => {
      const init = fromBinary(ModelProtoSchema, readFileSync(join(d, 'sparse/q.onnx'))).graph?.initializer ?? [];
      const byName = new Map(init.map((t) => [t.name, t.rawData]));
      const q = byName.get('W_q');
      const scale = byName.get('W_s');
      const zero = byName.get('W_zp');
      if (!q || !scale || !zero) return `no W_q/W_s/W_zp among ${init.map((t) => t.name)}`;
      const s = new DataView(scale.buffer, scale.byteOffset).getFloat32(0, true);
      const z = new Int8Array(zero.buffer, zero.byteOffset, 1)[0]!;
      const got = [...new Int8Array(q.buffer, q.byteOffset, q.length)].map((v) => (v - z) * s);
      return got.every((v, i) => Math.abs(v - values[i]!) <= s) ? undefined : `dequantized W = [${got}], wrote [${values}]`;
    },
  });

  refused(
    '15d-sparse-pack',
    15,
    'pack of the same model: the .mpz holds every file whole, so a 2.6 GB data file is refused up front',
    ['pack', 'sparse/m.onnx', '-o', 'sparse/m.mpz'],
    ['E_IO'],
  );

  return { dir, outside, cases, skipped };
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href;
if (invokedDirectly) {
  const out = process.argv[2];
  if (!out) {
    process.stderr.write('usage: npx tsx scripts/hostile-corpus.ts <outdir>\n');
    process.exit(2);
  }
  const t0 = performance.now();
  const corpus = buildHostileCorpus(out);
  process.stdout.write(
    `${JSON.stringify(
      {
        dir: corpus.dir,
        outside: corpus.outside,
        skipped: corpus.skipped,
        cases: corpus.cases.map(({ verify, ...c }) => ({ ...c, verifies: verify !== undefined })),
      },
      null,
      2,
    )}\n`,
  );
  process.stderr.write(`${corpus.cases.length} cases in ${corpus.dir}, built in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
}
