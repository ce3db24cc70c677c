import { text } from '../../options/declare.js';
import { required } from '../checks.js';
import { defineTarget } from '../target.js';
import { fileNamer } from './filename.js';

export const dirTarget = defineTarget({
  name: 'dir',
  describe: 'write <out>/<user>.jpg files (no server needed)',
  options: {
    out: text({ arg: 'DIR', path: true, doc: 'folder for `<user>.jpg`, created if missing.', help: 'folder for the avatars (created if missing)' }),
    'file-name': text({
      arg: 'T',
      defaultDoc: '`{user|lower}`',
      doc: "the file name, in the template language of `--user-template` with one placeholder, `{user}` (e.g. `'{user\\|localpart}'`). The default keeps `@` and `.`: `jane.doe@example.org.jpg`.",
      help: "dir: file name template with {user}, e.g. '{user|localpart}' (default: the user id in lower case)",
      // Compiled once here so a bad template is a usage error before anything is read.
      check: (value) => {
        fileNamer(value);
        return value;
      },
    }),
  },
  // Local disk: the work is in decoding, so a few writes in flight are plenty.
  defaultConcurrency: 4,
  async create(options, context) {
    if (options.out === undefined) required('out', 'dir', 'where to write the avatars');
    // Each target's code loads only when that target is used: start-up pays for none of them.
    const { DirTarget } = await import('./dir.js');
    return new DirTarget({ out: options.out, checksum: context.checksum, ...(options.fileName === undefined ? {} : { fileName: options.fileName }) });
  },
});
