import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, posix, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse, parseAllDocuments } from 'yaml';

import { shardLedgerPath } from '../../src/input/shard.js';
import { parseConfig } from '../../src/options/config-file.js';
import { resolveSettings } from '../../src/options/settings.js';

// The deployment example is code users copy: these tests read it the way Kubernetes and Docker
// would and check the properties the README promises. Nothing here needs a cluster or a runtime.

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const DEPLOY = join(ROOT, 'deploy/kubernetes');

/* eslint-disable @typescript-eslint/no-explicit-any -- manifests are untyped YAML */
type Manifest = any;

async function manifests(): Promise<Manifest[]> {
  const out: Manifest[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (/\.ya?ml$/.test(entry.name)) {
        for (const doc of parseAllDocuments(await readFile(path, 'utf8'))) {
          expect(doc.errors).toEqual([]);
          const value = doc.toJS();
          if (value) out.push({ ...value, file: posix.relative(DEPLOY, path.split('\\').join('/')) });
        }
      }
    }
  };
  await walk(DEPLOY);
  return out;
}

function find(all: Manifest[], kind: string, name: string): Manifest {
  const found = all.find((m) => m.kind === kind && m.metadata?.name === name);
  if (!found) throw new Error(`no ${kind} ${name} in deploy/kubernetes`);
  return found;
}

function argAfter(args: string[], flag: string): string | undefined {
  const at = args.indexOf(flag);
  return at < 0 ? undefined : args[at + 1];
}

/** The mount (and its volume) under which `path` lies in `pod`. */
function mountOf(pod: Manifest, container: Manifest, path: string): { mount: Manifest; volume: Manifest } {
  const mount = (container.volumeMounts as Manifest[]).find((m) => path.startsWith(m.mountPath.replace(/\/?$/, '/')));
  if (!mount) throw new Error(`${path} is on no mounted volume`);
  const volume = (pod.volumes as Manifest[]).find((v) => v.name === mount.name);
  return { mount, volume };
}

