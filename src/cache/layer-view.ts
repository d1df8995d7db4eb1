/**
 * The read-only LayerView a policy plans over. Keys and values are decoded to f32 once per
 * head on first use and cached until the cache mutates; a view used after its cache changed
 * throws (a stale view would silently describe slots that no longer exist).
 */
import type { LayerView } from './policy-api.js';
import type { TokenMeta } from './token-meta.js';

/** What a view reads from its cache (LayerCache implements it). */
export interface LayerViewSource {
  readonly layer: number;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly groupSize: number;
  /** Bumped by every mutation. */
  readonly version: number;
  length(h: number): number;
  /** [len][headDim] f32 of head h; may alias storage (f32) or be a fresh decode (16-bit). */
  decodeHead(which: 'keys' | 'values', h: number): Float32Array;
  /** Subarray views of head h's metadata, length len. */
  headMeta(h: number): TokenMeta;
  /** Head h's accumulated cumulative attention [len], undefined if never accumulated. */
  headCumulative(h: number): Float32Array | undefined;
  /** Kept key channels of head h when the layer's keys are pruned (ThinK). */
  keyChannels?(h: number): Int32Array | undefined;
  /** How many of head h's slots are on the DRAM–flash tier's file (by age its oldest). */
  coldSlots?(h: number): number;
}

export class LayerCacheView implements LayerView {
  private readonly version: number;
  private readonly keyCache: (Float32Array | undefined)[];
  private readonly valueCache: (Float32Array | undefined)[];

  constructor(private readonly src: LayerViewSource) {
    this.version = src.version;
    this.keyCache = new Array(src.kvHeads);
    this.valueCache = new Array(src.kvHeads);
  }

  get layer(): number {
    return this.src.layer;
  }
  get kvHeads(): number {
    return this.src.kvHeads;
  }
  get headDim(): number {
    return this.src.headDim;
  }
  get groupSize(): number {
    return this.src.groupSize;
  }

  /** Whether the cache is unchanged since this view was made. */
  get fresh(): boolean {
    return this.src.version === this.version;
  }

  length(h: number): number {
    this.check(h);
    return this.src.length(h);
  }

  keys(h: number): Float32Array {
    this.check(h);
    return (this.keyCache[h] ??= this.src.decodeHead('keys', h));
  }

  values(h: number): Float32Array {
    this.check(h);
    return (this.valueCache[h] ??= this.src.decodeHead('values', h));
  }

  meta(h: number): TokenMeta {
    this.check(h);
    return this.src.headMeta(h);
  }

  accumulated(h: number): { cumulative?: Float32Array } {
    this.check(h);
    const c = this.src.headCumulative(h);
    return c ? { cumulative: c } : {};
  }

  keyChannels(h: number): Int32Array | undefined {
    this.check(h);
    return this.src.keyChannels?.(h);
  }

  coldSlots(h: number): number {
    this.check(h);
    return this.src.coldSlots?.(h) ?? 0;
  }

  private check(h: number): void {
    if (!this.fresh) {
      throw new Error(`LayerView of layer ${this.src.layer} is stale: the cache changed since view() was called; call view() again`);
    }
    if (!Number.isInteger(h) || h < 0 || h >= this.src.kvHeads) {
      throw new RangeError(`LayerView of layer ${this.src.layer}: kv head ${h} is outside [0, ${this.src.kvHeads})`);
    }
  }
}
