/**
 * Helpers for the package tests: run a command with npm's own environment
 * stripped (a test started by `npm test` inherits npm_config_* variables that
 * would point a nested `npm i` back at this repository), pack the repository
 * as `npm pack` does, and install a tarball into an empty folder from the npm
 * cache.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const REPO = resolve(import.meta.dirname, '../..');

export interface RunResult {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

/** The environment for child npm/node processes: no npm_* variables, no colour. */
export function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k) && !k.startsWith('VITEST')) env[k] = v;
  env.NO_COLOR = '1';
  return env;
}

export function run(cmd: string, args: readonly string[], cwd: string, timeoutMs = 120_000): RunResult {
  const r = spawnSync(cmd, args, { cwd, env: cleanEnv(), encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw r.error;
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

export function mustRun(cmd: string, args: readonly string[], cwd: string, timeoutMs?: number): string {
  const r = run(cmd, args, cwd, timeoutMs);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} (in ${cwd}) exited ${r.code}\n${r.out}\n${r.err}`);
  return r.out;
}

export interface PackedTarball {
  readonly path: string;
  /** Size of the .tgz in bytes. */
  readonly size: number;
  readonly unpackedSize: number;
  readonly files: readonly string[];
}

/** `npm pack` of this repository (its prepack script builds dist/) into a new temp folder. */
export function packRepo(): PackedTarball {
  const dest = mkdtempSync(join(tmpdir(), 'mp-tarball-'));
  const out = mustRun('npm', ['pack', '--json', '--pack-destination', dest], REPO);
  const info = JSON.parse(out.slice(out.indexOf('['))) as {
    filename: string;
    size: number;
    unpackedSize: number;
    files: { path: string }[];
  }[];
  const t = info[0]!;
  return { path: join(dest, t.filename), size: t.size, unpackedSize: t.unpackedSize, files: t.files.map((f) => f.path) };
}

/**
 * A new empty project (package.json + .npmrc that skips onnxruntime-node's
 * CUDA download) with `specs` installed. Offline from the npm cache first;
 * when the cache lacks some package metadata (ENOTCACHED, e.g. on a machine
 * that only ran `npm ci`), again with --prefer-offline, which fetches only what
 * the cache lacks.
 */
export function installInEmptyFolder(specs: readonly string[], extra: readonly string[] = []): { dir: string; mode: string } {
  const dir = mkdtempSync(join(tmpdir(), 'mp-install-'));
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify({ name: 'mp-user', private: true, type: 'module' }, null, 2)}\n`);
  writeFileSync(join(dir, '.npmrc'), 'onnxruntime-node-install=skip\n');
  const base = ['install', '--no-audit', '--no-fund', '--no-package-lock', ...extra, ...specs];
  const offline = run('npm', [...base, '--offline'], dir, 180_000);
  if (offline.code === 0) return { dir, mode: 'offline' };
  if (!/ENOTCACHED/.test(offline.err)) throw new Error(`npm install --offline failed in ${dir}\n${offline.err}`);
  mustRun('npm', [...base, '--prefer-offline'], dir, 180_000);
  return { dir, mode: 'prefer-offline' };
}
