/**
 * Inputs are opened as regular files only (issue 12 rows 6, 9, 15): ONNX
 * external data and TF.js shards that are symbolic links (file or directory
 * links inside the model's folder) are refused unless --follow-symlinks,
 * FIFOs are refused without blocking, and external data over 2 GiB is read by
 * ranges (a sparse file, so no disk space is used).
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
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create, toBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema } from 'onnx-buf';
import { afterAll, describe, expect, it } from 'vitest';
import { ModelpressError } from '../../src/core/errors.js';
import { makeTensor } from '../../src/core/tensor.js';
import { writeTfjs } from '../../src/formats/tfjs/index.js';
import { loadModel } from '../../src/node/load.js';
import { readInputFile } from '../../src/node/open.js';
import { cli } from '../cli/cli.js';

const root = mkdtempSync(join(tmpdir(), 'mp-inputs-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let n = 0;
function freshDir(): string {
  const d = join(root, `m${n++}`);
  mkdirSync(d);
  return d;
}

function hasMkfifo(): boolean {
  try {
    execFileSync('mkfifo', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const MKFIFO = hasMkfifo();

/** An ONNX model with one float32 [4] initializer stored at `offset` of external file `location`. */
function externalOnnx(location: string, offset = 0): Uint8Array {
  return toBinary(
    ModelProtoSchema,
    create(ModelProtoSchema, {
      irVersion: 8n,
      opsetImport: [{ domain: '', version: 13n }],
      graph: {
        name: 'ext',
        initializer: [
          {
            name: 'W',
            dataType: 1,
            dims: [4n],
            dataLocation: 1,
            externalData: [
              { key: 'location', value: location },
              { key: 'offset', value: String(offset) },
              { key: 'length', value: '16' },
            ],
          },
        ],
      },
    }),
  );
}

const SECRET = 'root:x:0:0:root:/root:/bin/bash\n'; // stands in for /etc/passwd (32 bytes >= the 16 needed)

function errorOf(f: () => unknown): ModelpressError {
  try {
    f();
  } catch (e) {
    if (e instanceof ModelpressError) return e;
    throw e;
  }
  throw new Error('expected a ModelpressError');
}

/** A TF.js model JSON + one shard in `dir`; returns the JSON path and the shard's file name. */
function tfjsModel(dir: string): { json: string; shard: string } {
  const res = writeTfjs({ format: 'graph-model', modelTopology: { node: [] } }, [
    { name: 'w', tensor: makeTensor('float32', [4], new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer)) },
  ]);
  const json = join(dir, 'model.json');
  writeFileSync(json, res.json);
  for (const s of res.shards) writeFileSync(join(dir, s.path), s.bytes);
  return { json, shard: res.shards[0]!.path };
}

describe('symbolic links below the model folder', () => {
  it('external data that is a link to a file outside: refused (E_IO naming the link), accepted with --follow-symlinks', async () => {
    const dir = freshDir();
    const secret = join(root, `secret-${n}.txt`);
    writeFileSync(secret, SECRET);
    symlinkSync(secret, join(dir, 'w.data'));
    const model = join(dir, 'm.onnx');
    writeFileSync(model, externalOnnx('w.data'));

    const e = errorOf(() => loadModel(model));
    expect(e.code).toBe('E_IO');
    expect(e.message).toMatch(/symbolic link; pass --follow-symlinks/);
    expect(e.file).toBe(join(dir, 'w.data'));

    const out = join(dir, 'out.safetensors');
    const refused = await cli('convert', model, '-o', out);
    expect(refused.code).not.toBe(0);
    expect(refused.err).toMatch(/E_IO/);
    expect(refused.err).toMatch(/symbolic link/);
    expect(existsSync(out)).toBe(false);
    const packed = await cli('pack', model, '-o', join(dir, 'm.mpz'));
    expect(packed.err).toMatch(/symbolic link/);
    expect(existsSync(join(dir, 'm.mpz'))).toBe(false);

    const ok = await cli('convert', model, '-o', out, '--follow-symlinks');
    expect(ok.code).toBe(0);
    expect(Buffer.from(readFileSync(out)).includes(Buffer.from(SECRET.slice(0, 16)))).toBe(true);
    expect((await cli('pack', model, '-o', join(dir, 'm.mpz'), '--follow-symlinks')).code).toBe(0);
  });

  it('external data under a symlinked directory inside the model folder: refused', async () => {
    const dir = freshDir();
    const outside = join(root, `outside-${n}`);
    mkdirSync(outside);
    writeFileSync(join(outside, 'w.data'), SECRET);
    symlinkSync(outside, join(dir, 'sub'));
    const model = join(dir, 'm.onnx');
    writeFileSync(model, externalOnnx('sub/w.data'));

    const e = errorOf(() => loadModel(model));
    expect(e.code).toBe('E_IO');
    expect(e.message).toMatch(/is inside .*sub, which is a symbolic link/);
    const r = await cli('inspect', model);
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/symbolic link/);
    expect(loadModel(model, { followSymlinks: true }).tensors).toHaveLength(1);
  });

  it('a TF.js shard that is a link: refused by inspect, convert and pack; accepted with --follow-symlinks', async () => {
    const dir = freshDir();
    const { json, shard } = tfjsModel(dir);
    const real = join(root, `shard-${n}.bin`);
    renameSync(join(dir, shard), real);
    symlinkSync(real, join(dir, shard));
    for (const argv of [
      ['inspect', json],
      ['convert', json, '-o', join(dir, 'o.safetensors')],
      ['pack', json, '-o', join(dir, 'o.mpz')],
    ]) {
      const r = await cli(...argv);
      expect(r.code, argv.join(' ')).not.toBe(0);
      expect(r.err).toMatch(/symbolic link; pass --follow-symlinks/);
    }
    expect((await cli('inspect', json, '--follow-symlinks')).code).toBe(0);
  });

  it('a model file named through a link is read (only files the model names are checked)', () => {
    const dir = freshDir();
    writeFileSync(join(dir, 'w.data'), SECRET);
    writeFileSync(join(dir, 'm.onnx'), externalOnnx('w.data'));
    symlinkSync(join(dir, 'm.onnx'), join(dir, 'link.onnx'));
    expect(loadModel(join(dir, 'link.onnx')).tensors).toHaveLength(1);
  });
});

