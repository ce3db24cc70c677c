// Reading a located photo file, checking again what may have changed since it was located: on
// the main thread while that is quick, in the thread pool once it is not (util/blocking-io.ts).

import { closeSync, constants, fstatSync, openSync, readSync, realpathSync } from 'node:fs';
import { open, realpath, type FileHandle } from 'node:fs/promises';
import { RowError } from '../errors.js';
import { BlockingIo } from '../util/blocking-io.js';
import type { ReadBuffers } from '../util/read-buffers.js';
import { fileError } from './paths.js';

// O_NOFOLLOW: the path was a real path when located; a link put in its place since then is
// refused, not followed. O_NONBLOCK: opening a FIFO must not wait for a writer forever.
const FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/** Per run (keyed by the run's options object). */
const runs = new WeakMap<object, BlockingIo>();

/** The BlockingIo of the run `options` belongs to, for files under its images folder. */
export function blockingIoOf(options: { readonly imagesDir: string }): BlockingIo {
  let io = runs.get(options);
  if (!io) runs.set(options, (io = BlockingIo.forFolder(options.imagesDir)));
  return io;
}

export interface FileToRead {
  /** The real path located for it. */
  readonly path: string;
  /** The cell as written, for messages. */
  readonly display: string;
}

/**
 * The file's bytes, never more than `max` (the file may have grown since it was located), into a
 * buffer from `buffers` when given. Throws RowError for the row, or the abort reason.
 */
export async function readLocatedFile(
  file: FileToRead,
  max: number,
  io: BlockingIo,
  signal?: AbortSignal,
  buffers?: ReadBuffers,
): Promise<Buffer> {
  if (!io.allowed) return readLater(file, max, signal, buffers);
  return io.run(() => readNow(file, max, signal, buffers));
}

function readNow(file: FileToRead, max: number, signal: AbortSignal | undefined, buffers: ReadBuffers | undefined): Buffer {
  signal?.throwIfAborted();
  let real: string;
  try {
    // .native: the same libuv realpath (and errors) as the asynchronous one.
    real = realpathSync.native(file.path);
  } catch (error) {
    throw fileError(error, file.display);
  }
  if (real !== file.path) throw changed(file.display, real);
  let fd: number;
  try {
    fd = openSync(file.path, FLAGS);
  } catch (error) {
    throw fileError(error, file.display);
  }
  try {
    const info = fstatSync(fd);
    checkOpened(file.display, info, max);
    const into = new Filling(info.size, max, file.display, buffers);
    for (;;) {
      const bytesRead = readSync(fd, into.buffer, into.total, into.room(), null);
      if (bytesRead === 0) return into.done();
      into.advance(bytesRead);
    }
  } catch (error) {
    throw readFailure(error, file.display, signal);
  } finally {
    closeSync(fd);
  }
}

async function readLater(file: FileToRead, max: number, signal: AbortSignal | undefined, buffers: ReadBuffers | undefined): Promise<Buffer> {
  signal?.throwIfAborted();
  let real: string;
  try {
    real = await realpath(file.path);
  } catch (error) {
    throw fileError(error, file.display);
  }
  if (real !== file.path) throw changed(file.display, real);
  let handle: FileHandle;
  try {
    handle = await open(file.path, FLAGS);
  } catch (error) {
    throw fileError(error, file.display);
  }
  try {
    const info = await handle.stat();
    checkOpened(file.display, info, max);
    const into = new Filling(info.size, max, file.display, buffers);
    for (;;) {
      signal?.throwIfAborted();
      const { bytesRead } = await handle.read(into.buffer, into.total, into.room(), null);
      if (bytesRead === 0) return into.done();
      into.advance(bytesRead);
    }
  } catch (error) {
    throw readFailure(error, file.display, signal);
  } finally {
    await handle.close();
  }
}

/** What a read that failed once the file was open throws: the row's own error or the abort as
 * they are, anything else as the file error it is. */
function readFailure(error: unknown, display: string, signal: AbortSignal | undefined): unknown {
  return error instanceof RowError || signal?.aborted ? error : fileError(error, display);
}

// locate() may have answered from its folder cache: the path is resolved again right before
// reading, so a folder swapped for a link since then cannot lead outside the images folder. Equal
// means no component is a link now; O_NOFOLLOW covers the last one until the open.
function changed(display: string, real: string): RowError {
  return new RowError('file_unreadable', `${display} changed during the run (it now leads to ${real}); not read`);
}

function checkOpened(display: string, info: { size: number; isFile(): boolean; isDirectory(): boolean; isFIFO(): boolean; isSocket(): boolean }, max: number): void {
  if (!info.isFile()) throw notAFile(display, info);
  if (info.size > max) throw tooLarge(display, info.size, max);
}

/**
 * The buffer a file is read into: room for one byte more than the stat's size, so an unchanged
 * file is one read and the read that says it ended; grown when the file grew, never past max + 1.
 */
class Filling {
  buffer: Buffer;
  total = 0;
  readonly #max: number;
  readonly #display: string;
  readonly #buffers: ReadBuffers | undefined;

  constructor(size: number, max: number, display: string, buffers: ReadBuffers | undefined) {
    this.#max = max;
    this.#display = display;
    this.#buffers = buffers;
    this.buffer = this.#take(Math.min(size, max) + 1);
  }

  /** How much the next read may bring. */
  room(): number {
    if (this.total === this.buffer.length) {
      // Grown since the stat (and still within max, or advance() would have refused it).
      const bigger = this.#take(Math.min(this.#max + 1, this.total * 2));
      this.buffer.copy(bigger, 0, 0, this.total);
      this.#buffers?.give(this.buffer);
      this.buffer = bigger;
    }
    return Math.min(this.buffer.length, this.#max + 1) - this.total;
  }

  advance(bytesRead: number): void {
    this.total += bytesRead;
    if (this.total > this.#max) {
      this.#buffers?.give(this.buffer);
      throw tooLarge(this.#display, this.total, this.#max);
    }
  }

  done(): Buffer {
    return this.buffer.subarray(0, this.total);
  }

  #take(size: number): Buffer {
    return this.#buffers ? this.#buffers.take(size) : Buffer.allocUnsafe(size);
  }
}

export function notAFile(display: string, info: { isDirectory(): boolean; isFIFO(): boolean; isSocket(): boolean }): RowError {
  const what = info.isDirectory() ? 'a folder' : info.isFIFO() ? 'a named pipe' : info.isSocket() ? 'a socket' : 'not a regular file';
  return new RowError('file_unreadable', `${display} is ${what}, not an image file`);
}

export function tooLarge(display: string, size: number, max: number): RowError {
  return new RowError('image_too_large', `${display} is ${size} bytes, more than --max-source-bytes (${max} bytes)`);
}
