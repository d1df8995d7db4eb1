/** The run lock: one live run per output directory (src/runner/run-lock.ts). */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { RUN_LOCK, acquireRunLock, parseLockOwner, procStart, type LockOwner } from '../../src/runner/run-lock.js';

const fresh = (): string => mkdtempSync(join(tmpdir(), 'kvprism-lock-'));
const lockSource = fileURLToPath(new URL('../../src/runner/run-lock.ts', import.meta.url));

/** A PID that certainly belongs to no process: one that has already exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '']);
  return r.pid!;
}

function writeLock(dir: string, owner: Partial<LockOwner>): void {
  const o: LockOwner = { host: hostname(), pid: process.pid, startedAt: '2026-01-01T00:00:00.000Z', command: ['kvprism', 'run', 'x.yaml'], ...owner };
  writeFileSync(join(dir, RUN_LOCK), JSON.stringify(o));
}

describe('run lock', () => {
  it('names host, PID, start time and command; a second taker is refused with the owner named', () => {
    const dir = fresh();
    const lock = acquireRunLock(dir, { handleSignals: false });
    const owner = parseLockOwner(readFileSync(join(dir, RUN_LOCK), 'utf8'))!;
    expect(owner).toEqual(lock.owner);
    expect(owner.host).toBe(hostname());
    expect(owner.pid).toBe(process.pid);
    expect(Date.parse(owner.startedAt)).toBeGreaterThan(Date.now() - 60_000);
    expect(owner.command).toEqual(process.argv.slice(1));
    expect(() => acquireRunLock(dir)).toThrow(new RegExp(`run\\.lock: another run is writing to this directory \\(PID ${process.pid} on ${hostname()}, started `));
    lock.release();
    expect(existsSync(join(dir, RUN_LOCK))).toBe(false);
    lock.release(); // idempotent
    const again = acquireRunLock(dir, { handleSignals: false });
    again.release();
  });

  it('a lock left by a dead process on this host is taken over with a notice', () => {
    const dir = fresh();
    const pid = deadPid();
    writeLock(dir, { pid });
    const notices: string[] = [];
    const lock = acquireRunLock(dir, { handleSignals: false, log: (l) => notices.push(l) });
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatch(new RegExp(`took over .*run\\.lock from a run that is gone \\(PID ${pid} on `));
    expect(parseLockOwner(readFileSync(join(dir, RUN_LOCK), 'utf8'))!.pid).toBe(process.pid);
    lock.release();
  });

  it('a live PID that is not the owner (the PID was reused: another start time) is taken over', () => {
    const dir = fresh();
    const own = procStart(process.pid);
    if (own === undefined) return; // not Linux: start times are not recorded, PID liveness decides alone
    writeLock(dir, { pid: process.ppid, procStart: String(Number(own) + 12345) });
    const notices: string[] = [];
    const lock = acquireRunLock(dir, { handleSignals: false, log: (l) => notices.push(l) });
    expect(notices[0]).toMatch(new RegExp(`took over .* \\(PID ${process.ppid} on `));
    expect(lock.owner.procStart).toBe(own);
    lock.release();
    writeLock(dir, { pid: process.ppid, procStart: procStart(process.ppid) }); // the real owner, alive
    expect(() => acquireRunLock(dir)).toThrow(/another run is writing to this directory/);
  });

  it('a lock from another host or a file that is not a lock is never taken over', () => {
    const dir = fresh();
    writeLock(dir, { host: 'gpu-node-7', pid: deadPid() });
    expect(() => acquireRunLock(dir)).toThrow(/belongs to a run on another host \(PID \d+ on gpu-node-7/);
    writeFileSync(join(dir, RUN_LOCK), 'hello');
    expect(() => acquireRunLock(dir)).toThrow(/run\.lock: is not a kvprism run lock \(expected JSON with host, pid, startedAt, command\)/);
  });

  it('does not remove a lock that another run holds now', () => {
    const dir = fresh();
    const lock = acquireRunLock(dir, { handleSignals: false });
    writeLock(dir, { pid: process.ppid }); // someone replaced it (by hand): not ours to delete
    lock.release();
    expect(parseLockOwner(readFileSync(join(dir, RUN_LOCK), 'utf8'))!.pid).toBe(process.ppid);
  });

  it.each([false, true])('runs racing for a directory (stale lock present: %s): exactly one wins, the others name it', async (stale) => {
    const dir = fresh();
    if (stale) writeLock(dir, { pid: deadPid() });
    const script = join(dir, 'race.ts');
    // Each contender waits for a shared start time, so they really race; the winner holds the
    // lock until the other two have given up (then the test writes DIR/release).
    writeFileSync(
      script,
      `import { existsSync } from 'node:fs';\nimport { acquireRunLock } from ${JSON.stringify(lockSource)};\n` +
        `while (Date.now() < Number(process.argv[3])) {}\n` +
        `try { acquireRunLock(process.argv[2]!, { log: () => {} }); console.log('won'); const t = setInterval(() => existsSync(process.argv[2] + '/release') && clearInterval(t), 20); }\n` +
        `catch (e) { console.log((e as Error).message); }\n`,
    );
    const start = String(Date.now() + 2500);
    let exited = 0;
    const outputs = await Promise.all(
      [0, 1, 2].map(
        () =>
          new Promise<{ pid: number; out: string }>((ok) => {
            const c = spawn(process.execPath, ['--import', 'tsx', script, dir, start], { stdio: ['ignore', 'pipe', 'inherit'] });
            let out = '';
            c.stdout.on('data', (d: Buffer) => (out += d.toString()));
            c.once('exit', () => {
              if (++exited === 2) writeFileSync(join(dir, 'release'), '');
              ok({ pid: c.pid!, out: out.trim() });
            });
          }),
      ),
    );
    const winners = outputs.filter((o) => o.out === 'won');
    expect(winners).toHaveLength(1);
    for (const o of outputs.filter((x) => x.out !== 'won')) {
      expect(o.out).toMatch(new RegExp(`another run is writing to this directory \\(PID ${winners[0]!.pid} on `));
    }
  });

  it.each(['SIGINT', 'SIGTERM'] as const)('%s releases the lock and the process dies of that signal', async (signal) => {
    const dir = fresh();
    const script = join(dir, 'hold.ts');
    writeFileSync(script, `import { acquireRunLock } from ${JSON.stringify(lockSource)};\nacquireRunLock(process.argv[2]!);\nprocess.stdout.write('locked\\n');\nsetInterval(() => {}, 1000);\n`);
    const child = spawn(process.execPath, ['--import', 'tsx', script, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((ok, fail) => {
      child.stdout.on('data', (d: Buffer) => d.toString().includes('locked') && ok());
      child.once('exit', (code) => fail(new Error(`holder exited early (${code})`)));
    });
    expect(parseLockOwner(readFileSync(join(dir, RUN_LOCK), 'utf8'))!.pid).toBe(child.pid);
    const exit = new Promise<NodeJS.Signals | null>((r) => child.once('exit', (_c, s) => r(s)));
    child.kill(signal);
    expect(await exit).toBe(signal);
    expect(existsSync(join(dir, RUN_LOCK))).toBe(false);
  });
});
