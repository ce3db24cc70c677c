// The fake Synapse for scripts/bench-matrix.ts, in its own thread so that the server's work does
// not share an event loop with the client being measured.
import { parentPort } from 'node:worker_threads';
import type { Faults } from '../testkit/servers/harness.js';
import { FakeSynapse, type SynapseOptions } from '../testkit/servers/synapse.js';

export type Command =
  | { cmd: 'start'; options: SynapseOptions; users: number }
  | { cmd: 'faults'; faults: Faults }
  | { cmd: 'stats' }
  | { cmd: 'stop' };

export interface Stats {
  readonly requests: number;
  readonly limited: number;
  readonly uploadsStored: number;
  readonly byOutcome: Record<string, number>;
}

let synapse: FakeSynapse | undefined;

parentPort!.on('message', async (message: Command) => {
  switch (message.cmd) {
    case 'start': {
      synapse = await FakeSynapse.start(message.options);
      const users = Array.from({ length: message.users }, (_, i) => synapse!.addUser(`bench${i}`));
      parentPort!.postMessage({ url: synapse.url, token: synapse.adminToken, users });
      break;
    }
    case 'faults':
      synapse!.setFaults(message.faults);
      parentPort!.postMessage('ok');
      break;
    case 'stats': {
      const requests = synapse!.server.requests;
      const byOutcome: Record<string, number> = {};
      for (const r of requests) byOutcome[`${r.route}:${r.outcome}`] = (byOutcome[`${r.route}:${r.outcome}`] ?? 0) + 1;
      const stats: Stats = { requests: requests.length, limited: requests.filter((r) => r.outcome === 429).length, uploadsStored: synapse!.uploads.length, byOutcome };
      parentPort!.postMessage(stats);
      break;
    }
    case 'stop':
      await synapse?.close();
      parentPort!.postMessage('ok');
      parentPort!.close();
      break;
  }
});
