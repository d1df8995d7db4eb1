/** `kvprism policies [--json] [--name NAME]`: the policy catalogue with options, defaults and docs. */
import type { CommandModule } from 'yargs';
import { z } from 'zod';
import { policies } from '../../policies/catalog.js';
import type { PaperRef, PolicyDefinition, PolicyKind } from '../../policies/registry.js';
import { policyTraits, type PolicyTraits } from '../../policies/traits.js';

export interface PolicyOptionInfo {
  name: string;
  /** JSON-schema type, enum values or constraints in short form (e.g. "integer ≥ 1", "avg | max"). */
  type: string;
  default: unknown;
  description: string;
}

export interface PolicyInfo {
  name: string;
  title: string;
  kind: PolicyKind;
  paper?: PaperRef;
  summary: string;
  /** Query-agnostic, attention-free, second pass, calibration data (src/policies/traits.ts). */
  traits: PolicyTraits;
  options: PolicyOptionInfo[];
}

type JsonProp = { type?: string; enum?: unknown[]; minimum?: number; maximum?: number; exclusiveMinimum?: number; default?: unknown; description?: string };

function typeOf(p: JsonProp): string {
  if (p.enum) return p.enum.map(String).join(' | ');
  const finite = (x: number | undefined): x is number => x !== undefined && Math.abs(x) < Number.MAX_SAFE_INTEGER;
  const bounds = [
    finite(p.minimum) ? `≥ ${p.minimum}` : finite(p.exclusiveMinimum) ? `> ${p.exclusiveMinimum}` : '',
    finite(p.maximum) ? `≤ ${p.maximum}` : '',
  ].filter(Boolean);
  return [p.type ?? 'any', ...bounds].join(' ');
}

/** Machine-readable description of policy definitions (what `--json` prints). */
export function describePolicies(defs: readonly PolicyDefinition[]): PolicyInfo[] {
  return defs.map((d) => {
    const schema = z.toJSONSchema(d.options, { io: 'input', unrepresentable: 'any' }) as { properties?: Record<string, JsonProp> };
    const options = Object.entries(schema.properties ?? {}).map(([name, p]) => ({ name, type: typeOf(p), default: p.default, description: p.description ?? '' }));
    return { name: d.name, title: d.title, kind: d.kind, ...(d.paper ? { paper: d.paper } : {}), summary: d.summary, traits: policyTraits(d), options };
  });
}

const TRAIT_TAGS: [keyof PolicyTraits, string][] = [
  ['queryAgnostic', 'query-agnostic'],
  ['attentionFree', 'attention-free'],
  ['secondPass', 'second pass'],
  ['calibration', 'calibration data'],
];

/** "  {query-agnostic, attention-free}" listing the traits that hold ('' when none). */
function traitTags(t: PolicyTraits): string {
  const on = TRAIT_TAGS.filter(([k]) => t[k]).map(([, tag]) => tag);
  return on.length > 0 ? `  {${on.join(', ')}}` : '';
}

/** Human-readable listing. */
export function formatPolicies(infos: readonly PolicyInfo[]): string {
  const lines: string[] = [];
  for (const p of infos) {
    const paper = p.paper ? ` — ${p.paper.title}${p.paper.arxiv ? ` (arXiv ${p.paper.arxiv})` : ''}${p.paper.venue ? `, ${p.paper.venue}` : ''}` : '';
    lines.push(`${p.name}  [${p.kind}]  ${p.title}${paper}${traitTags(p.traits)}`, `  ${p.summary}`);
    for (const o of p.options) lines.push(`    ${o.name} (${o.type}, default ${JSON.stringify(o.default)}): ${o.description}`);
    lines.push('');
  }
  return lines.join('\n');
}

interface PoliciesArgs {
  json: boolean;
  name?: string;
}

export const policiesCommand: CommandModule<object, PoliciesArgs> = {
  command: 'policies',
  describe: 'List the compression policies: name, kind, paper, summary and options with defaults',
  builder: (y) =>
    y
      .option('json', { type: 'boolean', default: false, describe: 'Print JSON instead of text' })
      .option('name', { type: 'string', describe: 'Only this policy (errors with the nearest name if unknown)' }),
  handler: (argv) => {
    if (argv.name !== undefined && !policies.has(argv.name)) {
      // The registry's message names the nearest policy; report it without a stack trace.
      try {
        policies.get(argv.name);
      } catch (e) {
        console.error(`kvprism policies --name: ${(e as Error).message}`);
      }
      process.exitCode = 1;
      return;
    }
    const infos = describePolicies(argv.name ? [policies.get(argv.name)] : policies.list());
    console.log(argv.json ? JSON.stringify(infos, null, 2) : formatPolicies(infos));
  },
};
