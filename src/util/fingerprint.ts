// 64-bit string fingerprints for the compact tables, in pure JS and without encoding strings to
// bytes: two 32-bit hashes over UTF-16 code units, from unrelated families (murmur3's block mix and
// FNV-1a) so a collision in one says nothing about the other; murmur3's finaliser gives both
// well-spread low bits, which the tables use as the home slot.
//
// Odds: n keys collide somewhere with probability about n² / 2^65 — 2.7e-8 for a million keys.

// Bound once: inside a vm context (jest) every `Math.imul` in the loop is a slow global lookup.
const imul = Math.imul;

const MURMUR_SEED = 0x9747b28c;
const MURMUR_C1 = 0xcc9e2d51;
const MURMUR_C2 = 0x1b873593;
const FNV_BASIS = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/**
 * Writes the fingerprint of the pair (`first`, `second`) into `out[0]` (murmur lane, also the
 * home slot) and `out[1]` (FNV lane). The length of `first` is hashed before the characters, so
 * ("ab", "c") and ("a", "bc") differ; pass one string for a plain key.
 */
export function fingerprint(out: Uint32Array, first: string, second = ''): void {
  const split = first.length;
  const total = split + second.length;
  let a = MURMUR_SEED;
  let b = FNV_BASIS;
  // `i === -1` feeds the split point through the same mixing as a character.
  for (let i = -1; i < total; i++) {
    const unit = i < 0 ? split : i < split ? first.charCodeAt(i) : second.charCodeAt(i - split);
    let k = imul(unit, MURMUR_C1);
    k = (k << 15) | (k >>> 17);
    a ^= imul(k, MURMUR_C2);
    a = (a << 13) | (a >>> 19);
    a = (imul(a, 5) + 0xe6546b64) | 0;
    b = imul(b ^ unit, FNV_PRIME);
  }
  out[0] = finalise(a ^ total);
  out[1] = finalise(b ^ total);
}

/** murmur3's fmix32: every input bit affects every output bit. */
function finalise(h: number): number {
  h ^= h >>> 16;
  h = imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
