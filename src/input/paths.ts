// Keeping image paths inside --images-dir. The decision is made on real paths (symlinks
// resolved) and the real path is what gets read, so a link can neither smuggle a file in from
// outside nor be swapped between the check and the read without the read noticing (O_NOFOLLOW in
// source.ts).

import { realpath } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, sep } from 'node:path';
import { RowError } from '../errors.js';

/**
 * Whether `path` is `dir` or below it. Compared by path segments, not string prefix, so
 * /imgs2/a.jpg is not inside /imgs.
 */
export function isInside(dir: string, path: string): boolean {
  const rel = relative(dir, path);
  return rel === '' || (!isAbsolute(rel) && rel !== '..' && !rel.startsWith(`..${sep}`));
}

/**
 * The real path of `path` as far as it exists: a missing file still gets the real path of the
 * folder it would be in, so a missing `../x.jpg` is reported as outside, not as missing.
 */
export async function realpathAsFarAsExists(path: string): Promise<{ real: string; exists: boolean }> {
  try {
    return { real: await realpath(path), exists: true };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR') throw error;
    const parent = dirname(path);
    if (parent === path) return { real: path, exists: false };
    const up = await realpathAsFarAsExists(parent);
    return { real: join(up.real, basename(path)), exists: false };
  }
}

/** A file system error as the row error it means for the image `display`. */
export function fileError(error: unknown, display: string): RowError {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
    case 'ENOTDIR':
      return new RowError('file_not_found', `${display} does not exist`, { cause: error });
    case 'EACCES':
    case 'EPERM':
      return new RowError('file_unreadable', `${display} cannot be read: permission denied`, { cause: error });
    case 'EISDIR':
      return new RowError('file_unreadable', `${display} is a folder, not a file`, { cause: error });
    case 'ELOOP':
      return new RowError('file_unreadable', `${display} is (or became) a symbolic link loop or link`, { cause: error });
    default:
      return new RowError('file_unreadable', `${display} cannot be read (${code ?? String(error)})`, { cause: error });
  }
}
