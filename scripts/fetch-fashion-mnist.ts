/**
 * Downloads Fashion-MNIST's four gzipped IDX files when the Debian package
 * `dataset-fashion-mnist` cannot be installed (scripts/setup.sh calls this).
 * Each file is checked before it is kept: its gzip stream must inflate to the
 * exact length and SHA-256 below (the IDX content, which is the same in the
 * upstream files and in Debian's recompressed copies), then it is renamed into
 * place, so a failed or damaged download leaves nothing behind. Mirrors are
 * tried in order; MODELPRESS_FASHION_MNIST_MIRROR (base URLs, comma-separated) replaces them.
 *
 *   npx tsx scripts/fetch-fashion-mnist.ts [--dest <folder>]
 *
 * Default folder: the one modelpress searches after /usr/share/datasets/fashion-mnist,
 * $XDG_CACHE_HOME/modelpress/fashion-mnist (~/.cache/modelpress/fashion-mnist).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { userDatasetDir } from '../src/node/datasets.js';

export interface IdxFile {
  /** File name on the mirror and on disk (gzipped). */
  readonly name: string;
  /** Length of the inflated content in bytes. */
  readonly bytes: number;
  /** SHA-256 of the inflated content, hex. */
  readonly sha256: string;
}

export const FASHION_MNIST_FILES: readonly IdxFile[] = [
  {
    name: 'train-images-idx3-ubyte.gz',
    bytes: 47_040_016,
    sha256: 'c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888',
  },
  { name: 'train-labels-idx1-ubyte.gz', bytes: 60_008, sha256: 'bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9' },
  {
    name: 't10k-images-idx3-ubyte.gz',
    bytes: 7_840_016,
    sha256: '5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b',
  },
  { name: 't10k-labels-idx1-ubyte.gz', bytes: 10_008, sha256: '0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34' },
];

/** Upstream's own download locations (README of zalandoresearch/fashion-mnist). */
export const FASHION_MNIST_MIRRORS: readonly string[] = [
  'http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/',
  'https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/',
];

/** Why `gz` is not `file` (undefined when it is). */
export function checkIdxGzip(gz: Uint8Array, file: IdxFile): string | undefined {
  let raw: Uint8Array;
  try {
    raw = gunzipSync(gz, { maxOutputLength: file.bytes + 1 });
  } catch (e) {
    return `not a gzip stream of ${file.bytes} bytes (${(e as Error).message})`;
  }
  if (raw.length !== file.bytes) return `inflates to ${raw.length} bytes, expected ${file.bytes}`;
  const sha = createHash('sha256').update(raw).digest('hex');
  return sha === file.sha256 ? undefined : `content SHA-256 ${sha}, expected ${file.sha256}`;
}

export interface FetchReport {
  readonly dest: string;
  /** Per file: 'present' (already there and valid) or the URL it came from. */
  readonly files: Record<string, string>;
}

/**
 * Makes `dest` hold every file of `files`, valid: keeps the ones already
 * there and right, downloads the others from the first mirror that serves a
 * valid copy. Throws, naming every mirror's failure, when one file cannot be had.
 */
export async function fetchIdxFiles(
  dest: string,
  files: readonly IdxFile[] = FASHION_MNIST_FILES,
  mirrors: readonly string[] = defaultMirrors(),
  log: (line: string) => void = () => {},
): Promise<FetchReport> {
  mkdirSync(dest, { recursive: true });
  const report: Record<string, string> = {};
  for (const file of files) {
    const target = join(dest, file.name);
    if (existsSync(target) && checkIdxGzip(readFileSync(target), file) === undefined) {
      report[file.name] = 'present';
      continue;
    }
    const failures: string[] = [];
    for (const base of mirrors) {
      const url = new URL(file.name, base.endsWith('/') ? base : `${base}/`).href;
      let body: Uint8Array;
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(300_000) });
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        body = new Uint8Array(await res.arrayBuffer());
      } catch (e) {
        failures.push(`${url}: ${(e as Error).message}`);
        continue;
      }
      const bad = checkIdxGzip(body, file);
      if (bad !== undefined) {
        failures.push(`${url}: ${bad}`);
        continue;
      }
      const tmp = `${target}.${process.pid}.part`;
      try {
        writeFileSync(tmp, body);
        renameSync(tmp, target);
      } finally {
        rmSync(tmp, { force: true });
      }
      log(`${file.name}: ${body.length} bytes from ${url}, content SHA-256 checked`);
      report[file.name] = url;
      break;
    }
    if (report[file.name] === undefined) throw new Error(`could not download ${file.name}:\n  ${failures.join('\n  ')}`);
  }
  return { dest, files: report };
}

function defaultMirrors(): string[] {
  const own = process.env.MODELPRESS_FASHION_MNIST_MIRROR;
  return own ? own.split(',').filter(Boolean) : [...FASHION_MNIST_MIRRORS];
}

async function main(argv: readonly string[]): Promise<number> {
  const at = argv.indexOf('--dest');
  const dest = resolve(at >= 0 && argv[at + 1] ? argv[at + 1]! : userDatasetDir('fashion-mnist'));
  try {
    const r = await fetchIdxFiles(dest, FASHION_MNIST_FILES, defaultMirrors(), (l) => console.error(l));
    console.error(`Fashion-MNIST ready in ${r.dest}`);
    return 0;
  } catch (e) {
    console.error(`fetch-fashion-mnist: ${(e as Error).message}`);
    return 1;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.exitCode = await main(process.argv.slice(2));
}
