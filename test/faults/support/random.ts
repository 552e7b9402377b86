/**
 * Seeded pseudo-random numbers for fault trials: the same seed gives the same kill moments, so a failing
 * trial printed with its seed can be run again.
 */

/** mulberry32: small, fast, and good enough to spread kill moments; not for anything secret. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `count` fractions uniform in [0, 1) from `seed`. */
export function seededFractions(seed: number, count: number): number[] {
  const next = mulberry32(seed);
  return Array.from({ length: count }, () => next());
}
