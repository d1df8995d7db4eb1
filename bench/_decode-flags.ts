/**
 * The decode bench's flags, parsed and checked in one place (bench/decode.ts documents them).
 * Every bad value is refused before any model is written or case run, with the flag, what it
 * got and the form it expects.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { STORAGE_KINDS, type StorageKind } from '../src/cache/storage-spec.js';
import { PRESETS, type PresetName } from '../src/model/presets.js';
import { BACKENDS, type BackendChoice } from '../src/runner/config-schema.js';
import type { LlamaCppKv } from './_llama-cpp.js';

export type WeightDType = 'f32' | 'bf16';
export type DecodePolicy = 'full' | 'snapkv';
/** A row kind `--cases` may name: our full cache, our SnapKV budget, llama.cpp's full cache. */
export type DecodeCaseName = DecodePolicy | 'llama.cpp';
export const DECODE_CASES: readonly DecodeCaseName[] = ['full', 'snapkv', 'llama.cpp'];
export type PrefillMode = 'shared' | 'own';

export interface DecodeFlags {
  quick: boolean;
  /** Prompt lengths in tokens. */
  contexts: number[];
  dtypes: WeightDType[];
  /** Our cache's K/V storage kinds (default G and R), one set of kvprism rows each. */
  storages: StorageKind[];
  /** Our policies to run (from --cases), in the order full, snapkv. */
  policies: DecodePolicy[];
  /** Whether --cases and --llama-cpp ask for llama.cpp's row. */
  llamaCpp: boolean;
  llamaKv: LlamaCppKv;
  /** shared: one prefill per (weights, context, storage), forked per policy; own: a prefill per row. */
  prefill: PrefillMode;
  /** Decoded tokens per row. */
  decode: number;
  /** SnapKV's budget as a fraction of the prompt. */
  budget: number;
  backend: BackendChoice;
  /** 0 = every core; 'auto' = measured per weight dtype. */
  threads: number | 'auto';
  layers: number | undefined;
  preset: PresetName;
  models: string;
}

/** The child-process payloads (JSON), when this run is one of the bench's own children. */
export interface ChildFlags {
  child?: string;
  childThreads?: string;
  childLlama?: string;
}

export function parseDecodeFlags(argv: string[]): { flags: DecodeFlags; children: ChildFlags } {
  const { values } = parseArgs({
    args: argv,
    options: {
      child: { type: 'string' },
      'child-threads': { type: 'string' },
      'child-llama': { type: 'string' },
      quick: { type: 'boolean', default: false },
      contexts: { type: 'string' },
      dtypes: { type: 'string', default: 'f32,bf16' },
      storages: { type: 'string', default: 'f32' },
      cases: { type: 'string', default: DECODE_CASES.join(',') },
      prefill: { type: 'string', default: 'shared' },
      decode: { type: 'string' },
      budget: { type: 'string', default: '0.2' },
      backend: { type: 'string', default: 'auto' },
      threads: { type: 'string', default: '0' },
      layers: { type: 'string' },
      preset: { type: 'string', default: 'smollm2-135m' },
      'llama-cpp': { type: 'string', default: 'on' },
      'llama-cpp-kv': { type: 'string', default: 'f32' },
      models: { type: 'string', default: join(tmpdir(), 'kvprism-bench') },
    },
  });
  const children: ChildFlags = { child: values.child, childThreads: values['child-threads'], childLlama: values['child-llama'] };
  const quick = values.quick;
  const contexts = listOf('--contexts', values.contexts ?? (quick ? '512' : '1024,4096,16384')).map((x) => positiveInteger('--contexts', x));
  const decode = positiveInteger('--decode', values.decode ?? (quick ? '8' : '32'));
  const layers = values.layers !== undefined ? positiveInteger('--layers', values.layers) : quick ? 2 : undefined;
  const budget = Number(values.budget);
  if (!(budget > 0 && budget <= 1)) throw new Error(`--budget: expected a fraction in (0, 1]; got ${values.budget}`);
  const dtypes = oneOf('--dtypes', listOf('--dtypes', values.dtypes), ['f32', 'bf16'] as const);
  const storages = oneOf('--storages', listOf('--storages', values.storages), STORAGE_KINDS);
  const cases = oneOf('--cases', listOf('--cases', values.cases), DECODE_CASES);
  const preset = values.preset as PresetName;
  if (!(preset in PRESETS) || PRESETS[preset].model_type !== 'llama') {
    const llamas = Object.keys(PRESETS).filter((k) => PRESETS[k as PresetName].model_type === 'llama');
    throw new Error(`--preset: "${values.preset}" is not a llama preset; expected one of ${llamas.join(', ')}`);
  }
  if (values['llama-cpp'] !== 'on' && values['llama-cpp'] !== 'off') throw new Error(`--llama-cpp: expected on or off; got ${values['llama-cpp']}`);
  const llamaKv = values['llama-cpp-kv'] as LlamaCppKv;
  if (llamaKv !== 'f32' && llamaKv !== 'f16') throw new Error(`--llama-cpp-kv: expected f32 or f16; got ${llamaKv}`);
  const prefill = values.prefill as PrefillMode;
  if (prefill !== 'shared' && prefill !== 'own') throw new Error(`--prefill: expected shared or own; got ${values.prefill}`);
  const backend = values.backend as BackendChoice;
  if (!BACKENDS.includes(backend)) throw new Error(`--backend: expected one of ${BACKENDS.join(', ')}; got ${values.backend}`);
  const threads = values.threads === 'auto' ? 'auto' : Number(values.threads);
  if (threads !== 'auto' && !(Number.isInteger(threads) && threads >= 0)) throw new Error(`--threads: expected an integer ≥ 0 (0 = every core) or auto; got ${values.threads}`);
  const flags: DecodeFlags = {
    quick,
    contexts,
    dtypes,
    storages,
    policies: (['full', 'snapkv'] as const).filter((p) => cases.includes(p)),
    llamaCpp: values['llama-cpp'] === 'on' && cases.includes('llama.cpp'),
    llamaKv,
    prefill,
    decode,
    budget,
    backend,
    threads,
    layers,
    preset,
    models: values.models,
  };
  return { flags, children };
}

/** A comma-separated list, repeats dropped; an empty list or item is an error. */
function listOf(flag: string, text: string): string[] {
  const items = text.split(',').map((s) => s.trim());
  if (items.some((s) => s === '')) throw new Error(`${flag}: expected a comma-separated list with no empty items; got "${text}"`);
  return [...new Set(items)];
}

function oneOf<T extends string>(flag: string, items: string[], allowed: readonly T[]): T[] {
  for (const s of items) if (!allowed.includes(s as T)) throw new Error(`${flag}: "${s}" is not one of ${allowed.join(', ')}`);
  return items as T[];
}

function positiveInteger(flag: string, text: string): number {
  const x = Number(text);
  if (!Number.isInteger(x) || x < 1) throw new Error(`${flag}: expected an integer ≥ 1; got ${text}`);
  return x;
}
