import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlockingIo, isRemoteFileSystem } from '../../src/util/blocking-io.js';

const nothing = (): undefined => undefined;

describe('BlockingIo', () => {
  test('blocking stays allowed while operations take less than the share of the time allowed', () => {
    const io = new BlockingIo(1, 0); // a share of 1: blocked time never exceeds the time elapsed
    expect(io.run(() => 42)).toBe(42);
    for (let i = 0; i < 100; i++) io.run(nothing);
    expect(io.allowed).toBe(true);
  });

  test('once blocking took more than its share of a window, it is off for good (an operation that threw counts too)', () => {
    const io = new BlockingIo(-1, 0); // every window is over its share
    expect(() => io.run(() => {
      throw new Error('EIO');
    })).toThrow('EIO');
    expect(io.allowed).toBe(false);
  });

  test('nothing is decided before a window has passed', () => {
    const io = new BlockingIo(-1, 60_000);
    for (let i = 0; i < 100; i++) io.run(nothing);
    expect(io.allowed).toBe(true);
  });
});

describe('BlockingIo for a folder', () => {
  test('network and user-space file systems are never blocked for; local ones are', () => {
    expect(isRemoteFileSystem(0x6969)).toBe(true); // NFS
    expect(isRemoteFileSystem(0xff534d42)).toBe(true); // CIFS
    expect(isRemoteFileSystem(0x65735546)).toBe(true); // FUSE (sshfs, s3fs)
    expect(isRemoteFileSystem(0xef53)).toBe(false); // ext2/3/4
    expect(isRemoteFileSystem(0x01021994)).toBe(false); // tmpfs
  });

  test('a local folder, or one that does not exist yet, starts with blocking allowed', () => {
    expect(BlockingIo.forFolder(tmpdir()).allowed).toBe(true);
    expect(BlockingIo.forFolder(join(tmpdir(), 'avatar-import-no-such-folder', 'x')).allowed).toBe(true);
  });
});
