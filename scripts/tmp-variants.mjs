import sharp from 'sharp';
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { createHash } from 'node:crypto';
const dir = '/tmp/avatar-import-bench/normalise-distinct-2000-seed16/photos';
const N = 300, JOBS = 4;
await mkdir('/tmp/variants', { recursive: true });
const variants = {
  bareFile: async (i) => sharp(`${dir}/photo${i}.jpg`).rotate().resize(512, 512, { fit: 'cover' }).jpeg({ quality: 85 }).toFile(`/tmp/variants/a${i}.jpg`),
  bareBuf: async (i) => { const b = await readFile(`${dir}/photo${i}.jpg`); const o = await sharp(b).rotate().resize(512, 512, { fit: 'cover' }).jpeg({ quality: 85 }).toBuffer(); await writeFile(`/tmp/variants/a${i}.jpg`, o); },
  cliLike: async (i) => {
    const b = await readFile(`${dir}/photo${i}.jpg`); createHash('sha256').update(b).digest('hex');
    await sharp(b, { failOn: 'error', limitInputPixels: false }).metadata();
    const o = await sharp(b, { failOn: 'error', limitInputPixels: 1e8, autoOrient: true }).resize(512, 512, { fit: 'cover', position: 'centre' }).flatten({ background: 'white' }).toColourspace('srgb').jpeg({ quality: 85, progressive: false }).toBuffer();
    createHash('sha256').update(o).digest('hex'); await writeFile(`/tmp/variants/a${i}.jpg`, o); },
  noColourspace: async (i) => {
    const b = await readFile(`${dir}/photo${i}.jpg`);
    const o = await sharp(b, { failOn: 'error', limitInputPixels: 1e8, autoOrient: true }).resize(512, 512, { fit: 'cover', position: 'centre' }).flatten({ background: 'white' }).jpeg({ quality: 85, progressive: false }).toBuffer();
    await writeFile(`/tmp/variants/a${i}.jpg`, o); },
  noFlatten: async (i) => {
    const b = await readFile(`${dir}/photo${i}.jpg`);
    const o = await sharp(b, { failOn: 'error', limitInputPixels: 1e8, autoOrient: true }).resize(512, 512, { fit: 'cover', position: 'centre' }).toColourspace('srgb').jpeg({ quality: 85, progressive: false }).toBuffer();
    await writeFile(`/tmp/variants/a${i}.jpg`, o); },
};
const only = process.argv.slice(2);
for (let r = 0; r < 2; r++) for (const [name, fn] of Object.entries(variants)) {
  if (only.length && !only.includes(name)) continue;
  const c0 = process.cpuUsage(); const t0 = process.hrtime.bigint();
  let next = 0; await Promise.all(Array.from({ length: JOBS }, async () => { while (next < N) await fn(next++); }));
  const c = process.cpuUsage(c0);
  console.log(name.padEnd(14), 'wall', (Number(process.hrtime.bigint() - t0) / 1e9).toFixed(2), 'cpu', ((c.user + c.system) / 1e6).toFixed(2));
}
