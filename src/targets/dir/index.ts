import { text } from '../../options/declare.js';
import { required } from '../checks.js';
import { defineTarget } from '../target.js';

export const dirTarget = defineTarget({
  name: 'dir',
  describe: 'write <out>/<user>.jpg files (no server needed)',
  options: {
    out: text({ arg: 'DIR', path: true, doc: 'folder for `<user>.jpg`, created if missing.', help: 'folder for the avatars (created if missing)' }),
  },
  // Local disk: the work is in decoding, so a few writes in flight are plenty.
  defaultConcurrency: 4,
  async create(options, context) {
    if (options.out === undefined) required('out', 'dir', 'where to write the avatars');
    // Each target's code loads only when that target is used: start-up pays for none of them.
    const { DirTarget } = await import('./dir.js');
    return new DirTarget({ out: options.out, checksum: context.checksum });
  },
});
