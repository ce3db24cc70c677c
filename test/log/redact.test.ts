import { createLogger } from '../../src/log.js';

// What may never reach a terminal, a log or the ledger, whatever path a message took.

const TOKEN = 'syt_YWRtaW4_2cb9e6983178c74488e0abcd';

describe('log.redact', () => {
  test('masks a registered secret wherever it appears', () => {
    const log = createLogger({ write: () => undefined });
    log.addSecret(TOKEN);
    expect(log.redact(`Bearer ${TOKEN} and again ${TOKEN}.`)).toBe('Bearer *** and again ***.');
  });

  test('masks what is left of a secret that something cut short (8 characters or more)', () => {
    const log = createLogger({ write: () => undefined });
    log.addSecret(TOKEN);
    // A body cut at a length limit, by us or by the server that echoed it.
    expect(log.redact(`bad token ${TOKEN.slice(0, -1)}…`)).toBe('bad token ***…');
    expect(log.redact(`bad token ${TOKEN.slice(0, 8)}`)).toBe('bad token ***');
    // Seven characters are too common to be a secret's tell.
    expect(log.redact(`see ${TOKEN.slice(0, 7)}`)).toBe(`see ${TOKEN.slice(0, 7)}`);
  });

  test('removes credentials, queries and fragments from any URL in a message, parseable or not', () => {
    const log = createLogger({ write: () => undefined });
    expect(log.redact('GET http://ana:S3cretPw@files.example.com/a.jpg?sig=XYZ failed')).toBe('GET http://files.example.com/a.jpg?… failed');
    expect(log.redact('"http://ana:S3cret/Pw@[bad/a.jpg?sig=XYZ" is not a valid URL')).toBe('"http://[bad/a.jpg?…" is not a valid URL');
    expect(log.redact('see https://x.example/p#access_token=XYZ')).toBe('see https://x.example/p#…');
    expect(log.redact('ftp://files.example.com/a.jpg is plain')).toBe('ftp://files.example.com/a.jpg is plain');
  });
});
