// sharp (and libvips with it) loads on first use, not at start-up: a run with nothing to decode (a
// nightly run of unchanged rows, an empty CSV) never needs it, and loading it costs about 0.1 s of
// CPU. Loaded synchronously through sharp's CommonJS entry, so that a check made while options are
// parsed can use it too; both of sharp's entries load the one native binding (require's cache).
import { createRequire } from 'node:module';
import type Sharp from 'sharp';

let loaded: typeof Sharp | undefined;

export function loadSharp(): typeof Sharp {
  return (loaded ??= createRequire(import.meta.url)('sharp') as typeof Sharp);
}
