// Decoded HEIC pixels handed to sharp as an uncompressed TIFF: the one container sharp reads that
// carries an ICC profile without sharp converting anything on the way in, so the profile the
// phone embedded (Display P3 on iPhones) is applied by the same sharp pipeline as for every other
// photo. Hand-written because it is a dozen tags; no compression, so building it costs one copy.

const TYPE = { short: 3, long: 4, undefined: 7 } as const;

interface Tag { id: number; type: number; count: number; value: number | Buffer }

/** A baseline little-endian TIFF of 8-bit interleaved RGB or RGBA pixels, with `icc` attached. */
export function rgbTiff(pixels: Uint8Array, width: number, height: number, channels: 3 | 4, icc?: Uint8Array): Buffer {
  const bits = Buffer.alloc(channels * 2);
  for (let i = 0; i < channels; i++) bits.writeUInt16LE(8, i * 2);
  const tags: Tag[] = [
    { id: 256, type: TYPE.long, count: 1, value: width },
    { id: 257, type: TYPE.long, count: 1, value: height },
    { id: 258, type: TYPE.short, count: channels, value: bits },
    { id: 259, type: TYPE.short, count: 1, value: 1 }, // no compression
    { id: 262, type: TYPE.short, count: 1, value: 2 }, // RGB
    { id: 273, type: TYPE.long, count: 1, value: 0 }, // strip offset, set below
    { id: 277, type: TYPE.short, count: 1, value: channels },
    { id: 278, type: TYPE.long, count: 1, value: height },
    { id: 279, type: TYPE.long, count: 1, value: pixels.length },
    { id: 284, type: TYPE.short, count: 1, value: 1 }, // interleaved
    ...(channels === 4 ? [{ id: 338, type: TYPE.short, count: 1, value: 2 }] : []), // unassociated alpha
    ...(icc && icc.length > 0 ? [{ id: 34675, type: TYPE.undefined, count: icc.length, value: Buffer.from(icc) }] : []),
  ];
  const ifdSize = 2 + tags.length * 12 + 4;
  let extra = 8 + ifdSize;
  const outOfLine: Array<{ at: number; data: Buffer }> = [];
  for (const tag of tags) {
    if (Buffer.isBuffer(tag.value) && tag.value.length > 4) {
      outOfLine.push({ at: extra, data: tag.value });
      extra += tag.value.length + (tag.value.length % 2);
    }
  }
  const header = Buffer.alloc(extra);
  header.write('II', 0, 'latin1');
  header.writeUInt16LE(42, 2);
  header.writeUInt32LE(8, 4);
  header.writeUInt16LE(tags.length, 8);
  let blob = 0;
  tags.forEach((tag, i) => {
    const at = 10 + i * 12;
    header.writeUInt16LE(tag.id, at);
    header.writeUInt16LE(tag.type, at + 2);
    header.writeUInt32LE(tag.count, at + 4);
    if (tag.id === 273) header.writeUInt32LE(extra, at + 8);
    else if (Buffer.isBuffer(tag.value)) {
      if (tag.value.length > 4) header.writeUInt32LE(outOfLine[blob++]!.at, at + 8);
      else tag.value.copy(header, at + 8);
    } else if (tag.type === TYPE.short) header.writeUInt16LE(tag.value, at + 8);
    else header.writeUInt32LE(tag.value, at + 8);
  });
  for (const { at, data } of outOfLine) data.copy(header, at);
  return Buffer.concat([header, pixels], extra + pixels.length);
}
