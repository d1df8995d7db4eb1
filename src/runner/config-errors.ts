/**
 * Config errors that a person can act on: each names the file, the key path, the bad value
 * and the expected form (the schema's own description), and suggests the nearest known key
 * or policy name for a typo.
 */
import type { z } from 'zod';
import { nearestName } from '../policies/registry.js';


/** "policies[2].options.window" from a zod path. */
export function keyPath(path: readonly PropertyKey[]): string {
  let s = '';
  for (const p of path) s += typeof p === 'number' ? `[${p}]` : s === '' ? String(p) : `.${String(p)}`;
  return s || '(top level)';
}

/** The value at a path of a plain object tree (undefined when absent). */
export function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = root;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[p];
  }
  return cur;
}

export function showValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  const s = JSON.stringify(v);
  const short = s.length > 60 ? `${s.slice(0, 57)}...` : s;
  return `${short} (${Array.isArray(v) ? 'list' : v === null ? 'null' : typeof v})`;
}

/** Description of the sub-schema at a path, walking objects, arrays, optionals and defaults. */
export function describeAt(schema: z.ZodType, path: readonly PropertyKey[]): string | undefined {
  let cur: z.ZodType | undefined = schema;
  let desc = cur.description;
  for (const p of path) {
    cur = cur && childSchema(cur, p);
    if (!cur) return desc;
    desc = cur.description ?? desc;
  }
  return cur?.description ?? desc;
}

function childSchema(s: z.ZodType, key: PropertyKey): z.ZodType | undefined {
  // zod 4 keeps the structure in `_zod.def`; unwrap wrappers until an object or array.
  let cur = s as unknown as { _zod: { def: Record<string, unknown> }; description?: string };
  for (let i = 0; i < 8; i++) {
    const def = cur._zod.def;
    if (def.type === 'object') return (def.shape as Record<string, z.ZodType>)[String(key)];
    if (def.type === 'array') return def.element as z.ZodType;
    if (def.type === 'record') return def.valueType as z.ZodType;
    if (def.type === 'union') {
      for (const o of def.options as z.ZodType[]) {
        const c = childSchema(o, key);
        if (c) return c;
      }
      return undefined;
    }
    const inner = (def.innerType ?? def.in) as typeof cur | undefined;
    if (!inner) return undefined;
    cur = inner;
  }
  return undefined;
}

/** One readable line per zod issue. */
export function formatIssues(
  schema: z.ZodType,
  raw: unknown,
  issues: readonly z.core.$ZodIssue[],
  prefix: readonly PropertyKey[] = [],
): string[] {
  return issues.flatMap((issue) => {
    const path = [...prefix, ...issue.path];
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      // Report the branch that got furthest (a typo inside an object entry, not "expected string").
      const branch = [...issue.errors].sort((a, b) => depth(b) - depth(a))[0]!;
      if (depth(branch) > 0) return formatIssues(schema, raw, branch, path);
    }
    if (issue.code === 'unrecognized_keys') {
      const known = knownKeys(schema, path);
      return issue.keys
        .map((k) => {
          const near = nearestName(k, known);
          const where = keyPath([...path, k]);
          return `${where}: unknown key${near ? `; did you mean "${near}"?` : ''} (allowed here: ${known.join(', ')})`;
        })
        .join('; ');
    }
    const value = valueAt(raw, path);
    const expected = describeAt(schema, path);
    const what = issue.message.replace(/^Invalid (input|option): /, '').replace(/, received \w+$/, '');
    return `${keyPath(path)}: ${what}; got ${showValue(value)}${expected ? ` — ${expected}` : ''}`;
  });
}

/** How deep into the value a branch's issues reach (0 = it rejected the value's type). */
function depth(issues: readonly z.core.$ZodIssue[]): number {
  return Math.max(...issues.map((i) => (i.code === 'invalid_type' && i.path.length === 0 ? 0 : i.path.length + 1)));
}

function knownKeys(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let cur: z.ZodType | undefined = schema;
  for (const p of path) cur = cur && childSchema(cur, p);
  return cur ? objectKeys(cur as unknown as ZodNode) : [];
}

type ZodNode = { _zod: { def: Record<string, unknown> } };

/** Keys of the object schema inside wrappers (optional, default) or a union's object branch. */
function objectKeys(node: ZodNode): string[] {
  for (let i = 0; i < 8; i++) {
    const def = node._zod.def;
    if (def.type === 'object') return Object.keys(def.shape as Record<string, unknown>);
    if (def.type === 'union') return [...new Set((def.options as ZodNode[]).flatMap(objectKeys))];
    const inner = (def.innerType ?? def.in) as ZodNode | undefined;
    if (!inner) return [];
    node = inner;
  }
  return [];
}
