// Real HEIC files, made the way a test machine can: Debian's heif-enc (libheif-examples, x265)
// encodes a JPEG or PNG. heif-enc has no option for the HEIF transforms an iPhone writes when the
// phone was held sideways (`irot`, `imir`), so `withTransforms` adds them to the file's item
// properties afterwards, exactly where a phone puts them.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Encodes `image` (JPEG or PNG bytes; its ICC profile is kept) as HEIC with heif-enc. */
export async function heifEnc(image: Buffer, quality = 80): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), 'heif-enc-'));
  try {
    const input = join(dir, image[0] === 0x89 ? 'in.png' : 'in.jpg');
    await writeFile(input, image);
    await run('heif-enc', ['-q', String(quality), input, '-o', join(dir, 'out.heic')]);
    return await readFile(join(dir, 'out.heic'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

interface Box { type: string; start: number; size: number; header: number }

function boxes(file: Buffer, from: number, to: number): Box[] {
  const found: Box[] = [];
  for (let at = from; at + 8 <= to;) {
    const size = file.readUInt32BE(at);
    found.push({ type: file.toString('latin1', at + 4, at + 8), start: at, size, header: 8 });
    if (size < 8) break;
    at += size;
  }
  return found;
}

function child(file: Buffer, parent: Box, type: string, skip = 0): Box {
  const found = boxes(file, parent.start + parent.header + skip, parent.start + parent.size).find((box) => box.type === type);
  if (!found) throw new Error(`no ${type} box in ${parent.type}`);
  return found;
}

/**
 * Adds `irot` (rotation, `turns` × 90° anticlockwise) and/or `imir` (mirror; axis 0 vertical:
 * top and bottom swap, 1 horizontal: left and right swap) as essential properties of the primary
 * item, fixing every size and file offset the insertion moves.
 */
export function withTransforms(heic: Buffer, transforms: { turns?: 1 | 2 | 3; mirror?: 0 | 1 }): Buffer {
  const props: Buffer[] = [];
  if (transforms.turns) props.push(Buffer.from([0, 0, 0, 9, ...Buffer.from('irot'), transforms.turns]));
  if (transforms.mirror !== undefined) props.push(Buffer.from([0, 0, 0, 9, ...Buffer.from('imir'), transforms.mirror]));
  const top = boxes(heic, 0, heic.length);
  const meta = top.find((box) => box.type === 'meta')!;
  const pitm = child(heic, meta, 'pitm', 4);
  const primary = heic.readUInt8(pitm.start + 8) === 0 ? heic.readUInt16BE(pitm.start + 12) : heic.readUInt32BE(pitm.start + 12);
  const iloc = child(heic, meta, 'iloc', 4);
  const iprp = child(heic, meta, 'iprp', 4);
  const ipco = child(heic, iprp, 'ipco');
  const ipma = child(heic, iprp, 'ipma');
  const existing = boxes(heic, ipco.start + 8, ipco.start + ipco.size).length;

  // ipma: find the primary item's entry and append the new property indexes to it.
  const version = heic.readUInt8(ipma.start + 8);
  const wide = (heic.readUInt32BE(ipma.start + 8) & 1) === 1;
  let at = ipma.start + 16;
  const entries = heic.readUInt32BE(ipma.start + 12);
  let insertAt = -1;
  let countAt = -1;
  for (let i = 0; i < entries; i++) {
    const item = version < 1 ? heic.readUInt16BE(at) : heic.readUInt32BE(at);
    at += version < 1 ? 2 : 4;
    const count = heic.readUInt8(at);
    if (item === primary) countAt = at;
    at += 1 + count * (wide ? 2 : 1);
    if (item === primary) insertAt = at;
  }
  if (insertAt === -1) throw new Error('the primary item has no property associations');
  const associations = Buffer.concat(props.map((_, i) => {
    const index = existing + 1 + i;
    return wide ? Buffer.from([0x80 | (index >> 8), index & 0xff]) : Buffer.from([0x80 | index]);
  }));
  const propBytes = Buffer.concat(props);
  const added = propBytes.length + associations.length;

  const ipcoEnd = ipco.start + ipco.size;
  const out = Buffer.concat([
    heic.subarray(0, ipcoEnd), propBytes, heic.subarray(ipcoEnd, insertAt), associations, heic.subarray(insertAt),
  ]);
  const grow = (box: Box, by: number, shift = 0): void => {
    out.writeUInt32BE(box.size + by, box.start + shift);
  };
  grow(meta, added);
  grow(iprp, added);
  grow(ipco, propBytes.length);
  grow(ipma, associations.length, propBytes.length);
  out.writeUInt8(heic.readUInt8(countAt) + props.length, countAt + propBytes.length);
  shiftIloc(out, iloc, meta.start + meta.size, added);
  return out;
}

/** Adds `by` to every file offset in iloc that points past `after` (mdat moved by the insertion). */
function shiftIloc(file: Buffer, iloc: Box, after: number, by: number): void {
  const version = file.readUInt8(iloc.start + 8);
  let at = iloc.start + 12;
  const sizes = file.readUInt16BE(at);
  at += 2;
  const offsetSize = sizes >> 12;
  const lengthSize = (sizes >> 8) & 0xf;
  const baseSize = (sizes >> 4) & 0xf;
  const indexSize = version >= 1 ? sizes & 0xf : 0;
  const read = (pos: number, size: number): number => (size === 0 ? 0 : size === 4 ? file.readUInt32BE(pos) : Number(file.readBigUInt64BE(pos)));
  const write = (pos: number, size: number, value: number): void => {
    if (size === 4) file.writeUInt32BE(value, pos);
    else if (size === 8) file.writeBigUInt64BE(BigInt(value), pos);
    else if (size !== 0) throw new Error(`iloc field of ${size} bytes`);
  };
  const items = version < 2 ? file.readUInt16BE(at) : file.readUInt32BE(at);
  at += version < 2 ? 2 : 4;
  for (let i = 0; i < items; i++) {
    at += version < 2 ? 2 : 4;
    let method = 0;
    if (version >= 1) {
      method = file.readUInt16BE(at) & 0xf;
      at += 2;
    }
    at += 2; // data_reference_index
    const baseAt = at;
    const base = read(at, baseSize);
    at += baseSize;
    const extents = file.readUInt16BE(at);
    at += 2;
    const fileOffsets = method === 0;
    if (fileOffsets && baseSize > 0 && base >= after) write(baseAt, baseSize, base + by);
    for (let e = 0; e < extents; e++) {
      at += indexSize;
      const offset = read(at, offsetSize);
      if (fileOffsets && (baseSize === 0 || base === 0) && base + offset >= after) write(at, offsetSize, offset + by);
      at += offsetSize + lengthSize;
    }
  }
}