describe('deploy/kubernetes: the Indexed Job example', () => {
  let all: Manifest[];
  let job: Manifest;
  let pod: Manifest;
  let container: Manifest;
  let config: Record<string, unknown>;
  let configMap: Manifest;

  beforeAll(async () => {
    all = await manifests();
    job = find(all, 'Job', 'avatar-import');
    pod = job.spec.template.spec;
    container = pod.containers[0];
    const jobConfig = mountOf(pod, container, '/etc/avatar-import/job/job.yaml');
    configMap = find(all, 'ConfigMap', jobConfig.volume.configMap.name);
    config = parse(configMap.data['job.yaml']);
  });

  test('one pod per shard: completionMode Indexed, completions = parallelism = the --shards the pods are told', () => {
    expect(job.spec.completionMode).toBe('Indexed');
    const n = job.spec.completions;
    expect(n).toBeGreaterThan(1);
    expect(job.spec.parallelism).toBe(n);
    expect(argAfter(container.args, '--shard')).toBe('auto');
    expect(Number(argAfter(container.args, '--shards'))).toBe(n);
    const completions = (container.env ?? []).find((e: Manifest) => e.name === 'JOB_COMPLETIONS');
    if (completions) expect(Number(completions.value)).toBe(n);
    expect(pod.restartPolicy).toBe('Never');
  });

  test('the settings file is one the import accepts: every key known, no secret in it', () => {
    const file = parseConfig(configMap.data['job.yaml'], '/etc/avatar-import/job/job.yaml');
    const settings = resolveSettings(new Map(), file);
    expect(settings.targets.map((t) => t.factory.name)).toEqual(['matrix']);
    expect(settings.targets[0]!.values.run.ledger).toBe('/data/state/people.ledger.jsonl');
    expect(settings.input.csv).toBe('/etc/avatar-import/job/people.csv');
  });

  test('the CSV and the settings come from a ConfigMap, mounted read-only', () => {
    expect(argAfter(container.args, '--config')).toBe('/etc/avatar-import/job/job.yaml');
    const csv = String(config.csv);
    const { mount, volume } = mountOf(pod, container, csv);
    expect(volume.configMap.name).toBe(configMap.metadata.name);
    expect(mount.readOnly).toBe(true);
    expect(Object.keys(configMap.data)).toContain(posix.relative(mount.mountPath, csv));
    expect(configMap.data['people.csv']).toMatch(/^user_id,image\n/);
  });

  test('secrets are files from a Secret, never environment variables (kubectl describe prints those)', () => {
    for (const m of all.filter((x) => x.kind === 'Job')) {
      for (const c of [...m.spec.template.spec.containers, ...(m.spec.template.spec.initContainers ?? [])]) {
        for (const e of c.env ?? []) expect(e.valueFrom?.secretKeyRef).toBeUndefined();
        for (const e of c.envFrom ?? []) expect(e.secretRef).toBeUndefined();
      }
    }
    const tokenFile = String(config['token-file']);
    const { mount, volume } = mountOf(pod, container, tokenFile);
    expect(mount.readOnly).toBe(true);
    const secret = find(all, 'Secret', volume.secret.secretName);
    expect(Object.keys(secret.stringData ?? secret.data)).toContain(posix.relative(mount.mountPath, tokenFile));
    // Files are root-owned with the pod's fsGroup: group-readable, nothing for others.
    expect(volume.secret.defaultMode).toBe(0o440);
    expect(pod.securityContext.fsGroup).toBe(pod.securityContext.runAsGroup);
    // The settings file holds no secret, only where to read one.
    expect(JSON.stringify(config)).not.toMatch(/REPLACE-WITH|syt_|"token"\s*:/);
  });

  /** Where a pod's ledger goes: the config's ledger, with the shard in its name. */
  function ledgerOf(shard?: { index: number; count: number }): string {
    const ledger = String(config.ledger);
    return shard ? shardLedgerPath(ledger, shard) : ledger;
  }

  test('ledgers live on one shared volume, each shard in its own file', () => {
    const n = job.spec.completions;
    const shardFiles = Array.from({ length: n }, (_, k) => ledgerOf({ index: k + 1, count: n }));
    expect(new Set(shardFiles).size).toBe(n);
    const claims = new Set(shardFiles.map((file) => mountOf(pod, container, file).volume.persistentVolumeClaim.claimName));
    expect(claims.size).toBe(1);
    const claim = find(all, 'PersistentVolumeClaim', [...claims][0]);
    // Pods of one Job run on different nodes.
    expect(claim.spec.accessModes).toContain('ReadWriteMany');
  });

  test('a final merge Job combines exactly those shard ledgers into the unsharded ledger, on the same volume', () => {
    const merge = find(all, 'Job', 'avatar-import-merge');
    const spec = merge.spec.template.spec;
    const c = spec.containers[0];
    const command = [...(c.command ?? []), ...(c.args ?? [])].join(' ');
    const match = /avatar-import ledger merge (\S+) (\S+)$/.exec(command);
    expect(match).not.toBeNull();
    const [, out, inputs] = match!;
    expect(out).toBe(ledgerOf());
    const n = job.spec.completions;
    const glob = new RegExp('^' + inputs!.replace(/[.]/g, '\\.').replace(/\*/g, '[^/]*') + '$');
    for (let k = 1; k <= n; k++) expect(ledgerOf({ index: k, count: n })).toMatch(glob);
    expect(ledgerOf({ index: 1, count: n + 1 })).not.toMatch(glob);
    expect(ledgerOf()).not.toMatch(glob);
    const volume = spec.volumes.find((v: Manifest) => v.name === mountOf(spec, c, out!).mount.name);
    expect(volume.persistentVolumeClaim.claimName).toBe(mountOf(pod, container, out!).volume.persistentVolumeClaim.claimName);
    // Kept out of the folder `kubectl apply -f deploy/kubernetes/` applies, so it cannot start early.
    expect(merge.file).toMatch(/^merge\//);
  });

  test('every pod runs as a non-root user without privilege escalation', () => {
    for (const m of all.filter((x) => x.kind === 'Job')) {
      expect(m.spec.template.spec.securityContext.runAsNonRoot).toBe(true);
      for (const c of m.spec.template.spec.containers) expect(c.securityContext.allowPrivilegeEscalation).toBe(false);
    }
  });

  test('kubectl apply --dry-run=client accepts the manifests (when kubectl and a cluster to ask are there)', async () => {
    let result: { code: number; output: string };
    try {
      const { stdout, stderr } = await promisify(execFile)('kubectl', ['apply', '--dry-run=client', '-R', '-f', DEPLOY], { timeout: 30_000 });
      result = { code: 0, output: stdout + stderr };
    } catch (error) {
      const failure = error as NodeJS.ErrnoException & { code?: number | string; stdout?: string; stderr?: string };
      if (failure.code === 'ENOENT') return; // no kubectl here: the structural checks above stand alone
      result = { code: Number(failure.code ?? 1), output: `${failure.stdout ?? ''}${failure.stderr ?? ''}` };
    }
    // kubectl needs an API server for its schema even on a client dry run: none reachable, nothing to check.
    if (/connection refused|Unable to connect to the server|failed to download openapi|no configuration has been provided|dial tcp/.test(result.output)) return;
    expect(result.output).toMatch(/created \(dry run\)|configured \(dry run\)/);
    expect(result.code).toBe(0);
  });
});

describe('Dockerfile', () => {
  let stages: { from: string; lines: string[] }[];

  beforeAll(async () => {
    const text = (await readFile(join(ROOT, 'Dockerfile'), 'utf8')).replace(/\\\n/g, ' ');
    stages = [];
    for (const raw of text.split('\n')) {
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) continue;
      if (/^FROM\s/i.test(line)) stages.push({ from: line, lines: [] });
      else stages.at(-1)!.lines.push(line);
    }
  });

  test('every stage is node:20-slim, pinned by major version', () => {
    expect(stages.length).toBeGreaterThan(0);
    for (const stage of stages) expect(stage.from).toMatch(/^FROM\s+node:20-slim(@sha256:[0-9a-f]{64})?(\s+AS\s+\w+)?$/i);
  });

  test('the image installs production dependencies only, and builds dist/ in a separate stage', () => {
    const runtime = stages.at(-1)!;
    expect(runtime.lines.some((l) => /^RUN\s.*\bnpm ci --omit=dev\b/.test(l))).toBe(true);
    expect(runtime.lines.some((l) => /^COPY\s+--from=\w+\s+\S*dist\S*\s/.test(l))).toBe(true);
    // `npm ci` runs `prepare` (tsc): the runtime stage must not, since tsc is a dev dependency.
    expect(runtime.lines.join('\n')).toMatch(/npm pkg delete scripts\.prepare|--ignore-scripts/);
  });

  test('everything the built CLI imports is a production dependency, so --omit=dev is enough', async () => {
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    const imported = new Set<string>();
    const walk = async (dir: string): Promise<void> => {
      for (const entry of await readdir(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) await walk(path);
        else if (entry.name.endsWith('.js')) {
          for (const [, spec] of (await readFile(path, 'utf8')).matchAll(/(?:from|import\()\s*'([^'.][^']*)'/g)) {
            if (!spec!.startsWith('node:')) imported.add(spec!.startsWith('@') ? spec!.split('/').slice(0, 2).join('/') : spec!.split('/')[0]!);
          }
        }
      }
    };
    await walk(join(ROOT, 'dist')); // npm test builds first
    expect(imported.size).toBeGreaterThan(0);
    for (const name of imported) expect({ name, production: name in pkg.dependencies }).toEqual({ name, production: true });
  });

  test('it runs as a non-root user', () => {
    const users = stages.at(-1)!.lines.filter((l) => /^USER\s/i.test(l));
    expect(users.length).toBeGreaterThan(0);
    expect(users.at(-1)).not.toMatch(/^USER\s+(root|0)(:|$)/i);
  });
});
