/**
 * A throwaway single-node Slurm cluster for tests: munged with a fresh key, slurmctld and
 * slurmd in the foreground, everything (slurm.conf, state, spool, sockets, logs) in one tmp
 * dir and the daemons on free ports, so a second run, even at the same time, never collides.
 * Needs Debian's slurm-wlm and munge, and root (slurmd starts jobs as their submitter). No
 * systemd and no cgroups: proctrack/linuxproc and task/none work in a plain container.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, chmodSync, closeSync, constants, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism, tmpdir, totalmem } from 'node:os';
import { delimiter, dirname, join } from 'node:path';

/** One array task or job as `scontrol show job` reports it. */
export interface JobState {
  /** "ARRAYID_TASK" for an array task, else the job id. */
  id: string;
  /** COMPLETED, FAILED, CANCELLED, PENDING, RUNNING… */
  state: string;
  /** "exit:signal", e.g. "0:0". */
  exitCode: string;
}

export interface SlurmCluster {
  /** The cluster's own tmp dir. */
  readonly dir: string;
  /** Environment for clients and, through sbatch's --export=ALL, for jobs: SLURM_CONF set, inherited SLURM_ and SBATCH_ variables removed, this node first on PATH. */
  readonly env: NodeJS.ProcessEnv;
  /** Runs a Slurm client (sbatch, squeue…) in cwd; its stdout, or an error with its stderr. */
  client(command: SlurmClient, args: string[], cwd?: string): string;
  /** Every task of job `id`; an array's pending tasks may share one entry ("7_[1-2]"). */
  jobStates(id: string): JobState[];
  /** Polls until every listed job has ended (bounded); their final states. */
  waitForJobs(ids: string[], timeoutMs: number): Promise<JobState[]>;
  /** The last lines each daemon wrote, for failure messages. */
  daemonLogs(): string;
  /** Cancels every job, then stops slurmd, slurmctld and munged (TERM, then KILL); idempotent. */
  stop(): Promise<void>;
}

export type ClusterStart = { cluster: SlurmCluster } | { unavailable: string };

const DAEMONS = ['munged', 'slurmctld', 'slurmd'] as const;
const CLIENTS = ['sbatch', 'sinfo', 'squeue', 'scontrol', 'scancel'] as const;
export type SlurmClient = (typeof CLIENTS)[number];
type Program = (typeof DAEMONS)[number] | SlurmClient;
const ENDED = new Set(['COMPLETED', 'FAILED', 'CANCELLED', 'TIMEOUT', 'NODE_FAIL', 'PREEMPTED', 'OUT_OF_MEMORY', 'BOOT_FAIL', 'DEADLINE']);
const NODE_READY_MS = 30_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The executable's path, searching PATH and the sbin folders a non-root PATH may lack. */
function findExecutable(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/local/sbin', '/usr/sbin', '/sbin'];
  for (const d of dirs.filter(Boolean)) {
    try {
      accessSync(join(d, name), constants.X_OK);
      return join(d, name);
    } catch {
      // not here
    }
  }
  return undefined;
}

