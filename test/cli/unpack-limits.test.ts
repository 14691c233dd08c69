/** `unpack` / `eval` on hostile .mpz files (issue 12, rows 1-2) and `--max-output`. */
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packModel } from '../../src/codec/container/index.js';
import { makeSafetensors } from '../codec/container-helpers.js';
import { huffmanBomb, indexBomb } from '../../support/mpz-bombs.js';
import { cli } from './cli.js';

/** Runs the CLI (its time and peak RSS are held to 2 s and 300 MB by test/hostile/corpus.test.ts, which measures the child). */
async function bounded(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  return cli(...argv);
}

describe('.mpz decoder limits through the CLI', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mp-limits-'));

  it('row 1: unpack and eval refuse a one-symbol Huffman codebook claiming 2^32 elements with E_LIMIT, naming the file', async () => {
    const bomb = join(dir, 'huffman.mpz');
    writeFileSync(bomb, huffmanBomb(22, 2 ** 32));
    const out = join(dir, 'huffman.bin');
    const u = await bounded('unpack', bomb, '-o', out);
    expect(u.code).toBe(1);
    expect(u.err).toContain('[E_LIMIT]');
    expect(u.err).toContain(bomb);
    expect(existsSync(out)).toBe(false);
    const e = await bounded('eval', bomb, '--no-latency');
    expect(e.code).toBe(1);
    expect(e.err).toContain('[E_LIMIT]');
    expect(e.err).toContain(bomb);
  });

  it('row 2: unpack refuses an index claiming 256 MiB of generic-coded zeros at once', async () => {
    // a 140 KB body that really decodes that far (the issue's > 60 s case): the default output limit
    const real = join(dir, 'index-real.mpz');
    writeFileSync(real, indexBomb(256 * 1024 * 1024, 140_000));
    const r = await bounded('unpack', real, '-o', join(dir, 'index.bin'));
    expect(r.code).toBe(1);
    expect(r.err).toContain('[E_LIMIT]');
    expect(r.err).toContain(real);
    // a 4 KB body claiming as much: the coder's best ratio, even with --max-output raised
    const tiny = join(dir, 'index-tiny.mpz');
    writeFileSync(tiny, indexBomb(256 * 1024 * 1024, 4096));
    const t = await bounded('unpack', tiny, '-o', join(dir, 'index.bin'), '--max-output', String(2 ** 32 - 1));
    expect(t.code).toBe(1);
    expect(t.err).toContain('[E_LIMIT]');
  });

  it('--max-output below a legitimate file decoded size refuses it; at that size it unpacks', async () => {
    const data = new Uint8Array(4096).map((_, i) => (i * 7) & 0xff);
    const st = makeSafetensors([{ name: 'w', dtype: 'U8', shape: [4096], data }]);
    const mpz = join(dir, 'ok.mpz');
    writeFileSync(mpz, packModel({ format: 'safetensors', files: [{ name: '', bytes: st }] }).bytes);
    const low = await cli('unpack', mpz, '-o', join(dir, 'low.safetensors'), '--max-output', String(st.length - 1));
    expect(low.code).toBe(1);
    expect(low.err).toContain('[E_LIMIT]');
    const ok = await cli('unpack', mpz, '-o', join(dir, 'ok.safetensors'), '--max-output', String(st.length));
    expect(ok.err).toBe('');
    expect(ok.code).toBe(0);
    const bad = await cli('unpack', mpz, '-o', join(dir, 'x.safetensors'), '--max-output', 'lots');
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('--max-output');
  });

  it('--max-cm-bytes sets the context-mixing budget the reader enforces (unpack and eval)', async () => {
    // --smallest codes the skeleton with the context-mixing coder: a few hundred bytes of it
    const st = makeSafetensors([{ name: 'w', dtype: 'U8', shape: [64], data: new Uint8Array(64) }]);
    const mpz = join(dir, 'cm.mpz');
    writeFileSync(mpz, packModel({ format: 'safetensors', files: [{ name: '', bytes: st }] }, { slowCoderMinGain: 0 }).bytes);
    const tight = await cli('unpack', mpz, '-o', join(dir, 'cm1.safetensors'), '--max-cm-bytes', '1');
    expect(tight.code).toBe(1);
    expect(tight.err).toMatch(/\[E_LIMIT\].*over the limit of 1 .*--max-cm-bytes/);
    expect(existsSync(join(dir, 'cm1.safetensors'))).toBe(false);
    const ok = await cli('unpack', mpz, '-o', join(dir, 'cm2.safetensors'));
    expect(ok.code, ok.err).toBe(0);
    const evalTight = await cli('eval', mpz, '--max-cm-bytes', '1');
    expect(evalTight.err).toContain('[E_LIMIT]');
  });
});
