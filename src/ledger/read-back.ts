import { readSync } from 'node:fs';

const NEWLINE = 0x0a;
/** Most lines fit; a longer one is read again with a bigger buffer. */
const MIN_WINDOW = 2048;
const MAX_WINDOW = 256 * 1024;

/**
 * Lines read back by their offset, synchronously: a lookup reads a short line from the page cache,
 * and a promise per read (a thread-pool hop each) cost more than the read itself in a nightly run
 * of 100 000 skips.
 *
 * A nightly run asks for the lines of its rows in about the order they were written (the CSV's
 * order), so the bytes read for one line usually hold the next ones: the window read grows while
 * lookups keep landing in it (one pread of 256 KiB instead of some 400 of 2 KiB) and shrinks back
 * when they jump about. What it returns is always a whole line: the ledger is append-only, so a
 * line that ends inside the window reads the same as it would from the file today.
 */
export class ReadBack {
  readonly #fd: number;
  readonly #buffer = Buffer.allocUnsafe(MAX_WINDOW);
  /** The window's bytes: #buffer up to what the last read returned. */
  #window = this.#buffer.subarray(0, 0);
  /** The file offset of #window[0]. */
  #start = 0;
  #size = MIN_WINDOW;
  #hits = 0;

  constructor(fd: number) {
    this.#fd = fd;
  }

  /** The line starting at `offset`, without its newline; undefined when no whole line is there. */
  lineAt(offset: number): string | undefined {
    const at = offset - this.#start;
    if (at >= 0 && at < this.#window.length) {
      const end = this.#window.indexOf(NEWLINE, at);
      if (end >= 0) {
        this.#hits++;
        return this.#window.toString('utf8', at, end);
      }
    }
    // Lookups that found their line in the window read ahead were walking forward: a bigger one.
    // None did: they jump about, and a small read per line is cheapest.
    this.#size = this.#hits > 0 ? Math.min(this.#size * 4, MAX_WINDOW) : MIN_WINDOW;
    this.#hits = 0;
    const bytesRead = readSync(this.#fd, this.#buffer, 0, this.#size, offset);
    this.#start = offset;
    this.#window = this.#buffer.subarray(0, bytesRead);
    const end = this.#window.indexOf(NEWLINE);
    if (end >= 0) return this.#window.toString('utf8', 0, end);
    if (bytesRead < this.#size) return undefined; // no complete line there any more
    return this.#longLine(offset);
  }

  /** A line longer than the window: read with a buffer of its own, growing until it holds it. */
  #longLine(offset: number): string | undefined {
    for (let length = this.#size * 4; ; length *= 4) {
      const buffer = Buffer.allocUnsafe(length);
      const bytesRead = readSync(this.#fd, buffer, 0, length, offset);
      const end = buffer.subarray(0, bytesRead).indexOf(NEWLINE);
      if (end >= 0) return buffer.toString('utf8', 0, end);
      if (bytesRead < length) return undefined;
    }
  }
}
