import { parseArgs, parseSimple, parseWithYargs } from '../../src/cli/parser.js';

// The everyday command line is read without loading yargs (start-up time); these say that the
// quick reading gives exactly what yargs gives, and that anything unusual is left to yargs.

describe('the command line without yargs', () => {
  const everyday: string[][] = [
    [],
    ['people.csv'],
    ['people.csv', '--target', 'dir', '--out', 'avatars/'],
    ['--out=avatars', 'people.csv', '--dry-run'],
    ['people.csv', '--size', '512', '--quality=80', '--quiet', '--progress', 'off'],
    ['--config', 'nightly.yaml', '--print-config'],
    ['people.csv', '--allow-host', 'photos.example.org', '--jobs', '2', '--max-bytes', '5MiB'],
    ['people.csv', '--ledger', 'x.jsonl', '--verbose', '--force'],
    ['people.csv', '--homeserver', 'https://matrix.example.org', '--target', 'matrix'],
  ];
  const named = (lines: string[][]): [string, string[]][] => lines.map((args) => [args.join(' ') || '(nothing)', args]);
  test.each(named(everyday))('reads `%s` as yargs does', async (_, args) => {
    const simple = parseSimple(args);
    expect(simple).toBeDefined();
    expect(simple).toEqual(await parseWithYargs(args));
  });

  const unusual: string[][] = [
    ['--help'],
    ['-h'],
    ['--version'],
    ['people.csv', '-q'],
    ['-', '--out', 'a'],
    ['people.csv', '--no-dry-run'],
    ['people.csv', '--dry-run', 'false'],
    ['people.csv', '--dry-run=true'],
    ['people.csv', '--size', '512', '--size', '256'],
    ['people.csv', '--out'],
    ['people.csv', '--out', '--dry-run'],
    ['people.csv', '--out='],
    ['people.csv', '--dryRun'],
    ['people.csv', '--no-such-option', 'x'],
    ['a.csv', 'b.csv'],
    ['people.csv', '--', '--out'],
    ['people.csv', '--csv', 'other.csv'],
  ];
  test.each(named(unusual))('leaves `%s` to yargs', (_, args) => {
    expect(parseSimple(args)).toBeUndefined();
  });

  test('an unusual command line still gets yargs’ answer, errors included', async () => {
    await expect(parseArgs(['people.csv', '--no-such-option', 'x'])).rejects.toThrow(/Unknown argument/);
    expect((await parseArgs(['people.csv', '-q']))?.flags.get('quiet')).toBe(true);
  });

  test('a mistyped option is named once, with the option most likely meant; a word like no option, without', async () => {
    await expect(parseArgs(['people.csv', '--ot', 'avatars'])).rejects.toThrow(/^Unknown argument: ot \(did you mean --out\?\)$/);
    await expect(parseArgs(['people.csv', '--remove-mising', '--dryrun'])).rejects.toThrow(/^Unknown arguments: remove-mising, dryrun \(did you mean --remove-missing, --dry-run\?\)$/);
    await expect(parseArgs(['people.csv', '--qwertyuiop'])).rejects.toThrow(/^Unknown argument: qwertyuiop$/);
  });
});
