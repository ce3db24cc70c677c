// Regenerates fixtures/hr/: exports shaped as HR systems and spreadsheets really write them, none
// hand-tidied (`npm run fixtures:hr`; needs heif-enc from Debian's libheif-examples). Each file
// has an end-to-end test in test/e2e/hr-exports.test.ts, and the README's "Exports from HR
// systems" section shows the command for each.
import ExcelJS from 'exceljs';
import iconv from 'iconv-lite';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { heifEnc, withTransforms } from '../testkit/heic.js';
import { fromPixels, jpegInSpace, photoPixels, quadrantJpeg } from '../testkit/images.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'hr');

const photo = (seed: number, size = 240): Promise<Buffer> => fromPixels(photoPixels(size, size, seed), size, size).jpeg({ quality: 80 }).toBuffer();

async function main(): Promise<void> {
  await rm(root, { recursive: true, force: true });
  const put = async (path: string, bytes: Buffer | string): Promise<void> => {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), bytes);
  };

  // 1. Excel's "CSV (semicolon delimited)" in Western Europe: Windows-1252, ";" and CRLF.
  await put('excel-cp1252/photos/anna.jpg', await photo(21));
  await put('excel-cp1252/photos/soeren.jpg', await photo(22));
  await put('excel-cp1252/photos/francois.jpg', await photo(23));
  await put('excel-cp1252/people.csv', iconv.encode(
    ['Username;Full name;Photo', 'anna.müller;Anna Müller;photos/anna.jpg', 'søren.ørsted;Søren Ørsted;photos/soeren.jpg', 'françois.lefèvre;François Lefèvre – Sales;photos/francois.jpg', ''].join('\r\n'),
    'windows-1252',
  ));

  // 2. Excel's "Unicode text": UTF-16LE with a BOM, tab-separated; photos copied from a Mac, so
  //    their names are decomposed (NFD) while the export writes them composed (NFC).
  await put('unicode-text/photos/Zoe\u0308 Brontë.jpg'.normalize('NFD'), await photo(31));
  await put('unicode-text/photos/Jo\u0301zsef.jpg', await photo(32));
  await put('unicode-text/people.txt', Buffer.concat([
    Buffer.from([0xff, 0xfe]),
    Buffer.from(['User ID\tDisplay name\tPicture', 'zoë.brontë\tZoë Brontë\tphotos/Zoë Brontë.jpg', 'józsef\tJózsef Nagy\tphotos/József.jpg', ''].join('\r\n').normalize('NFC'), 'utf16le'),
  ]));

  // 3. Workday report: a title line above quoted headers with spaces, Windows paths, a trailing
  //    empty column, a camera file name typed in another case, and a footer.
  await put('workday/photos/2024/Q3/1001.jpg', await photo(41));
  await put('workday/photos/2024/Q3/1002.jpg', await photo(42));
  await put('workday/photos/IMG_4021.JPG', await photo(43));
  await put('workday/workers.csv', [
    '"Worker Photos - All Active Workers (run 2026-11-30 06:00)"',
    '"Employee ID","Legal Name","Work Email","Photo File Name",',
    '1001,"Ortiz, Ana",Ana.Ortiz@Corp.Example,photos\\2024\\Q3\\1001.jpg,',
    '1002,"Okafor, Ben",ben.okafor@corp.example,photos\\2024\\Q3\\1002.jpg',
    '1003,"Kim, Hana",hana.kim@corp.example,photos\\IMG_4021.jpg,',
    '1004,"Lee, Kim",kim.lee@corp.example,,',
    'Total: 4 workers',
    '',
  ].join('\r\n'));

  // 4. BambooHR: photo URLs on the API, which needs the API key (Basic auth). The e2e test
  //    points the host at a BambooHR test server.
  await put('bamboohr/employees.csv', [
    'Employee #,First Name,Last Name,Work Email,Photo URL',
    '39,Chloé,Martin,chloe.martin@corp.example,https://api.bamboohr.com/api/gateway.php/acme/v1/employees/39/photo/original',
    '40,Dev,Patel,dev.patel@corp.example,https://api.bamboohr.com/api/gateway.php/acme/v1/employees/40/photo/original',
    '41,Eli,Cohen,eli.cohen@corp.example,https://api.bamboohr.com/api/gateway.php/acme/v1/employees/41/photo/original',
    '',
  ].join('\n'));
  await put('bamboohr/served/39.jpg', await photo(51));
  await put('bamboohr/served/40.heic', withTransforms(await heifEnc(await quadrantJpeg({ width: 320, height: 240, orientation: 6 })), { turns: 3 }));

  // 5. A workbook (Personio, or any hand-kept Excel list): a notes sheet first, the people on
  //    "Employees" under a title row, iPhone photos (HEIC, one taken sideways) next to JPEGs.
  await put('xlsx/photos/fatima.heic', await heifEnc(await jpegInSpace('p3', [230, 150, 140], 256), 90));
  await put('xlsx/photos/gus-sideways.heic', withTransforms(await heifEnc(await quadrantJpeg({ width: 320, height: 240, orientation: 8 })), { turns: 1 }));
  await put('xlsx/photos/ivan.jpg', await photo(61));
  const workbook = new ExcelJS.Workbook();
  workbook.addWorksheet('Notes').addRow(['Exported from Personio for the avatar import']);
  const sheet = workbook.addWorksheet('Employees');
  sheet.addRow(['Employees - active']);
  sheet.addRow(['ID', 'First name', 'Last name', 'Email', 'Photo']);
  sheet.addRow([7, 'Fatima', 'Zahra', 'fatima.zahra@corp.example', 'photos/fatima.heic']);
  sheet.addRow([8, 'Gus', 'Berg', 'gus.berg@corp.example', 'photos/gus-sideways.heic']);
  sheet.addRow([9, 'Ivan', 'Petrov', 'Ivan.Petrov@corp.example', 'photos/ivan.jpg']);
  sheet.addRow([10, 'Ivan', 'Petrov', 'ivan.petrov@corp.example', 'photos/ivan.jpg']);
  await put('xlsx/people.xlsx', Buffer.from(await workbook.xlsx.writeBuffer()));

  // 6. UTF-8 with one damaged byte (a name pasted from a Windows-1252 file).
  await put('damaged-utf8/photos/a.jpg', await photo(71));
  await put('damaged-utf8/people.csv', Buffer.concat([
    Buffer.from('user_id,name,photo\nana.ortiz,Ana Ortiz,photos/a.jpg\nbo.berg,Bo B'),
    Buffer.from([0xf6]),
    Buffer.from('rk,photos/a.jpg\nchloé.martin,Chloé Martin,photos/a.jpg\n'),
  ]));

  console.log(`HR exports written to ${root}`);
}

await main();
