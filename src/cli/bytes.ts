import { UsageError } from '../errors.js';

// "500k", "5MiB", "1.5M", "2000000": k/M/G and KiB/MiB/GiB are binary (what people mean for file
// sizes), KB/MB/GB with a capital B are decimal, a bare number is bytes.
const UNITS: Record<string, number> = {
  '': 1, b: 1,
  k: 1024, kib: 1024, kb: 1000,
  m: 1024 ** 2, mib: 1024 ** 2, mb: 1000 ** 2,
  g: 1024 ** 3, gib: 1024 ** 3, gb: 1000 ** 3,
};

export function parseBytes(option: string, value: unknown): number {
  const text = String(value).trim();
  const match = /^(\d+(?:\.\d+)?)\s*([a-zA-Z]*)$/.exec(text);
  const raw = match?.[2] ?? '';
  // "KB"/"MB" are decimal only when written with a capital B; "kb" is read as the binary k.
  const unit = /^[KMG]B$/.test(raw) || /^[kmg]B$/.test(raw) ? raw.toLowerCase() : raw.toLowerCase().replace(/^([kmg])b$/, '$1');
  const factor = UNITS[unit];
  if (!match || factor === undefined) {
    throw new UsageError(`--${option} expects a size such as 1048576, 500k, 5MiB or 2MB, got "${text}"`);
  }
  const bytes = Math.floor(Number(match[1]) * factor);
  if (bytes < 1) throw new UsageError(`--${option} must be at least 1 byte, got "${text}"`);
  return bytes;
}
