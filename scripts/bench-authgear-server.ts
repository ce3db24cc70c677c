// The fake Authgear for scripts/bench-nightly.ts, in its own thread so that the server's work does
// not share an event loop with the CLI being measured (which runs in its own process anyway).
import { parentPort } from 'node:worker_threads';
import type { Faults } from '../testkit/servers/harness.js';
import { FakeAuthgear } from '../testkit/servers/authgear.js';

export type Command = { cmd: 'start'; users: string[] } | { cmd: 'faults'; faults: Faults } | { cmd: 'stats' } | { cmd: 'stop' };

export interface Started {
  readonly url: string;
  readonly projectId: string;
  readonly keyId: string;
  readonly privateKeyPem: string;
}

export interface Stats {
  /** HTTP requests to the GraphQL endpoint. */
  readonly graphql: number;
  /** getUsersByStandardAttribute fields executed. */
  readonly lookups: number;
  readonly updates: number;
  readonly uploads: number;
}

let fake: FakeAuthgear | undefined;

parentPort!.on('message', async (message: Command) => {
  switch (message.cmd) {
    case 'start': {
      fake = await FakeAuthgear.start();
      for (const email of message.users) fake.addUser({ email });
      const started: Started = { url: fake.url, projectId: fake.projectId, keyId: fake.keyId, privateKeyPem: fake.privateKeyPem };
      parentPort!.postMessage(started);
      break;
    }
    case 'faults':
      fake!.setFaults(message.faults);
      parentPort!.postMessage('ok');
      break;
    case 'stats': {
      const stats: Stats = { graphql: fake!.graphqlRequests, lookups: fake!.count('getUsersByStandardAttribute'), updates: fake!.updates.length, uploads: fake!.images.size };
      parentPort!.postMessage(stats);
      break;
    }
    case 'stop':
      await fake?.close();
      parentPort!.postMessage('ok');
      parentPort!.close();
      break;
  }
});
