/**
 * What the policies that wrap another catalogue policy (key-rerotation, think) share: checking
 * the wrapped `{ policy, options }` in the schema, and binding an instance that adds the
 * wrapper's own fields while layer allocation, retention and a second pass pass through and
 * clones stay wrapped.
 */
import type { z } from 'zod';
import type { PolicyInstance } from '../../cache/policy-api.js';
import { parsePolicyOptions, type PolicyDefinition } from '../registry.js';

/** A zod superRefine: the wrapped policy exists (`inner` throws naming why not) and its options parse. */
export function refineWrapped(inner: (name: string) => PolicyDefinition) {
  return (o: { policy: string; options: Record<string, unknown> }, ctx: z.RefinementCtx): void => {
    let def: PolicyDefinition;
    try {
      def = inner(o.policy);
    } catch (e) {
      ctx.addIssue({ code: 'custom', path: ['policy'], message: (e as Error).message });
      return;
    }
    try {
      parsePolicyOptions(def, o.options);
    } catch (e) {
      ctx.addIssue({ code: 'custom', path: ['options'], message: (e as Error).message });
    }
  };
}

/** `inner` wrapped: `own(p)` gives the wrapper's name, needs, plan and extra fields over p. */
export function wrapInstance(inner: PolicyInstance, own: (p: PolicyInstance) => Pick<PolicyInstance, 'name' | 'needs' | 'plan'> & Partial<PolicyInstance>): PolicyInstance {
  const wrap = (p: PolicyInstance): PolicyInstance => {
    const out: PolicyInstance = {
      ...(p.allocateLayers ? { allocateLayers: (a) => p.allocateLayers!(a) } : {}),
      ...(p.retention ? { retention: p.retention } : {}),
      ...(p.secondPass ? { secondPass: p.secondPass } : {}),
      ...own(p),
    };
    const innerClone = p.clone;
    return innerClone ? { ...out, clone: () => wrap(innerClone.call(p)) } : out;
  };
  return wrap(inner);
}
