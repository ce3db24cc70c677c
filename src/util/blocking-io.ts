import { statfsSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

/**
 * File systems (Linux statfs magic numbers) where a call may wait on a server or another process:
 * NFS, SMB/CIFS, FUSE (sshfs, s3fs, …), 9p, Ceph, Lustre, AFS, Coda, NCP. Files there are never
 * read or written blocking: a call that never returns (a dead hard mount) would hold the main
 * thread, signals included.
 */
const REMOTE_FILE_SYSTEMS = new Set([
  0x6969, 0x517b, 0xff534d42, 0xfe534d42, 0x65735546, 0x01021997, 0x00c36400, 0x0bd00bd0, 0x5346414f, 0x6b414653, 0x73757245, 0x564c,
]);

/** Whether a statfs type names a network or user-space file system (see REMOTE_FILE_SYSTEMS). */
export function isRemoteFileSystem(type: number): boolean {
  return REMOTE_FILE_SYSTEMS.has(type);
}

/**
 * Whether a run's file operations may still block the main thread. Synchronous file system calls
 * cost a few µs of CPU where each thread-pool round trip of an asynchronous one costs ~25 µs, which
 * over a photo's read and its avatar's write is ~1 % of sharp's own work on a 2 MP photo. That
 * holds while blocking costs the run nothing: local, cached files (~0.1–1 ms an operation, a few %
 * of the main thread's time). Once blocking takes more than `maxShare` of the main thread's time
 * over a window (network storage, a cold disk, or simply more photos a second than a file system
 * round trip allows), it is off for the rest of the run: operations wait in the thread pool,
 * several at once, while the main thread goes on with the rows. A share over a window, not the
 * time of one operation: on a busy machine any operation may be preempted for a few ms. Files on
 * a network file system are never blocked for (forFolder).
 */
export class BlockingIo {
  readonly #maxShare: number;
  readonly #windowMs: number;
  #windowStart = performance.now();
  #blocked = 0;
  #allowed = true;

  constructor(maxShare = 0.25, windowMs = 1000) {
    this.#maxShare = maxShare;
    this.#windowMs = windowMs;
  }

  /** For files under `folder`: never blocking on a network or user-space file system. */
  static forFolder(folder: string): BlockingIo {
    const io = new BlockingIo();
    try {
      if (isRemoteFileSystem(statfsSync(folder).type)) io.#allowed = false;
    } catch {
      // Not there yet, or no statfs here: the share of time spent blocked decides.
    }
    return io;
  }

  /** Still cheap enough to block for. */
  get allowed(): boolean {
    return this.#allowed;
  }

  /** Runs `operation` (synchronous file system calls), timing it. */
  run<T>(operation: () => T): T {
    const started = performance.now();
    try {
      return operation();
    } finally {
      const ended = performance.now();
      this.#blocked += ended - started;
      const elapsed = ended - this.#windowStart;
      if (elapsed >= this.#windowMs) {
        if (this.#blocked > this.#maxShare * elapsed) this.#allowed = false;
        this.#windowStart = ended;
        this.#blocked = 0;
      }
    }
  }
}