/** n distinct free TCP ports (all held open until each is known, so none repeats). */
async function freePorts(n: number): Promise<number[]> {
  const servers = Array.from({ length: n }, () => createServer());
  await Promise.all(servers.map((s) => new Promise<void>((resolve, reject) => s.once('error', reject).listen(0, '127.0.0.1', resolve))));
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

function tail(file: string, lines = 15): string {
  if (!existsSync(file)) return '(no output)';
  return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
}

function slurmConf(dir: string, ports: number[], munge: string): string {
  const cpus = availableParallelism();
  // Below the machine's memory, or slurmd would find less than configured and drain the node.
  const memoryMiB = Math.floor((totalmem() / 2 ** 20) * 0.9);
  return `ClusterName=kvprismtest
SlurmctldHost=localhost
SlurmctldPort=${ports[0]}
SlurmdPort=${ports[1]}
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=${munge}
SlurmUser=root
SlurmdUser=root
StateSaveLocation=${join(dir, 'state')}
SlurmdSpoolDir=${join(dir, 'spool')}
SlurmctldPidFile=${join(dir, 'slurmctld.pid')}
SlurmdPidFile=${join(dir, 'slurmd.pid')}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
MailProg=/bin/true
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
MinJobAge=600
DependencyParameters=kill_invalid_depend
NodeName=localhost CPUs=${cpus} RealMemory=${memoryMiB} State=UNKNOWN
PartitionName=test Nodes=localhost Default=YES MaxTime=INFINITE State=UP
`;
}

/** Parses `scontrol -o show job` lines (one per job or array task). */
export function parseJobStates(text: string): JobState[] {
  return text
    .split('\n')
    .filter((l) => l.includes('JobId='))
    .map((line) => {
      const field = (k: string) => new RegExp(`(?:^|\\s)${k}=(\\S+)`).exec(line)?.[1];
      const array = field('ArrayJobId');
      return { id: array ? `${array}_${field('ArrayTaskId')}` : field('JobId')!, state: field('JobState') ?? 'UNKNOWN', exitCode: field('ExitCode') ?? '' };
    });
}

interface Daemon {
  name: string;
  child: ChildProcess;
  /** Its stdout and stderr. */
  log: string;
}

const ended = (d: Daemon) => d.child.exitCode !== null || d.child.signalCode !== null;

/** The daemons of one cluster and the client commands that talk to them. */
class LocalSlurm implements SlurmCluster {
  private readonly daemons: Daemon[] = [];
  private stopped = false;
  /** Last resort if the test process ends without stop(): no daemon outlives it. */
  private readonly killAll = () => this.daemons.forEach((d) => ended(d) || d.child.kill('SIGKILL'));

  constructor(
    readonly dir: string,
    readonly env: NodeJS.ProcessEnv,
    private readonly bin: (p: Program) => string,
  ) {
    process.once('exit', this.killAll);
  }

  launch(name: (typeof DAEMONS)[number], args: string[]): void {
    const log = join(this.dir, `${name}.log`);
    const fd = openSync(log, 'a');
    const child = spawn(this.bin(name), args, { stdio: ['ignore', fd, fd], env: this.env });
    closeSync(fd);
    this.daemons.push({ name, child, log });
  }

  /** The first daemon that is no longer running. */
  exited(): Daemon | undefined {
    return this.daemons.find(ended);
  }

  client(command: SlurmClient, args: string[], cwd?: string): string {
    const r = spawnSync(this.bin(command), args, { cwd, env: this.env, encoding: 'utf8', timeout: 30_000 });
    if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${r.error?.message ?? `exit ${r.status}`}): ${r.stderr.trim()}`);
    return r.stdout;
  }

  jobStates(id: string): JobState[] {
    return parseJobStates(this.client('scontrol', ['-o', 'show', 'job', id]));
  }

  async waitForJobs(ids: string[], timeoutMs: number): Promise<JobState[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const states = ids.flatMap((id) => this.jobStates(id));
      if (states.every((s) => ENDED.has(s.state))) return states;
      if (Date.now() > deadline) throw new Error(`jobs ${ids.join(', ')} still not done after ${timeoutMs / 1000} s: ${states.map((s) => `${s.id} ${s.state}`).join(', ')}\n${this.daemonLogs()}`);
      await sleep(500);
    }
  }

  /** Bounded wait for sinfo to show the node idle; the reason when a daemon died meanwhile. */
  async waitUntilIdle(): Promise<string | undefined> {
    const deadline = Date.now() + NODE_READY_MS;
    for (;;) {
      const down = this.exited();
      if (down) return `${down.name} exited while starting (${down.child.exitCode ?? down.child.signalCode})`;
      const r = spawnSync(this.bin('sinfo'), ['-h', '-n', 'localhost', '-o', '%T'], { env: this.env, encoding: 'utf8', timeout: 10_000 });
      if (r.status === 0 && r.stdout.trim() === 'idle') return undefined;
      if (Date.now() > deadline) {
        throw new Error(`the Slurm node did not become idle within ${NODE_READY_MS / 1000} s (sinfo: ${(r.stdout + r.stderr).trim() || 'no output'})\n${this.daemonLogs()}`);
      }
      await sleep(250);
    }
  }

  daemonLogs(): string {
    return this.daemons.map((d) => `--- ${d.name} (${d.log}):\n${tail(d.log)}`).join('\n');
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    try {
      const queued = () => this.client('squeue', ['-h', '-o', '%A']).split('\n').filter(Boolean);
      const jobs = queued();
      if (jobs.length > 0) this.client('scancel', jobs);
      // Let cancelled jobs end before slurmd goes, or their processes would outlive it.
      for (let t = 0; t < 40 && queued().length > 0; t++) await sleep(250);
    } catch {
      // The controller is down already: nothing to cancel through it.
    }
    for (const d of [...this.daemons].reverse()) {
      if (ended(d)) continue;
      const gone = new Promise((r) => d.child.once('exit', r));
      d.child.kill('SIGTERM');
      if (!(await Promise.race([gone.then(() => true), sleep(5_000).then(() => false)]))) d.child.kill('SIGKILL');
      await gone;
    }
    process.off('exit', this.killAll);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The cluster's files in DIR: munge key, slurm.conf and the state, spool and socket folders. */
async function writeClusterFiles(dir: string) {
  chmodSync(dir, 0o755); // munged wants its socket's folders searchable by everyone
  for (const d of ['state', 'spool', 'munge']) mkdirSync(join(dir, d));
  const key = join(dir, 'munge.key');
  writeFileSync(key, randomBytes(1024), { mode: 0o600 });
  const socket = join(dir, 'munge', 'munge.sock');
  const conf = join(dir, 'slurm.conf');
  writeFileSync(conf, slurmConf(dir, await freePorts(2), socket));
  return { key, socket, conf };
}

/**
 * Starts the cluster and waits (bounded) until sinfo shows the node idle. Resolves to the
 * reason instead when it cannot run here: a program missing, not root, a daemon that exits
 * while starting. Throws, with the daemons' logs, when they run but the node never gets ready.
 */
export async function startSlurmCluster(): Promise<ClusterStart> {
  if (process.platform !== 'linux') return { unavailable: `Slurm test clusters need Linux (this is ${process.platform})` };
  const paths = new Map([...DAEMONS, ...CLIENTS].map((n) => [n, findExecutable(n)]));
  const missing = [...paths].filter(([, p]) => !p).map(([n]) => n);
  if (missing.length > 0) return { unavailable: `${missing.join(', ')} not installed (Debian: apt-get install slurm-wlm munge)` };
  if (process.getuid?.() !== 0) return { unavailable: 'not root: slurmd must run as root to start jobs' };

  const dir = mkdtempSync(join(tmpdir(), 'kvprism-slurm-'));
  const { key, socket, conf } = await writeClusterFiles(dir);
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(SLURM|SBATCH)_/.test(k)));
  env.SLURM_CONF = conf;
  env.PATH = [dirname(process.execPath), process.env.PATH ?? ''].join(delimiter);
  const cluster = new LocalSlurm(dir, env, (p) => paths.get(p)!);
  const unavailable = async (why: string): Promise<ClusterStart> => {
    const logs = cluster.daemonLogs();
    await cluster.stop();
    return { unavailable: `${why}\n${logs}` };
  };

  cluster.launch('munged', ['--foreground', `--key-file=${key}`, `--socket=${socket}`, `--pid-file=${join(dir, 'munge', 'munged.pid')}`, `--seed-file=${join(dir, 'munge', 'seed')}`]);
  for (let t = 0; !existsSync(socket); t++) {
    if (cluster.exited() || t > 40) return unavailable('munged did not start');
    await sleep(250);
  }
  cluster.launch('slurmctld', ['-D', '-f', conf]);
  cluster.launch('slurmd', ['-D', '-N', 'localhost', '-f', conf]);
  try {
    const down = await cluster.waitUntilIdle();
    if (down) return unavailable(down);
  } catch (e) {
    await cluster.stop();
    throw e;
  }
  return { cluster };
}
