// Where a target's ledger lives when --ledger is not given. State follows the destination, never
// the input's file name: HR exports are dated (workday_2026-12-01.csv), and a ledger named after
// the CSV started empty every night, so first contact overwrote avatars users had chosen.

import { stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, extname, join, resolve } from 'node:path';

/** What the location depends on: the target's kind and identity (`Target.id`). */
export interface LedgerOwner {
  /** Registry name: `dir`, `matrix`, `zulip`, `authgear`. */
  readonly name: string;
  /** `Target.id`: `dir:/abs/out`, `matrix:https://hs` … */
  readonly id: string;
}

/** `$XDG_STATE_HOME/avatar-import`, or `~/.local/state/avatar-import` when unset or not absolute
 * (the XDG base directory spec says relative values are to be ignored). */
export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env['XDG_STATE_HOME'];
  const base = xdg && xdg.startsWith('/') ? xdg : join(env['HOME'] || homedir(), '.local', 'state');
  return join(base, 'avatar-import');
}

/**
 * The default ledger of a target: inside the output folder for `dir` (state travels with the
 * avatars), in the state folder under a name derived from the target id for a remote target
 * (`matrix-matrix.example.org.jsonl`). A shard's file name gets its own suffix on top of this one
 * (input/shard.ts shardLedgerPath), given or default.
 */
export function defaultLedgerPath(owner: LedgerOwner, env: NodeJS.ProcessEnv = process.env): string {
  if (owner.name === 'dir') {
    const out = owner.id.slice(owner.id.indexOf(':') + 1);
    return join(resolve(out), '.avatar-import', 'ledger.jsonl');
  }
  return join(stateDir(env), `${owner.name}-${ledgerStem(owner.id)}.jsonl`);
}

/**
 * A file-name-safe stem of a remote target id: the host, then the port and path when present
 * (two Synapse instances on one host must not share a ledger). `matrix:https://matrix.example.org`
 * → `matrix.example.org`; `zulip:https://chat.example.com:8443/zulip` → `chat.example.com_8443_zulip`.
 */
export function ledgerStem(id: string): string {
  const rest = id.slice(id.indexOf(':') + 1);
  let material = rest;
  try {
    const url = new URL(rest);
    material = [url.hostname, url.port, url.pathname.replace(/^\/+|\/+$/g, '')].filter(Boolean).join('_');
  } catch {
    /* not a URL: use it as it is */
  }
  const stem = material.toLowerCase().replace(/[^a-z0-9._-]+/g, '_').replace(/^[._]+|_+$/g, '');
  return stem || 'target';
}

/** Where the first wave put the ledger: `<csv name>.ledger.jsonl` beside the CSV. */
export function legacyLedgerPath(csvPath: string): string {
  return join(dirname(csvPath), `${basename(csvPath, extname(csvPath))}.ledger.jsonl`);
}

export interface ChosenLedger {
  readonly path: string;
  /** Set when an old-style ledger beside the CSV is used because the new place is empty: a line
   * for the operator saying how to move it. */
  readonly notice?: string;
}

/**
 * The ledger to use: `--ledger` when given; otherwise the default place, unless that is empty and
 * an old-style `<csv>.ledger.jsonl` exists beside the CSV, which is then used (so upgrading does
 * not start from an empty history) with a notice on how to move it.
 */
export async function chooseLedger(options: {
  readonly owner: LedgerOwner;
  readonly explicit?: string;
  readonly csvPath?: string;
  readonly env?: NodeJS.ProcessEnv;
}): Promise<ChosenLedger> {
  if (options.explicit) return { path: resolve(options.explicit) };
  const path = defaultLedgerPath(options.owner, options.env);
  if (!options.csvPath || (await nonEmpty(path))) return { path };
  const legacy = legacyLedgerPath(options.csvPath);
  if (!(await nonEmpty(legacy))) return { path };
  return {
    path: legacy,
    notice: `using the ledger beside the CSV, ${legacy}, because ${path} is empty; move it there so a renamed export finds it: mkdir -p '${dirname(path)}' && mv '${legacy}' '${path}'`,
  };
}

async function nonEmpty(path: string): Promise<boolean> {
  const info = await stat(path).catch(() => undefined);
  return info !== undefined && info.isFile() && info.size > 0;
}
