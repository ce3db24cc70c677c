// Regenerates fixtures/ deterministically: `npm run fixtures`. The photos are small on purpose
// (the repo stays light) but real-looking: camera EXIF (rotation, GPS), wide-gamut and CMYK
// colour, transparency, animation, 16-bit.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { heifEnc, withTransforms } from '../testkit/heic.js';
import {
  animated, cameraPhoto, halfTransparentPng, png16, photoPixels, fromPixels, pngPixelBomb, svg, truncatedJpeg,
} from '../testkit/images.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');
const photos = join(root, 'photos');

async function main(): Promise<void> {
  await rm(photos, { recursive: true, force: true });
  await mkdir(photos, { recursive: true });
  const put = (name: string, bytes: Buffer | Promise<Buffer>) => Promise.resolve(bytes).then((b) => writeFile(join(photos, name), b));
  const photo = (seed: number, width: number, height: number) => fromPixels(photoPixels(width, height, seed), width, height);

  await put('ana-ortiz.jpg', cameraPhoto({ width: 640, height: 480, seed: 1, orientation: 6, quality: 80 }));
  await put('ben-okafor.png', halfTransparentPng({ width: 480, height: 360 }));
  await put('chloe-martin-p3.jpg', photo(3, 600, 600).withIccProfile('p3').jpeg({ quality: 80 }).toBuffer());
  await put('dev-patel-cmyk.jpg', photo(4, 520, 640).withIccProfile('cmyk').jpeg({ quality: 80 }).toBuffer());
  await put('eli-animated.gif', animated('gif', { size: 160 }));
  await put('fatima-zahra.webp', photo(6, 480, 640).webp({ quality: 80 }).toBuffer());
  await put('gus-adobe-rgb-16bit.png', png16('adobe-rgb', [205, 150, 125], 200));
  await put('hana-kim.tif', photo(8, 300, 300).tiff({ compression: 'lzw' }).toBuffer());
  await put('placeholder.jpg', photo(9, 256, 256).jpeg({ quality: 80 }).toBuffer());
  // Only the edge-case CSV points at these.
  await put('corrupt.jpg', Buffer.from('this file claims to be a JPEG but is plain text\n'));
  await put('truncated.jpg', truncatedJpeg());
  await put('tiny.jpg', photo(10, 48, 48).jpeg().toBuffer());
  await put('logo.svg', svg({ size: 256 }));
  // A real iPhone-style HEIC (heif-enc), taken sideways: decoded, turned upright (irot).
  await put('phone.heic', withTransforms(await heifEnc(await cameraPhoto({ width: 480, height: 360, seed: 12, orientation: 6, quality: 85 })), { turns: 3 }));
  await put('bomb.png', pngPixelBomb());
  await writeFile(join(root, 'outside.jpg'), await photo(11, 200, 200).jpeg().toBuffer());

  await writeFile(
    join(root, 'people.csv'),
    [
      'user_id,name,email,photo',
      'ana.ortiz,"Ortiz, Ana",Ana.Ortiz@corp.example,photos/ana-ortiz.jpg',
      'ben.okafor,Ben Okafor,ben.okafor@corp.example,photos/ben-okafor.png',
      'chloe.martin,Chloé Martin,chloe.martin@corp.example,photos/chloe-martin-p3.jpg',
      'dev.patel,Dev Patel,dev.patel@corp.example,photos/dev-patel-cmyk.jpg',
      'eli.cohen,Eli Cohen,eli.cohen@corp.example,photos/eli-animated.gif',
      'fatima.zahra,Fatima Zahra,fatima.zahra@corp.example,photos/fatima-zahra.webp',
      'gus.berg,Gus Berg,gus.berg@corp.example,photos/gus-adobe-rgb-16bit.png',
      'hana.kim,Hana Kim,hana.kim@corp.example,photos/hana-kim.tif',
      'ivan.petrov,Ivan Petrov,ivan.petrov@corp.example,photos/placeholder.jpg',
      'jo.smith,Jo Smith,jo.smith@corp.example,photos/placeholder.jpg',
    ].join('\n') + '\n',
  );
  await writeFile(
    join(root, 'edge-cases.csv'),
    [
      'user_id;name;photo',
      'kim.lee;Kim Lee;photos/ana-ortiz.jpg',
      'no.file;Missing Photo;photos/does-not-exist.jpg',
      'corrupt;Not An Image;photos/corrupt.jpg',
      'truncated;Cut Short;photos/truncated.jpg',
      'tiny;Too Small;photos/tiny.jpg',
      'vector;An SVG;photos/logo.svg',
      'iphone;HEIC Photo;photos/phone.heic',
      'bomb;Pixel Bomb;photos/bomb.png',
      'escape;Path Escape;../outside.jpg',
      'no.photo;Empty Cell;',
      'kim.lee;Same User Again;photos/ben-okafor.png',
      'remote;Not Allowed URL;https://photos.example.org/remote.jpg',
      'too.many;Too Many Fields;photos/ana-ortiz.jpg;extra',
      'quoted;"Ortiz; Ana ""the boss""";photos/fatima-zahra.webp',
    ].join('\n') + '\n',
  );
  console.log(`fixtures written to ${root}`);
}

void sharp; // keeps the import explicit for readers: every image above is made with sharp
await main();
