/**
 * Loading a config: YAML file → `extends:` chain (deep merge, lists replaced) → `--set a.b=v`
 * overrides → zod validation with readable errors. Relative paths in a base file are
 * rewritten relative to the extending file, so the merged config speaks relative to the file
 * that was run (trial ids hash these strings, so they do not depend on the working directory).
 */
import { isBundledModel } from './bundled-models.js';
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import YAML from 'yaml';
import { ConfigError } from '../util/config-error.js';
import { formatIssues, keyPath } from './config-errors.js';
import { experimentConfigSchema, type ExperimentConfig } from './config-schema.js';

export interface LoadedConfig {
  config: ExperimentConfig;
  /** The config file that was run (absolute). */
  file: string;
  /** Directory that relative paths in `config` are relative to. */
  baseDir: string;
}

type Tree = Record<string, unknown>;

export function loadConfig(file: string, overrides: readonly string[] = []): LoadedConfig {
  const abs = resolve(file);
  const raw = readTree(abs, []);
  for (const o of overrides) applyOverride(raw, o, abs);
  return { config: validateConfig(raw, abs), file: abs, baseDir: dirname(abs) };
}

/** Validates a merged raw tree; throws ConfigError naming every bad key. */
export function validateConfig(raw: unknown, file: string): ExperimentConfig {
  const parsed = experimentConfigSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(file, formatIssues(experimentConfigSchema, raw, parsed.error.issues));
  return parsed.data;
}

function readTree(file: string, chain: string[]): Tree {
  if (chain.includes(file)) throw new ConfigError(file, [`extends: cycle ${[...chain, file].join(' → ')}`]);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const from = chain.at(-1);
    throw new ConfigError(from ?? file, [`${from ? 'extends: ' : ''}cannot read "${file}" (${(e as NodeJS.ErrnoException).code ?? e})`]);
  }
  let doc: unknown;
  try {
    doc = YAML.parse(text);
  } catch (e) {
    throw new ConfigError(file, [`not valid YAML: ${(e as Error).message}`]);
  }
  const loop = selfReference(doc);
  if (loop !== null) {
    throw new ConfigError(file, [`${keyPath(loop)}: contains itself through a YAML alias (*name of an enclosing &name); expected a finite value — copy the values instead of aliasing an enclosing anchor`]);
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new ConfigError(file, [`(top level): expected a mapping of keys (model, dataset, policies, ...); got ${Array.isArray(doc) ? 'a list' : typeof doc}`]);
  }
  const tree = doc as Tree;
  if (tree.extends === undefined) return tree;
  if (typeof tree.extends !== 'string') throw new ConfigError(file, [`extends: expected a file path string; got ${JSON.stringify(tree.extends)}`]);
  const baseFile = resolve(dirname(file), tree.extends);
  const base = readTree(baseFile, [...chain, file]);
  rebasePaths(base, dirname(baseFile), dirname(file));
  const { extends: _drop, ...own } = tree;
  delete base.extends;
  return deepMerge(base, own);
}

/** Path of the first value that contains itself (a YAML alias to an enclosing anchor), or null. */
export function selfReference(root: unknown): PropertyKey[] | null {
  const open = new Set<object>();
  const walk = (v: unknown, path: PropertyKey[]): PropertyKey[] | null => {
    if (v === null || typeof v !== 'object') return null;
    if (open.has(v)) return path;
    open.add(v);
    const entries: [PropertyKey, unknown][] = Array.isArray(v) ? v.map((x, i) => [i, x]) : Object.entries(v);
    for (const [k, x] of entries) {
      const found = walk(x, [...path, k]);
      if (found) return found;
    }
    open.delete(v);
    return null;
  };
  return walk(root, []);
}

/** Rewrites the path-valued keys of a base config so they stay right from the extending file. */
function rebasePaths(tree: Tree, fromDir: string, toDir: string): void {
  const fix = (p: unknown): unknown => (typeof p === 'string' && !isAbsolute(p) ? relative(toDir, resolve(fromDir, p)) || '.' : p);
  if ('model' in tree && !(typeof tree.model === 'string' && isBundledModel(tree.model))) tree.model = fix(tree.model);
  const ds = tree.dataset as Tree | undefined;
  if (ds && typeof ds === 'object' && 'path' in ds) ds.path = fix(ds.path);
}

/** Objects merge key by key; lists and scalars of `over` replace those of `base`. */
export function deepMerge(base: Tree, over: Tree): Tree {
  const out: Tree = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = isPlainObject(b) && isPlainObject(v) ? deepMerge(b, v) : v;
  }
  return out;
}

function isPlainObject(x: unknown): x is Tree {
  return x !== null && typeof x === 'object' && !Array.isArray(x);
}

/**
 * Applies "a.b.c=value" to a raw tree. The value is read as YAML (`8`, `true`, `[0.1, 0.2]`,
 * `{every: 4}`); a numeric segment indexes a list (`policies.1.options.window=16`).
 */
export function applyOverride(tree: Tree, assignment: string, file = '--set'): void {
  const eq = assignment.indexOf('=');
  if (eq <= 0) throw new ConfigError(file, [`--set "${assignment}": expected KEY.PATH=VALUE, e.g. --set samples=8`]);
  const keys = assignment.slice(0, eq).trim().split('.');
  let value: unknown;
  try {
    value = YAML.parse(assignment.slice(eq + 1));
  } catch (e) {
    throw new ConfigError(file, [`--set ${keys.join('.')}: value is not valid YAML (${(e as Error).message})`]);
  }
  const loop = selfReference(value);
  if (loop !== null) throw new ConfigError(file, [`--set ${keys.join('.')}: the value contains itself through a YAML alias; expected a finite value`]);
  let cur: unknown = tree;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    if (k === '') throw new ConfigError(file, [`--set "${assignment}": empty key segment`]);
    const container = cur as Tree | unknown[];
    const slot: string | number = Array.isArray(container) ? Number(k) : k;
    if (Array.isArray(container) && (!Number.isInteger(slot) || (slot as number) < 0 || (slot as number) > container.length)) {
      throw new ConfigError(file, [`--set ${keys.slice(0, i + 1).join('.')}: "${k}" is not an index of a list of ${container.length}`]);
    }
    if (i === keys.length - 1) {
      (container as Record<string | number, unknown>)[slot] = value;
      return;
    }
    let next = (container as Record<string | number, unknown>)[slot];
    if (next === undefined || next === null) {
      next = {};
      (container as Record<string | number, unknown>)[slot] = next;
    } else if (typeof next !== 'object') {
      throw new ConfigError(file, [`--set ${keys.slice(0, i + 1).join('.')}: is ${JSON.stringify(next)}, not a mapping or list`]);
    }
    cur = next;
  }
}
