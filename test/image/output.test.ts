import { createHash } from 'node:crypto';
import sharp from 'sharp';
import { normalise } from '../../src/image/normalise.js';
import { NORMALISE_DEFAULTS, type NormaliseOptions } from '../../src/image/options.js';
import { COMMENT_MARKER, SKIN, cameraPhoto, colourDistance, jpegMarkers, noisePng, pixelAt, solidImage } from '../../testkit/images.js';

const options = (overrides: Partial<NormaliseOptions> = {}): NormaliseOptions => ({ ...NORMALISE_DEFAULTS, ...overrides });

const APP1_TO_APP15 = Array.from({ length: 15 }, (_, i) => 0xe1 + i);
const COM = 0xfe;
const SOF0 = 0xc0;
const SOF2 = 0xc2;

const traces = ['Exif', 'http://ns.adobe.com/xap', 'ICC_PROFILE', 'Photoshop 3.0', COMMENT_MARKER];

describe('metadata', () => {
  let input: Buffer;
  beforeAll(async () => {
    input = await cameraPhoto({ width: 640, height: 480, orientation: 6 });
  });

  test('the camera photo really carries EXIF with GPS, XMP, ICC, IPTC and a comment', async () => {
    const metadata = await sharp(input).metadata();
    expect(metadata.exif).toBeDefined();
    expect(metadata.xmp).toBeDefined();
    expect(metadata.icc).toBeDefined();
    expect(metadata.iptc).toBeDefined();
    // The GPS IFD pointer (tag 0x8825), in either byte order.
    const gpsPointer = [Buffer.from([0x88, 0x25]), Buffer.from([0x25, 0x88])];
    expect(gpsPointer.some((tag) => metadata.exif!.includes(tag))).toBe(true);
    const markers = jpegMarkers(input);
    expect(markers).toContain(COM);
    expect(traces.filter((trace) => !input.includes(trace))).toEqual([]);
  });

  test('none of it leaves the machine', async () => {
    const { jpeg } = await normalise(input, options());

    const metadata = await sharp(jpeg).metadata();
    expect(metadata.exif).toBeUndefined();
    expect(metadata.xmp).toBeUndefined();
    expect(metadata.icc).toBeUndefined();
    expect(metadata.iptc).toBeUndefined();
    expect(metadata.comments).toBeUndefined();
    expect(metadata.orientation).toBeUndefined();
    expect(traces.filter((trace) => jpeg.includes(trace))).toEqual([]);
    const markers = jpegMarkers(jpeg);
    expect(markers.filter((marker) => APP1_TO_APP15.includes(marker) || marker === COM)).toEqual([]);
  });
});

describe('encoding', () => {
  test('is a baseline JPEG: a SOF0 frame, no progressive SOF2', async () => {
    const { jpeg } = await normalise(await cameraPhoto({ width: 800, height: 600 }), options());
    const markers = jpegMarkers(jpeg);
    expect(markers).toContain(SOF0);
    expect(markers).not.toContain(SOF2);
    expect(jpeg.includes(Buffer.from([0xff, SOF2]))).toBe(false);
    expect((await sharp(jpeg).metadata()).isProgressive).toBe(false);
  });

  test('reports the sha256 of the bytes, the edge and the quality used', async () => {
    const avatar = await normalise(await cameraPhoto({ width: 800, height: 600 }), options());
    expect(avatar.sha256).toBe(createHash('sha256').update(avatar.jpeg).digest('hex'));
    expect(avatar.edge).toBe(512);
    expect(avatar.quality).toBe(85);
  });

  test.each(['jpeg', 'png', 'webp', 'gif', 'tiff', 'avif'] as const)('accepts %s', async (format) => {
    const avatar = await normalise(await solidImage(format, SKIN), options());
    expect((await sharp(avatar.jpeg).metadata()).format).toBe('jpeg');
    expect(colourDistance(await pixelAt(avatar.jpeg, 64, 64), SKIN)).toBeLessThanOrEqual(4);
  });
});

describe('determinism (the ledger recognises outputs by hash)', () => {
  test.each([
    ['a camera photo, centre crop', () => cameraPhoto({ width: 1200, height: 900, orientation: 8 }), options()],
    ['a camera photo, attention crop', () => cameraPhoto({ width: 1200, height: 900 }), options({ crop: 'attention' })],
    ['a photo stepped down to fit --max-bytes', () => noisePng(), options({ maxBytes: 30_000 })],
  ])('%s gives identical bytes every time', async (_name, make, settings) => {
    const input = await make();
    const first = await normalise(input, settings);
    const second = await normalise(Buffer.from(input), settings);
    expect(second.sha256).toBe(first.sha256);
    expect(second.jpeg.equals(first.jpeg)).toBe(true);
  });
});
