// The shared harness lives in testkit/servers/ (benchmark scripts use it too). This re-export keeps
// the imports of tests written against test/servers/ working.
export * from '../../testkit/servers/harness.js';
