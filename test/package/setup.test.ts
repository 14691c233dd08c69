/**
 * The README's first command on a machine without the Debian package: with
 * apt-get out of reach, scripts/setup.sh downloads Fashion-MNIST from a mirror
 * (here a local HTTP server), keeps a file only when its content matches the
 * SHA-256, and modelpress then finds the files in the user folder. A mirror
 * serving a damaged file leaves nothing behind and the script says what to do.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkIdxGzip, FASHION_MNIST_FILES, fetchIdxFiles, type IdxFile } from '../../scripts/fetch-fashion-mnist.js';
import { cleanEnv, REPO } from './helpers.js';

const SYSTEM = '/usr/share/datasets/fashion-mnist';
const haveSystemCopy = FASHION_MNIST_FILES.every((f) => existsSync(join(SYSTEM, f.name)));

let server: Server;
let base: string;
/** What the mirror serves by file name; a name not here is a 404. */
const served = new Map<string, Uint8Array>();

beforeAll(async () => {
  server = createServer((req, res) => {
    const body = served.get((req.url ?? '').replace(/^\/fmnist\//, ''));
    if (body === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-length': body.length }).end(body);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const addr = server.address();
  base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/fmnist/`;
});
const temps: string[] = [];
function temp(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  temps.push(d);
  return d;
}
afterAll(async () => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
  await new Promise<void>((ok) => server.close(() => ok()));
});

function setup(env: Record<string, string>): Promise<{ code: number; err: string }> {
  return new Promise((ok) => {
    const p = spawn('bash', ['scripts/setup.sh'], { cwd: REPO, env: { ...cleanEnv(), ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    p.on('close', (code) => ok({ code: code ?? -1, err }));
  });
}

describe('fetchIdxFiles', () => {
  const small: IdxFile[] = [];
  const payload = new Uint8Array(5000).map((_, i) => (i * 7) & 0xff);

  it('keeps a download only when its inflated content has the expected length and SHA-256', async () => {
    const { createHash } = await import('node:crypto');
    small.push({ name: 'a.gz', bytes: payload.length, sha256: createHash('sha256').update(payload).digest('hex') });
    served.set('a.gz', gzipSync(payload));
    const dest = temp('mp-fetch-');
    const r = await fetchIdxFiles(dest, small, [`${base}missing/`, base]);
    expect(r.files['a.gz']).toBe(`${base}a.gz`);
    expect(checkIdxGzip(readFileSync(join(dest, 'a.gz')), small[0]!)).toBeUndefined();
    // already there and valid: not fetched again
    served.delete('a.gz');
    expect((await fetchIdxFiles(dest, small, [base])).files['a.gz']).toBe('present');
  });

  it('refuses a damaged or wrong file from every mirror and leaves no file behind', async () => {
    const flipped = payload.slice();
    flipped[100]! ^= 1;
    served.set('a.gz', gzipSync(flipped));
    served.set('b.gz', new Uint8Array([0x1f, 0x8b, 8, 0, 1, 2, 3]));
    const dest = temp('mp-fetch-');
    await expect(fetchIdxFiles(dest, small, [base])).rejects.toThrow(/a\.gz.*content SHA-256 [0-9a-f]{64}, expected/s);
    await expect(fetchIdxFiles(dest, [{ ...small[0]!, name: 'b.gz' }], [base])).rejects.toThrow(/b\.gz.*not a gzip stream/s);
    expect(readdirSync(dest)).toEqual([]);
  });
});

describe.skipIf(!haveSystemCopy)('scripts/setup.sh without apt-get', () => {
  it('downloads Fashion-MNIST with checked checksums into the user folder, where modelpress finds it', async () => {
    for (const f of FASHION_MNIST_FILES) served.set(f.name, readFileSync(join(SYSTEM, f.name)));
    const cache = temp('mp-xdg-');
    const emptySystem = temp('mp-sys-');
    const env = { XDG_CACHE_HOME: cache, MODELPRESS_SETUP_SYSTEM_DIR: emptySystem, MODELPRESS_SETUP_APT: '0' };
    const r = await setup({ ...env, MODELPRESS_FASHION_MNIST_MIRROR: base });
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/Fashion-MNIST ready in/);
    const dir = join(cache, 'modelpress', 'fashion-mnist');
    expect(readdirSync(dir).sort()).toEqual(FASHION_MNIST_FILES.map((f) => f.name).sort());
    // a second run finds them
    expect((await setup(env)).err).toMatch(/found in .*modelpress\/fashion-mnist/);
    // the loader searches that folder after the system one, and the files load
    const { loadFashionMnist, userDatasetDir } = await import('../../src/node/datasets.js');
    const saved = process.env.XDG_CACHE_HOME;
    process.env.XDG_CACHE_HOME = cache;
    try {
      expect(userDatasetDir('fashion-mnist')).toBe(dir);
    } finally {
      if (saved === undefined) delete process.env.XDG_CACHE_HOME;
      else process.env.XDG_CACHE_HOME = saved;
    }
    const ds = loadFashionMnist({ split: 'test', dataDir: dir });
    expect(ds.count).toBe(10_000);
  });

  it('with no apt-get and no valid mirror: exit 1, the exact ways to get the data, nothing left in the user folder', async () => {
    served.clear();
    served.set('train-images-idx3-ubyte.gz', gzipSync(new Uint8Array(100)));
    const cache = temp('mp-xdg-');
    const emptySystem = temp('mp-sys-');
    mkdirSync(join(cache, 'modelpress'), { recursive: true });
    const r = await setup({
      XDG_CACHE_HOME: cache,
      MODELPRESS_SETUP_SYSTEM_DIR: emptySystem,
      MODELPRESS_SETUP_APT: '0',
      MODELPRESS_FASHION_MNIST_MIRROR: base,
    });
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/inflates to 100 bytes, expected 47040016/);
    expect(r.err).toMatch(/apt-get install dataset-fashion-mnist/);
    expect(r.err).toMatch(/--data-dir/);
    const dir = join(cache, 'modelpress', 'fashion-mnist');
    expect(existsSync(dir) ? readdirSync(dir) : []).toEqual([]);
  });
});
