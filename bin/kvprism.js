#!/usr/bin/env node
// The CLI runs straight from the TypeScript sources through tsx, so a checkout never runs a
// stale build.
import { register } from 'tsx/esm/api';
register();
await import('../src/cli/main.ts');
