// Shared plumbing for the benchmark scripts: run the built CLI as a user would, and measure it.
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { once } from 'node:events';
import sharp from 'sharp';
import { fromPixels, photoPixels } from '../../testkit/images.js';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = join(ROOT, 'dist/cli/bin.js');
const PEAK_RSS = join(ROOT, 'scripts/lib/peak-rss.mjs');

export interface Measured {
  code: number | null;
  seconds: number;
  peakRssMiB: number;
  /** CPU time of the CLI process, all threads. */
  cpuSeconds: number;
  /** CPU time of its main thread (Linux; NaN elsewhere): about its wall time on an idle machine. */
  mainCpuSeconds: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI with the peak-RSS reporter; stdout is kept only when asked (dry runs print a line a row). */
export async function measureCli(args: string[], options: { keepStdout?: boolean } = {}): Promise<Measured> {
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, ['--import', PEAK_RSS, BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let tail = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    if (options.keepStdout) stdout += chunk;
    else tail = (tail + chunk).slice(-4000);
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-20000)));
  const [code] = (await once(child, 'close')) as [number | null];
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const peak = /peak-rss-kib (\d+)/.exec(stderr);
  const cpu = /\ncpu-ms (\d+)/.exec(stderr);
  const mainCpu = /main-thread-cpu-ms (\d+)/.exec(stderr);
  return { code, seconds, peakRssMiB: peak ? Number(peak[1]) / 1024 : NaN, cpuSeconds: cpu ? Number(cpu[1]) / 1000 : NaN, mainCpuSeconds: mainCpu ? Number(mainCpu[1]) / 1000 : NaN, stdout: options.keepStdout ? stdout : tail, stderr };
}

export async function benchDir(name: string): Promise<string> {
  const dir = join(tmpdir(), 'avatar-import-bench', name);
  await mkdir(dir, { recursive: true });
  return dir;
}

/** `count` distinct small photos in dir/photos, named p0.jpg … */
export async function smallPhotos(dir: string, count: number, edge = 200): Promise<void> {
  await mkdir(join(dir, 'photos'), { recursive: true });
  for (let i = 0; i < count; i++) {
    await writeFile(join(dir, 'photos', `p${i}.jpg`), await fromPixels(photoPixels(edge, edge, i + 1), edge, edge).jpeg({ quality: 85 }).toBuffer());
  }
  void sharp;
}

/** A CSV of `rows` people cycling over `photos` photos, written as a stream (never held whole). */
export async function writeCsv(path: string, rows: number, photos: number): Promise<void> {
  const out = createWriteStream(path);
  out.write('user_id,name,photo\n');
  for (let i = 0; i < rows; i++) {
    if (!out.write(`user${i},Person ${i},photos/p${i % photos}.jpg\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

export function summaryLine(stdout: string): string {
  return stdout.split('\n').find((line) => /rows in/.test(line)) ?? '(no summary)';
}