describe.skipIf(!MKFIFO)('FIFOs (skipped when mkfifo is absent)', () => {
  it('a FIFO as external data: E_IO at once from inspect, convert and pack, even with --follow-symlinks', async () => {
    const dir = freshDir();
    execFileSync('mkfifo', [join(dir, 'w.data')]);
    const model = join(dir, 'm.onnx');
    writeFileSync(model, externalOnnx('w.data'));
    for (const argv of [
      ['inspect', model],
      ['convert', model, '-o', join(dir, 'o.safetensors')],
      ['pack', model, '-o', join(dir, 'o.mpz')],
    ]) {
      const r = await cli(...argv, '--follow-symlinks');
      expect(r.code, argv.join(' ')).not.toBe(0);
      expect(r.err).toMatch(/E_IO/);
      expect(r.err).toMatch(/is a FIFO, not a regular file/);
    }
  }, 10_000);

  it('a FIFO as a TF.js shard or as the model file: E_IO at once', async () => {
    const dir = freshDir();
    const { json, shard } = tfjsModel(dir);
    rmSync(join(dir, shard));
    execFileSync('mkfifo', [join(dir, shard)]);
    execFileSync('mkfifo', [join(dir, 'fifo.onnx')]);
    for (const argv of [
      ['inspect', json],
      ['pack', json, '-o', join(dir, 'o.mpz')],
      ['inspect', join(dir, 'fifo.onnx')],
    ]) {
      const r = await cli(...argv);
      expect(r.code, argv.join(' ')).not.toBe(0);
      expect(r.err).toMatch(/is a FIFO, not a regular file/);
    }
    expect(errorOf(() => readInputFile(join(dir, shard))).code).toBe('E_IO');
  }, 10_000);
});

describe('external data over 2 GiB', () => {
  it('a 16-byte tensor in a 2.6 GB sparse file: inspect works, reading only the tensor bytes', async () => {
    const dir = freshDir();
    const big = join(dir, 'big.data');
    const size = 2.6e9;
    const offset = 2_500_000_000;
    const fd = openSync(big, 'w');
    try {
      ftruncateSync(fd, size);
      writeSync(fd, new Uint8Array(new Float32Array([1.5, -2, 3.25, 4]).buffer), 0, 16, offset);
    } finally {
      closeSync(fd);
    }
    const model = join(dir, 'm.onnx');
    writeFileSync(model, externalOnnx('big.data', offset));

    const before = process.memoryUsage().rss;
    const loaded = loadModel(model);
    expect(process.memoryUsage().rss - before).toBeLessThan(200 * 2 ** 20); // a whole-file read would be 2.6 GB
    expect(loaded.sizeBytes).toBe(size + readFileSync(model).byteLength);
    expect(loaded.files).toEqual([model, big]);
    expect([...new Float32Array(loaded.tensors[0]!.tensor.data.slice().buffer)]).toEqual([1.5, -2, 3.25, 4]);

    const r = await cli('inspect', model, '--json');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('"W"');
  });
});
