// The fake Authgear lives in testkit/servers/ with the other fakes (benchmark scripts drive it
// too). This re-export keeps the imports of tests written against test/servers/ working.
export * from '../../testkit/servers/authgear.js';
