/**
 * One live run per output directory. A run owns DIR through DIR/run.lock, a small JSON file
 * naming its host, PID, start time and command, created atomically with its content (a hard
 * link of a private file, which fails when a lock exists) so two runs cannot both
 * create it. A second run on the same directory is refused with the owner's name; a lock
 * left by a dead process on this host (a run killed with SIGKILL) is taken over with a
 * notice (on Linux the owner's process start time is recorded too, so a PID reused by an
 * unrelated process does not keep a dead run's lock alive). The lock is removed on normal
 * exit and on SIGINT / SIGTERM. A lock from another
 * host cannot be checked (its PID means nothing here), so it is never taken over silently.
 */
import { closeSync, linkSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

export const RUN_LOCK = 'run.lock';

/** What DIR/run.lock holds. */
export interface LockOwner {
  host: string;
  pid: number;
  /** ISO time the owner took the lock. */
  startedAt: string;
  /** The owner's command line (argv without the node binary). */
  command: string[];
  /** Linux: the owner's start time in /proc/PID/stat (clock ticks since boot), so a reused PID is not taken for the owner. */
  procStart?: string;
}

export interface RunLock {
  readonly file: string;
  readonly owner: LockOwner;
  /** Removes the lock if this process still owns it (idempotent). */
  release(): void;
}

export interface AcquireOptions {
  /** Told when a stale lock is taken over. */
  log?: (line: string) => void;
  /** Release on SIGINT / SIGTERM, then die of the same signal (default true). */
  handleSignals?: boolean;
}

export class RunLockedError extends Error {
  constructor(
    readonly file: string,
    readonly owner: LockOwner | null,
    detail: string,
  ) {
    super(`${file}: ${detail}`);
    this.name = 'RunLockedError';
  }
}

const describeOwner = (o: LockOwner): string => `PID ${o.pid} on ${o.host}, started ${o.startedAt}: ${o.command.join(' ')}`;

/** Field 22 of /proc/PID/stat (start time in ticks since boot), or undefined off Linux. */
export function procStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces and parentheses) start at field 3.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/**
 * Whether the lock's owner still runs on this host: its PID is live (EPERM: live, another
 * user's) and, where Linux tells, that process started when the owner did (not a reused PID).
 */
export function ownerAlive(owner: Pick<LockOwner, 'pid' | 'procStart'>): boolean {
  try {
    process.kill(owner.pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const now = owner.procStart === undefined ? undefined : procStart(owner.pid);
  return now === undefined || now === owner.procStart;
}

/** Parses a lock file's text; null when it is not a lock this code wrote. */
export function parseLockOwner(text: string): LockOwner | null {
  try {
    const o = JSON.parse(text) as Partial<LockOwner>;
    const validStart = o.procStart === undefined || typeof o.procStart === 'string';
    if (typeof o.host === 'string' && Number.isInteger(o.pid) && typeof o.startedAt === 'string' && Array.isArray(o.command) && validStart) return o as LockOwner;
  } catch {
    // fall through: unreadable lock
  }
  return null;
}

/** Takes DIR/run.lock for this process, or throws RunLockedError naming the live owner. */
export function acquireRunLock(dir: string, opts: AcquireOptions = {}): RunLock {
  const file = join(dir, RUN_LOCK);
  const owner: LockOwner = { host: hostname(), pid: process.pid, startedAt: new Date().toISOString(), command: process.argv.slice(1), procStart: procStart(process.pid) };
  const text = `${JSON.stringify(owner, null, 2)}\n`;
  // Each pass either creates the lock, refuses, or removes one stale lock; a bounded loop
  // keeps a pathological race (locks appearing and dying faster than we read them) finite.
  for (let attempt = 0; attempt < 8; attempt++) {
    if (tryCreate(file, text)) return holdLock(file, owner, text, opts);
    let current: string;
    try {
      current = readFileSync(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue; // released meanwhile: try again
      throw e;
    }
    const other = parseLockOwner(current);
    if (!other) {
      throw new RunLockedError(file, null, `is not a kvprism run lock (expected JSON with host, pid, startedAt, command); if no run uses this directory, delete the file`);
    }
    if (other.host !== owner.host) {
      throw new RunLockedError(file, other, `this directory belongs to a run on another host (${describeOwner(other)}); wait for it, choose another --out, or delete the lock if that run is gone`);
    }
    if (ownerAlive(other)) {
      throw new RunLockedError(file, other, `another run is writing to this directory (${describeOwner(other)}); wait for it to finish, stop it, or choose another --out`);
    }
    if (removeIfUnchanged(file, current)) opts.log?.(`run lock: took over ${file} from a run that is gone (${describeOwner(other)})`);
  }
  throw new RunLockedError(file, null, 'could not take the lock (it kept changing hands); try again');
}

/**
 * Creates the lock with its content in one step: the text goes to a private file first, which
 * is then hard-linked to the lock's name (link fails with EEXIST when a lock exists). A run
 * killed part-way leaves at most its private file, never an empty lock that would block the
 * directory (O_EXCL create followed by a write left that window open).
 */
function tryCreate(file: string, text: string): boolean {
  const own = `${file}.${process.pid}.tmp`;
  const fd = openSync(own, 'w');
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(own, file);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  } finally {
    unlinkSync(own);
  }
}

/**
 * Removes a stale lock only if it is still the one we read: it is first renamed aside
 * (atomic, so two runs taking over at once cannot both remove it), then checked; a lock that
 * changed meanwhile (a live run took it) is linked back in place.
 */
function removeIfUnchanged(file: string, expected: string): boolean {
  const aside = `${file}.stale-${process.pid}`;
  try {
    renameSync(file, aside);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
  const moved = readFileSync(aside, 'utf8');
  if (moved !== expected) {
    try {
      linkSync(aside, file);
    } catch {
      // Another run created a lock meanwhile; it owns the directory now, ours is gone.
    }
  }
  unlinkSync(aside);
  return moved === expected;
}

function holdLock(file: string, owner: LockOwner, text: string, opts: AcquireOptions): RunLock {
  let held = true;
  const release = (): void => {
    if (!held) return;
    held = false;
    process.off('exit', release);
    for (const [sig, h] of handlers) process.off(sig, h);
    try {
      if (readFileSync(file, 'utf8') === text) unlinkSync(file);
    } catch {
      // Already gone (removed by hand): nothing to release.
    }
  };
  const handlers: [NodeJS.Signals, () => void][] = [];
  if (opts.handleSignals !== false) {
    for (const sig of ['SIGINT', 'SIGTERM'] as const) {
      const h = (): void => {
        release();
        // Die of the same signal, as if no handler had been installed.
        process.kill(process.pid, sig);
      };
      handlers.push([sig, h]);
      process.once(sig, h);
    }
  }
  process.once('exit', release);
  return { file, owner, release };
}
