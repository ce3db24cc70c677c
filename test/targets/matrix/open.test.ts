// Before the first row: the target proves it can work (Synapse, a valid admin token, the upload
// limit) or stops the run with a FatalError saying what is wrong.
import { FatalError } from '../../../src/errors.js';
import { MatrixTarget } from '../../../src/targets/matrix/target.js';
import { setup } from './helpers.js';

describe('matrix target: open()', () => {
  test('probes version, token, admin rights and media config, and caps avatars to m.upload.size', async () => {
    const s = await setup({ maxUploadSize: 3_000_000 });
    try {
      const limits = await s.open();
      expect(s.target.serverVersion).toBe('1.157.1');
      expect(limits.maxBytes).toBe(3_000_000);
      expect(s.synapse.server.counts()).toEqual({ server_version: 1, whoami: 1, admin_user_get: 1, media_config_v1: 1 });
    } finally {
      await s.synapse.close();
    }
  });

  test('an old Synapse answering 400 M_UNRECOGNIZED for authenticated media falls back to /_matrix/media/v3/config', async () => {
    const s = await setup({ release: 'old', maxUploadSize: 1_000_000 });
    try {
      const limits = await s.open();
      expect(s.target.serverVersion).toBe('1.67.0');
      expect(limits.maxBytes).toBe(1_000_000);
      expect(s.synapse.server.count('media_config_v1', 400)).toBe(1);
      expect(s.synapse.server.count('media_config', 200)).toBe(1);
    } finally {
      await s.synapse.close();
    }
  });

  test('a refused token stops the run before anything is uploaded, and says the token was refused', async () => {
    const s = await setup({}, { token: () => 'syt_not_a_real_token_0000' });
    try {
      const error = await s.open().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(FatalError);
      expect(error).toMatchObject({ code: 'token_refused' });
      expect((error as Error).message).toMatch(/refused the access token \(HTTP 401 M_UNKNOWN_TOKEN/);
      expect((error as Error).message).not.toContain('syt_not_a_real_token_0000');
      expect(s.synapse.server.count('upload')).toBe(0);
      expect(s.synapse.server.count('profile_put')).toBe(0);
    } finally {
      await s.synapse.close();
    }
  });

  test('the next run with a good token works', async () => {
    const bad = await setup({}, { token: () => 'syt_expired_token_1111' });
    await expect(bad.open()).rejects.toBeInstanceOf(FatalError);
    await bad.synapse.close();
    const good = await setup();
    await expect(good.open()).resolves.toEqual({ maxBytes: expect.any(Number) });
    await good.synapse.close();
  });

  test("a non-admin's token stops the run and names the account", async () => {
    const s = await setup({}, { token: (synapse) => synapse.login(synapse.addUser('bob')) });
    try {
      const error = await s.open().catch((e: unknown) => e);
      expect(error).toMatchObject({ kind: 'fatal', code: 'not_admin' });
      expect((error as Error).message).toContain('@bob:example.org, which is not a server admin');
      expect(s.synapse.server.count('upload')).toBe(0);
    } finally {
      await s.synapse.close();
    }
  });

  test('a URL that is not Synapse with its admin API is fatal, not a row error', async () => {
    const s = await setup();
    try {
      const target = new MatrixTarget(
        { homeserver: s.synapse.url + '/not-synapse', token: s.synapse.adminToken, concurrency: 1, retries: 0 },
        { log: s.log },
      );
      await expect(target.open(new AbortController().signal)).rejects.toMatchObject({ kind: 'fatal' });
    } finally {
      await s.synapse.close();
    }
  });

  test('a server that keeps failing during start-up is fatal once retries run out', async () => {
    const s = await setup({}, { config: { retries: 2 } });
    try {
      s.synapse.setFaults({ errorEvery: 1 });
      await expect(s.open()).rejects.toMatchObject({ kind: 'fatal', code: 'target_unavailable' });
      expect(s.synapse.server.count('server_version')).toBe(3);
    } finally {
      await s.synapse.close();
    }
  });
});
