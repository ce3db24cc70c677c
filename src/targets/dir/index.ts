import { UsageError } from '../../errors.js';
import type { TargetFactory } from '../target.js';
import { DirTarget } from './dir.js';

export const dirTarget: TargetFactory = {
  name: 'dir',
  describe: 'write <out>/<user>.jpg files (no server needed)',
  options: {
    out: { type: 'string', describe: 'dir target: folder for the avatars (created if missing)' },
  },
  // Local disk: the work is in decoding, so a few writes in flight are plenty.
  defaultConcurrency: 4,
  async create({ argv }) {
    const out = argv['out'];
    if (typeof out !== 'string' || out === '') throw new UsageError('--out DIR is required with --target dir (where to write the avatars)');
    return new DirTarget({ out, checksum: argv['checksum'] === true });
  },
};
