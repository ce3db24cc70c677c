// --config FILE: every key checked against the option declarations, with the file and line in
// every message; secrets refused; flags over file over defaults; --print-config as a config file.
import { UsageError } from '../../src/errors.js';
import { parseConfig } from '../../src/options/config-file.js';
import { printConfig } from '../../src/options/print.js';
import { resolveSettings } from '../../src/options/settings.js';

const refused = (text: string, path = '/etc/avatar-import/nightly.yaml'): string => {
  try {
    parseConfig(text, path);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error('expected a usage error');
};

describe('config file keys', () => {
  test('YAML and JSON give the same settings', () => {
    const yaml = parseConfig('csv: people.csv\nsize: 256\nallow-host: [cdn.example.org]\ntarget: dir\nout: /srv/avatars\n', '/etc/a/nightly.yaml');
    const json = parseConfig('{\n  "csv": "people.csv",\n  "size": 256,\n  "allow-host": ["cdn.example.org"],\n  "target": "dir",\n  "out": "/srv/avatars"\n}\n', '/etc/a/nightly.json');
    const a = resolveSettings(new Map(), yaml);
    const b = resolveSettings(new Map(), json);
    for (const settings of [a, b]) {
      expect(settings.input.csv).toBe('/etc/a/people.csv'); // relative to the file, not to cron's cwd
      expect(settings.image.size).toBe(256);
      expect(settings.sources.allowHost).toEqual(['cdn.example.org']);
      expect(settings.targets.map((t) => [t.factory.name, t.options])).toEqual([['dir', { out: '/srv/avatars' }]]);
    }
  });

  test('an unknown key names the key, the file, the line and the nearest valid key', () => {
    expect(refused('csv: people.csv\n\nimage-dir: photos\n')).toBe('unknown key "image-dir" in /etc/avatar-import/nightly.yaml line 3; did you mean "images-dir"?');
    expect(refused('{\n  "csv": "p.csv",\n  "qualty": 80\n}', 'job.json')).toBe('unknown key "qualty" in job.json line 3; did you mean "quality"?');
    expect(refused('frobnicate: 1\n')).toBe('unknown key "frobnicate" in /etc/avatar-import/nightly.yaml line 1');
  });

  test('a key in a targets: entry is checked against that target type', () => {
    expect(refused('targets:\n  - type: matrix\n    homeservr: https://hs\n')).toMatch(/^unknown key "homeservr" in \/etc\/avatar-import\/nightly\.yaml line 3 \(a matrix target\); did you mean "homeserver"\?/);
    // dir's option is not a matrix option.
    expect(refused('targets:\n  - type: matrix\n    out: /srv\n')).toMatch(/unknown key "out" .* line 3 \(a matrix target\)/);
    expect(refused('targets:\n  - type: matrx\n')).toMatch(/targets\[1\] in .* line 2: unknown target type "matrx"; expected one of dir, matrix, authgear, zulip \(did you mean matrix\?\)/);
    expect(refused('targets:\n  - homeserver: https://hs\n')).toMatch(/targets\[1\] .*: every target needs a type/);
    expect(refused('targets: matrix\n')).toMatch(/expected a list of targets/);
  });

  test.each([
    ['token: syt_abc\n', /^token \(.*nightly\.yaml line 1\): secrets are not accepted in a config file; use token-file: FILE .* or the environment \(.*\$MATRIX_ACCESS_TOKEN/],
    ['targets:\n  - type: matrix\n    token: syt_abc\n', /^token \(.* line 3 \(a matrix target\)\): secrets .* use token-file: FILE .* or the environment \(\$MATRIX_ACCESS_TOKEN\)/],
    ['targets:\n  - type: authgear\n    admin-key: "k"\n', /^admin-key .* use admin-key-file: FILE/],
    ['targets:\n  - type: zulip\n    api-key: "k"\n', /^api-key .* secrets are not accepted .*\$ZULIP_API_KEY/],
    ['password: hunter2\n', /^password .* secrets are not accepted/],
    ['targets:\n  - type: zulip\n    jwt-secret: "s"\n', /^jwt-secret .* use jwt-key-file: FILE/],
    ['user-template: "-----BEGIN PRIVATE KEY-----\\nMII"\n', /holds a private key; secrets are not accepted/],
  ])('a secret is refused, naming the option or variable to use instead: %j', (text, message) => {
    const error = refused(text);
    expect(error).toMatch(message);
    expect(error).not.toMatch(/syt_abc|hunter2|MII/);
  });

  test('a value is checked by the same rule as the flag, and the message says where it came from', () => {
    const file = parseConfig('csv: p.csv\nsize: 5000\n', 'job.yaml');
    expect(() => resolveSettings(new Map(), file)).toThrow('--size expects a whole number from 16 to 4096, got 5000 (job.yaml line 2)');
    const bad = parseConfig('targets:\n  - type: matrix\n    homeserver: ftp://hs\n', 'job.yaml');
    expect(() => resolveSettings(new Map(), bad)).toThrow(/--homeserver expects an http\(s\) URL, got "ftp:\/\/hs" \(job\.yaml line 3\)/);
  });

  test('broken YAML is a usage error with its line', () => {
    expect(refused('csv: p.csv\nsize: [1,\n')).toMatch(/not valid YAML or JSON at line \d/);
    expect(refused('- a\n- b\n')).toMatch(/expected keys and values/);
  });
});

describe('precedence: flags, then the target entry, then the top level, then defaults', () => {
  const file = parseConfig(
    [
      'csv: /srv/hr/people.csv',
      'quality: 70',
      'concurrency: 3',
      'user-template: "{Work Email|lower}"',
      'targets:',
      '  - type: dir',
      '    out: /srv/avatars',
      '  - type: matrix',
      '    homeserver: https://matrix.example.com',
      '    token-file: /etc/avatar-import/matrix.token',
      '    user-template: "@{Work Email|localpart|lower}:example.com"',
      '    concurrency: 8',
      '',
    ].join('\n'),
    '/etc/avatar-import/nightly.yaml',
  );

  test('the file alone', () => {
    const settings = resolveSettings(new Map(), file);
    expect(settings.image.quality).toBe(70);
    expect(settings.image.minSize).toBe(96); // default
    const [dir, matrix] = settings.targets;
    expect(dir!.values.input.userTemplate).toBe('{Work Email|lower}');
    expect(dir!.values.performance.concurrency).toBe(3);
    expect(matrix!.values.input.userTemplate).toBe('@{Work Email|localpart|lower}:example.com');
    expect(matrix!.values.performance.concurrency).toBe(8);
    expect(matrix!.options).toEqual({ homeserver: 'https://matrix.example.com', tokenFile: '/etc/avatar-import/matrix.token' });
  });

  test('a flag wins over the file, for every target', () => {
    const settings = resolveSettings(new Map<string, unknown>([['quality', '90'], ['concurrency', '2'], ['out', '/tmp/here']]), file);
    expect(settings.image.quality).toBe(90);
    expect(settings.targets.map((t) => t.values.performance.concurrency)).toEqual([2, 2]);
    expect(settings.targets[0]!.options).toEqual({ out: '/tmp/here' });
  });

  test('--target picks among the file\'s entries by type', () => {
    const settings = resolveSettings(new Map([['target', 'matrix']]), file);
    expect(settings.targets.map((t) => t.factory.name)).toEqual(['matrix']);
    expect(settings.targets[0]!.options).toMatchObject({ homeserver: 'https://matrix.example.com' });
    expect(() => resolveSettings(new Map([['target', 'dir,ftp']]), file)).toThrow(/--target expects one or more of dir, matrix, authgear, zulip, got "ftp"/);
  });

  test('a target option for a target the run does not use is reported, to be warned about', () => {
    expect(resolveSettings(new Map([['homeserver', 'https://hs'], ['out', '/srv']])).unused).toEqual([{ name: 'homeserver', takenBy: ['matrix'] }]);
    expect(resolveSettings(new Map([['quality', '90']]), file).unused).toEqual([]);
  });

  test('--print-config prints a config file that gives the same settings', () => {
    const printed = printConfig(resolveSettings(new Map([['quality', '90']]), file));
    expect(printed).toMatch(/^# avatar-import effective settings/);
    expect(printed).toMatch(/^quality: 90$/m);
    expect(printed).toMatch(/^min-size: 96$/m);
    const again = resolveSettings(new Map(), parseConfig(printed, '/etc/avatar-import/printed.yaml'));
    expect(printConfig(again).split('\n').slice(1)).toEqual(printed.split('\n').slice(1));
  });
});
