// A HEIC/HEIF decoder thread: libheif compiled to WebAssembly (libheif-js), so no system library
// and no native build. Each thread loads the module once and then decodes one file at a time; the
// pixels go back to the caller as a transferred buffer (no copy). libheif applies the HEIF
// transforms (irot rotation, imir mirror, clap crop) while decoding; the Exif orientation a HEIC
// may also carry is ignored, as the HEIF standard says it must be.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { parentPort } from 'node:worker_threads';
import type { DecodeRequest, DecodeReply } from './messages.js';

const require = createRequire(import.meta.url);
const entry = require.resolve('libheif-js/libheif-wasm/libheif.js');
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Lib = any;
const factory = require(entry) as (options: { wasmBinary: Buffer }) => Promise<Lib>;
const lib: Lib = await factory({ wasmBinary: readFileSync(join(dirname(entry), 'libheif.wasm')) });

const fourcc = (text: string): number => (text.charCodeAt(0) << 24) | (text.charCodeAt(1) << 16) | (text.charCodeAt(2) << 8) | text.charCodeAt(3);
const PROFILE_ICC = new Set([fourcc('prof'), fourcc('rICC')]);
const PROFILE_NCLX = fourcc('nclx');

function decode(request: DecodeRequest): { reply: DecodeReply; transfer: ArrayBuffer[] } {
  const context = lib.heif_context_alloc();
  let handle: Lib;
  let image: Lib;
  try {
    const read = lib.heif_context_read_from_memory(context, request.bytes);
    if (read.code !== lib.heif_error_code.heif_error_Ok) return failed(`not a readable HEIF file (${String(read.message)})`);
    handle = lib.heif_js_context_get_primary_image_handle(context);
    if (!handle || handle.code) return failed(`no primary image (${String(handle?.message ?? '')})`);
    // Upright size: libheif reports it with irot applied.
    const width: number = lib.heif_image_handle_get_width(handle);
    const height: number = lib.heif_image_handle_get_height(handle);
    if (width * height > request.maxPixels) {
      return { reply: { id: request.id, tooLarge: { width, height } }, transfer: [] };
    }
    const alpha = lib.heif_image_handle_has_alpha_channel(handle) !== 0;
    const profile = colourProfile(handle.$$.ptr as number);
    image = lib.heif_js_decode_image2(
      handle,
      lib.heif_colorspace.heif_colorspace_RGB,
      alpha ? lib.heif_chroma.heif_chroma_interleaved_RGBA : lib.heif_chroma.heif_chroma_interleaved_RGB,
    );
    if (!image || image.code || !image.channels?.length) return failed(`the image data could not be decoded (${String(image?.message ?? 'no pixels')})`);
    const channels = alpha ? 4 : 3;
    const plane = image.channels[0] as { width: number; height: number; stride: number; data: Uint8Array };
    const row = plane.width * channels;
    const pixels = new Uint8Array(row * plane.height);
    if (plane.stride === row) pixels.set(plane.data.subarray(0, pixels.length));
    else for (let y = 0; y < plane.height; y++) pixels.set(plane.data.subarray(y * plane.stride, y * plane.stride + row), y * row);
    return {
      reply: { id: request.id, width: plane.width, height: plane.height, channels, pixels, ...profile },
      transfer: [pixels.buffer as ArrayBuffer],
    };
  } catch (error) {
    return failed((error as Error).message ?? String(error));
  } finally {
    if (image?.image) lib.heif_image_release(image.image);
    if (handle && !handle.code) lib.heif_image_handle_release(handle);
    lib.heif_context_free(context);
  }

  function failed(message: string): { reply: DecodeReply; transfer: ArrayBuffer[] } {
    return { reply: { id: request.id, error: message }, transfer: [] };
  }
}

/** The embedded ICC profile, or the nclx colour primaries (H.273) when the file says it that way. */
function colourProfile(handle: number): { icc?: Uint8Array; primaries?: number } {
  const type = lib._heif_image_handle_get_color_profile_type(handle) >>> 0;
  if (PROFILE_ICC.has(type)) {
    const size = lib._heif_image_handle_get_raw_color_profile_size(handle) as number;
    if (size <= 0) return {};
    const out = lib._malloc(size);
    const error = lib._malloc(16);
    try {
      // heif_error is returned by value: in WebAssembly that is a pointer passed first.
      lib._heif_image_handle_get_raw_color_profile(error, handle, out);
      return { icc: new Uint8Array(lib.HEAPU8.subarray(out, out + size)) };
    } finally {
      lib._free(out);
      lib._free(error);
    }
  }
  if (type === PROFILE_NCLX) {
    const slot = lib._malloc(4);
    const error = lib._malloc(16);
    try {
      lib._heif_image_handle_get_nclx_color_profile(error, handle, slot);
      const nclx = lib.HEAPU32[slot >> 2] as number;
      if (!nclx) return {};
      // struct heif_color_profile_nclx: uint8 version, then the enum color_primaries at offset 4.
      const primaries = lib.HEAP32[(nclx + 4) >> 2] as number;
      lib._heif_nclx_color_profile_free(nclx);
      return { primaries };
    } finally {
      lib._free(slot);
      lib._free(error);
    }
  }
  return {};
}

parentPort!.on('message', (request: DecodeRequest) => {
  const { reply, transfer } = decode(request);
  parentPort!.postMessage(reply, transfer);
});
parentPort!.postMessage({ ready: true });
