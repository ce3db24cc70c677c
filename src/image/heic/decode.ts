// HEIC/HEIF photos (what phones save by default) decoded in worker threads, so several decode at
// once while the main thread keeps reading rows and talking to the target. The bundled libvips has
// no HEVC decoder; libheif-js (WebAssembly) is the decoder that ships inside an npm package. The
// result is an uncompressed TIFF carrying the photo's colour profile, which then goes through the
// same sharp pipeline as every other source (upright, square, sRGB, no metadata).

import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { loadSharp } from '../sharp.js';
import { RowError } from '../../errors.js';
import { workerEntry } from '../../util/worker-entry.js';
import type { DecodeReply, DecodeRequest } from './messages.js';
import { rgbTiff } from './tiff.js';

/** H.273 colour primaries: the nclx descriptions that need a profile to mean what they say. */
const DISPLAY_P3 = 12;

/** The decoded photo as a TIFF for sharp, profile attached. Throws RowError only. */
export async function heicToTiff(bytes: Buffer, maxPixels: number): Promise<Buffer> {
  const reply = await pool().decode(bytes, maxPixels);
  if ('error' in reply) throw new RowError('unsupported_image', `HEIC/HEIF could not be decoded: ${reply.error}`);
  if ('tooLarge' in reply) {
    const { width, height } = reply.tooLarge;
    throw new RowError(
      'image_too_large',
      `${width}×${height} is ${((width * height) / 1e6).toFixed(1)} MP, over --max-pixels ${(maxPixels / 1e6).toFixed(1)} MP (refused without decoding)`,
    );
  }
  const icc = reply.icc ?? (reply.primaries === DISPLAY_P3 ? await displayP3() : undefined);
  return rgbTiff(reply.pixels, reply.width, reply.height, reply.channels, icc);
}

/** Ends the decoder threads (tests; the CLI's threads never keep the process alive anyway). */
export async function closeHeicDecoders(): Promise<void> {
  const current = shared;
  shared = undefined;
  await current?.close();
}

let shared: DecoderPool | undefined;
function pool(): DecoderPool {
  shared ??= new DecoderPool(availableParallelism());
  return shared;
}

let p3: Promise<Uint8Array | undefined> | undefined;
/** libvips' own Display P3 profile, for files that name P3 by nclx numbers instead of an ICC. */
function displayP3(): Promise<Uint8Array | undefined> {
  const sharp = loadSharp();
  p3 ??= sharp({ create: { width: 1, height: 1, channels: 3, background: 'white' } })
    .withIccProfile('p3')
    .png()
    .toBuffer()
    .then(async (png) => (await sharp(png).metadata()).icc);
  return p3;
}


interface Task {
  readonly request: DecodeRequest;
  readonly resolve: (reply: DecodeReply) => void;
  readonly reject: (error: unknown) => void;
}

interface Slot {
  readonly worker: Worker;
  ready: boolean;
  task?: Task;
}

/** Up to `size` threads, started when first needed; an idle thread does not keep the process alive. */
class DecoderPool {
  readonly #size: number;
  readonly #slots: Slot[] = [];
  readonly #queue: Task[] = [];
  #next = 1;

  constructor(size: number) {
    this.#size = Math.max(1, size);
  }

  decode(bytes: Buffer, maxPixels: number): Promise<DecodeReply> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ request: { id: this.#next++, bytes: new Uint8Array(bytes), maxPixels }, resolve, reject });
      this.#dispatch();
    });
  }

  async close(): Promise<void> {
    const slots = this.#slots.splice(0);
    await Promise.all(slots.map((slot) => slot.worker.terminate()));
  }

  #dispatch(): void {
    for (const slot of this.#slots) {
      if (this.#queue.length === 0) return;
      if (slot.ready && !slot.task) this.#run(slot, this.#queue.shift()!);
    }
    if (this.#queue.length > 0 && this.#slots.length < this.#size && this.#slots.every((slot) => slot.ready)) this.#start();
  }

  #run(slot: Slot, task: Task): void {
    slot.task = task;
    slot.worker.ref();
    slot.worker.postMessage(task.request);
  }

  #start(): void {
    const worker = new Worker(workerEntry('worker', import.meta.url));
    const slot: Slot = { worker, ready: false };
    this.#slots.push(slot);
    worker.on('message', (message: DecodeReply | { ready: true }) => {
      if ('ready' in message) {
        slot.ready = true;
      } else {
        const task = slot.task;
        slot.task = undefined;
        task?.resolve(message);
      }
      if (!slot.task) worker.unref();
      this.#dispatch();
    });
    const lost = (error: unknown): void => {
      const index = this.#slots.indexOf(slot);
      if (index !== -1) this.#slots.splice(index, 1);
      const task = slot.task;
      slot.task = undefined;
      // A thread that died takes only its own photo with it (a decoder crash on a hostile file).
      task?.reject(new RowError('unsupported_image', `HEIC/HEIF could not be decoded: the decoder stopped (${error instanceof Error ? error.message : String(error)})`));
      if (!slot.ready) {
        // It never started: nothing else will work either.
        for (const waiting of this.#queue.splice(0)) waiting.reject(error);
        return;
      }
      this.#dispatch();
    };
    worker.on('error', lost);
    worker.on('exit', (code) => {
      if (this.#slots.includes(slot)) lost(new Error(`exit code ${code}`));
    });
  }
}
