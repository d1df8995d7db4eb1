/** Python's and PyTorch's rounding, where the reference processors depend on it. */

/** Python 3 `round(x)`: halves go to the even neighbour (round(2.5) = 2, round(3.5) = 4). */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** `round(x / factor) * factor` with Python's rounding. */
export function roundByFactor(x: number, factor: number): number {
  return roundHalfEven(x / factor) * factor;
}

export function ceilByFactor(x: number, factor: number): number {
  return Math.ceil(x / factor) * factor;
}

export function floorByFactor(x: number, factor: number): number {
  return Math.floor(x / factor) * factor;
}

/** `torch.linspace(start, end, steps)` in float32, as the CPU kernel computes it (from both ends). */
export function linspaceF32(start: number, end: number, steps: number): Float32Array {
  const out = new Float32Array(steps);
  if (steps === 1) {
    out[0] = start;
    return out;
  }
  const step = Math.fround((end - start) / (steps - 1));
  const half = Math.floor(steps / 2);
  for (let i = 0; i < steps; i++) {
    out[i] = i < half ? Math.fround(start + Math.fround(step * i)) : Math.fround(end - Math.fround(step * (steps - i - 1)));
  }
  return out;
}
