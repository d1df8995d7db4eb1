/**
 * The DRAM–flash tier's scratch file at its edges: a directory that does not exist or is not a
 * directory, and a full file (maxBytes reached: the injected ENOSPC at the native boundary) give
 * errors naming the option, the directory and the cause — no crash, and the session that hit
 * the full disk still answers with the slots it held. The file never shows in its directory,
 * not while the process runs nor after it is killed (unlinked at open).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { loadAddon } from '../../src/attention/native/addon.js';
import { tsBackend } from '../../src/attention/ts-backend.js';
import { CacheSession } from '../../src/cache/cache-session.js';
import { textMeta } from '../../src/cache/token-meta.js';
import { randomKV } from './storage-fixtures.js';

const root = mkdtempSync(join(tmpdir(), 'kvprism-tier-file-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const SHAPE = { numLayers: 2, qHeads: 2, kvHeads: 1, headDim: 16 };

function session(dir: string, maxBytes?: number, by: 'age' | 'score' = 'age'): CacheSession {
  const protect = by === 'score' ? { sinks: 1, recent: 2 } : {};
  return new CacheSession({ ...SHAPE, backend: tsBackend, tier: { coldFraction: 0.5, by, ...protect, dir, maxBytes } });
}

function fill(s: CacheSession, from: number, n: number): void {
  const { k, v } = randomKV(n, SHAPE.kvHeads, SHAPE.headDim, from + 1);
  for (let l = 0; l < SHAPE.numLayers; l++) s.append(l, k, v, textMeta(n, from));
}

describe.skipIf(!loadAddon())('tier file', () => {
  it('a missing directory or a file in its place is an error naming the option and the cause', () => {
    const missing = join(root, 'no-such-dir');
    expect(() => session(missing)).toThrow(new RegExp(`CacheSession options\\.tier\\.dir = ${missing}: tier file: cannot create a file in ${missing}: No such file or directory`));
    const notDir = join(root, 'a-file');
    writeFileSync(notDir, 'x');
    expect(() => session(notDir)).toThrow(/tier\.dir = .*a-file: tier file: cannot create a file in .*: Not a directory/);
  });

  it.each(['age', 'score'] as const)('by %s: a full file is an ENOSPC error naming the directory; the session keeps what it held', (by) => {
    const dir = mkdtempSync(join(root, 'full-'));
    // Room for one region of 64 rows per layer (2 × 64 × 16 × 4 bytes, page-rounded) and no more.
    const s = session(dir, 3 * 8192, by);
    fill(s, 0, 100);
    expect(s.bytes().kvFileBytes).toBeGreaterThan(0);
    let err: unknown;
    try {
      fill(s, 100, 200);
    } catch (e) {
      err = e;
    }
    expect(String(err)).toMatch(new RegExp(`tier file in ${dir}: no space left for \\d+ more bytes .*\\(ENOSPC\\)`));
    // The failed append left layer 0 as it was (the file room is claimed before any row moves),
    // and it still attends over the slots it holds.
    expect(s.layer(0).length(0)).toBe(100);
    expect(s.layer(0).decodeHead('keys', 0).every(Number.isFinite)).toBe(true);
    const q = new Float32Array(SHAPE.qHeads * SHAPE.headDim).fill(0.1);
    const out = s.attend(0, q, Int32Array.from([500]), Uint8Array.from([0]));
    expect(out.every(Number.isFinite)).toBe(true);
    s.close();
  });

  it('leaves nothing in its directory while open, after close, and after the process is killed', async () => {
    const dir = mkdtempSync(join(root, 'kill-'));
    const s = session(dir);
    fill(s, 0, 300);
    expect(s.bytes().kvFileBytes).toBeGreaterThan(0);
    expect(readdirSync(dir)).toEqual([]);
    s.close();
    expect(readdirSync(dir)).toEqual([]);
    // A closed session's slots on file are gone: it refuses instead of reading zeros.
    expect(() => fill(s, 300, 1)).toThrow(/tier: this cache was closed \(CacheSession\.close\(\)\)/);

    const child = join(root, 'child.ts');
    const cacheDir = fileURLToPath(new URL('../../src/cache/', import.meta.url));
    writeFileSync(
      child,
      [
        `import { CacheSession } from '${join(cacheDir, 'cache-session.ts')}';`,
        `import { tsBackend } from '${fileURLToPath(new URL('../../src/attention/ts-backend.ts', import.meta.url))}';`,
        `import { textMeta } from '${join(cacheDir, 'token-meta.ts')}';`,
        `const s = new CacheSession({ numLayers: 1, qHeads: 1, kvHeads: 1, headDim: 8, backend: tsBackend, tier: { coldFraction: 1, dir: ${JSON.stringify(dir)} } });`,
        `s.append(0, new Float32Array(800).fill(1), new Float32Array(800).fill(2), textMeta(100));`,
        `console.log('spilled', s.bytes().kvFileBytes);`,
        `setInterval(() => {}, 1000);`,
      ].join('\n'),
    );
    const proc = spawn(process.execPath, ['--import', 'tsx', child], { stdio: ['ignore', 'pipe', 'pipe'] });
    const line = await new Promise<string>((resolve, reject) => {
      proc.stdout.on('data', (b: Buffer) => resolve(b.toString()));
      proc.on('exit', (code) => reject(new Error(`child exited (${code}) before spilling`)));
    });
    expect(line).toMatch(/^spilled 6400/);
    proc.kill('SIGKILL');
    await new Promise((resolve) => proc.on('exit', resolve));
    expect(readdirSync(dir)).toEqual([]);
  }, 30_000);
});
