/** The merging policies of the catalogue. */
import type { PolicyDefinition } from '../registry.js';
import { cam } from './cam.js';
import { d2o } from './d2o.js';
import { flowMM } from './flowmm.js';
import { kvMerger } from './kvmerger.js';
import { lookM } from './look-m.js';
import { meda } from './meda.js';

export const MERGING_POLICIES: PolicyDefinition[] = [lookM, cam, d2o, kvMerger, meda, flowMM];
