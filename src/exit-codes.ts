/** Exit codes: the contract scripts and schedulers rely on. With several targets, the worst wins. */
export const EXIT = { ok: 0, someFailed: 1, usage: 2, fatal: 3, interrupted: 130 } as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

const SEVERITY: readonly ExitCode[] = [EXIT.ok, EXIT.someFailed, EXIT.interrupted, EXIT.fatal, EXIT.usage];

/** The worst of several outcomes (per-target exit codes of one run). */
export function worst(codes: readonly ExitCode[]): ExitCode {
  return codes.reduce<ExitCode>((a, b) => (SEVERITY.indexOf(b) > SEVERITY.indexOf(a) ? b : a), EXIT.ok);
}
