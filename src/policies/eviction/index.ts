/** The eviction policies of the catalogue. */
import type { PolicyDefinition } from '../registry.js';
import { adaKV } from './adakv.js';
import { chunkKV } from './chunkkv.js';
import { criticalKV } from './criticalkv.js';
import { expectedAttention } from './expected-attention.js';
import { fastV } from './fastv.js';
import { h2o } from './h2o.js';
import { keyDiff } from './keydiff.js';
import { knorm } from './knorm.js';
import { lagKV } from './lagkv.js';
import { madaKV } from './madakv.js';
import { mixKV } from './mixkv.js';
import { pyramidKV } from './pyramidkv.js';
import { randomEviction } from './random.js';
import { snapKV } from './snapkv.js';
import { streamingLLM } from './streaming-llm.js';
import { tova } from './tova.js';
import { kvzip } from './kvzip.js';

export const EVICTION_POLICIES: PolicyDefinition[] = [
  streamingLLM,
  h2o,
  snapKV,
  pyramidKV,
  tova,
  adaKV,
  knorm,
  randomEviction,
  fastV,
  mixKV,
  keyDiff,
  lagKV,
  chunkKV,
  criticalKV,
  expectedAttention,
  madaKV,
  kvzip,
];
