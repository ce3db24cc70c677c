import { RowError, UsageError } from '../../src/errors.js';
import { compileTemplate } from '../../src/input/template.js';

const headers = ['User Name', 'Email', 'Display name', 'empty'];
const row = { 'User Name': 'jdoe', Email: 'Jane.Doe@Corp.com', 'Display name': 'José Ørsted-Nuñez', empty: '' };

function thrown(act: () => unknown): unknown {
  try {
    act();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

function build(template: string, fields: Record<string, string> = row): string {
  return compileTemplate(template, headers)(fields);
}

describe('user ids from columns', () => {
  test('placeholders are replaced by the cells of the columns they name', () => {
    expect(build('@{User Name}:example.org')).toBe('@jdoe:example.org');
  });

  test('columns are named as loosely as --id-column: any case, spaces/hyphens/underscores alike', () => {
    expect(build('@{user_name}:example.org')).toBe('@jdoe:example.org');
    expect(build('@{USER-NAME}:example.org')).toBe('@jdoe:example.org');
    expect(build('{ email | lower }')).toBe('jane.doe@corp.com');
  });

  test('filters apply left to right: the HR e-mail becomes a Matrix localpart', () => {
    expect(build('@{email|localpart|lower}:example.org')).toBe('@jane.doe:example.org');
    expect(build('{email|domain|upper}')).toBe('CORP.COM');
    expect(build('{email|localpart}', { ...row, Email: 'first@second@corp.com' })).toBe('first@second');
    expect(build('{user name|localpart}')).toBe('jdoe');
    expect(build('[{user name|trim}]', { ...row, 'User Name': '  jdoe ' })).toBe('[jdoe]');
  });

  test('slug keeps only what a Matrix localpart allows, dropping accents', () => {
    expect(build('@{display name|slug}:example.org')).toBe('@jose-orsted-nunez:example.org');
    expect(build('{display name|slug}', { ...row, 'Display name': '  Jürgen  Groß (HR) ' })).toBe('jurgen-gross-hr');
    expect(build('{email|slug}')).toBe('jane.doe-corp.com');
  });

  test('doubled braces are literal braces', () => {
    expect(build('{{{user name}}}')).toBe('{jdoe}');
  });
});

describe('a row that cannot build its id fails alone', () => {
  test('an empty cell is missing_value naming the column', () => {
    const userOf = compileTemplate('@{email|localpart}:example.org', headers);
    const error = thrown(() => userOf({ ...row, Email: '  ' }));
    expect(error).toBeInstanceOf(RowError);
    expect(error).toMatchObject({ code: 'missing_value', message: 'the Email cell is empty (needed by --user-template)' });
  });

  test('a filter that leaves nothing (no domain to take) is missing_value too', () => {
    expect(thrown(() => build('{user name|domain}'))).toMatchObject({
      code: 'missing_value',
      message: '{user name|domain} is empty for this row (User Name is "jdoe")',
    });
    expect(thrown(() => build('{display name|slug}', { ...row, 'Display name': '李小龍' }))).toMatchObject({ code: 'missing_value' });
  });
});

describe('a template that cannot work is refused before the first row', () => {
  test.each([
    ['an unknown column, listing the headers', '@{nickname}:x', /no column "nickname"; the headers are "User Name", "Email", "Display name", "empty"/],
    ['an unknown filter, listing the filters', '{email|casefold}', /unknown filter "casefold" in \{email\|casefold\}; the filters are lower, upper, trim, localpart, domain, slug/],
    ['an inherited property is not a filter', '{email|constructor}', /unknown filter "constructor"/],
    ['an empty placeholder', '@{}:x', /names no column/],
    ['an unclosed brace', '@{email:x', /never closed/],
    ['a lone closing brace', '@email}:x', /a "}" with no "{"/],
    ['no placeholder at all', '@admin:example.org', /no \{column\} placeholder/],
  ])('%s', (_name, template, message) => {
    expect(() => compileTemplate(template, headers)).toThrow(UsageError);
    expect(() => compileTemplate(template, headers)).toThrow(message);
  });
});
