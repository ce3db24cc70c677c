// The shared multipart parser lives in testkit/servers/. This re-export keeps the imports of tests
// written against test/servers/ working.
export * from '../../testkit/servers/multipart.js';
