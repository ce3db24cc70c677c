import { text } from '../../options/declare.js';
import { required } from '../checks.js';
import { defineTarget } from '../target.js';
import { DirTarget } from './dir.js';

export const dirTarget = defineTarget({
  name: 'dir',
  describe: 'write <out>/<user>.jpg files (no server needed)',
  options: {
    out: text({ arg: 'DIR', path: true, doc: '**dir**: folder for `<user>.jpg`, created if missing.', help: 'folder for the avatars (created if missing)' }),
  },
  // Local disk: the work is in decoding, so a few writes in flight are plenty.
  defaultConcurrency: 4,
  async create(options, context) {
    if (options.out === undefined) required('out', 'dir', 'where to write the avatars');
    return new DirTarget({ out: options.out, checksum: context.checksum });
  },
});
