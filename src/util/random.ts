/**
 * Small seeded generators: deterministic, dependency-free, fast enough for policies (random
 * eviction), tests and synthetic data. Not cryptographic.
 */

/** mulberry32: uniform [0, 1) from a 32-bit seed (period 2^32). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Mixes 32-bit integers into one well-spread seed (murmur3 finaliser per word). */
export function hashSeed(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const p of parts) {
    let k = Math.imul((p | 0) ^ Math.floor(p / 4294967296), 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, 0x1b873593);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The generator a PolicyContext carries: deterministic per (seed, layer, step). */
export function policyRandom(seed: number, layer: number, step: number): () => number {
  return mulberry32(hashSeed(seed, layer, step));
}

/** Standard normal samples from a uniform generator (Box–Muller). */
export function gaussian(rand: () => number): () => number {
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const s = spare;
      spare = undefined;
      return s;
    }
    let u = 0;
    while (u <= Number.EPSILON) u = rand();
    const v = rand();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
}

/** A new Float32Array of n samples of N(0, std²) from `seed`. */
export function randomNormalArray(n: number, seed: number, std = 1): Float32Array {
  const g = gaussian(mulberry32(seed));
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = g() * std;
  return out;
}

/** Uniform integer in [lo, hi] (inclusive). */
export function randomInt(rand: () => number, lo: number, hi: number): number {
  return lo + Math.floor(rand() * (hi - lo + 1));
}
