/**
 * Sharding: `--shard i/n` (0 ≤ i < n) keeps the trials whose expansion index ≡ i (mod n).
 * Round-robin over the expansion order balances policies and budgets across shards, and is
 * deterministic for a given config, so n independent jobs cover every trial exactly once.
 */
export interface Shard {
  index: number;
  count: number;
}

export function parseShard(s: string): Shard {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(s);
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || count < 1 || index >= count) {
    throw new Error(`--shard: "${s}" is not a shard; expected I/N with 0 ≤ I < N, e.g. 0/4 (Slurm: $SLURM_ARRAY_TASK_ID/N, Kubernetes: $JOB_COMPLETION_INDEX/N)`);
  }
  return { index, count };
}

export function selectShard<T extends { index: number }>(items: readonly T[], shard: Shard | undefined): T[] {
  if (!shard || shard.count === 1) return [...items];
  return items.filter((t) => t.index % shard.count === shard.index);
}
