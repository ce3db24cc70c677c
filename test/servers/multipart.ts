// The shared multipart lives in testkit/servers/ (benchmark scripts use it too). This re-export keeps
// the Authgear fake's imports as they are while issue 17 reshapes it; it goes when that fake moves
// to testkit/servers/ beside the others.
export * from '../../testkit/servers/multipart.js';
