/**
 * Run progress: a live bar (trials and samples, ETA) on a terminal; on a pipe or a log file
 * (CI, Slurm, Kubernetes) one plain line per finished trial instead, because carriage-return
 * redraws turn logs into noise.
 */
import cliProgress from 'cli-progress';

export interface ProgressSink {
  /** A trial starts with `samples` samples to go. */
  startTrial(label: string): void;
  sampleDone(): void;
  /** A trial finished; `summary` is a short line (accuracy, fidelity, time). */
  trialDone(summary: string): void;
  log(line: string): void;
  stop(): void;
}

export interface ProgressOptions {
  trials: number;
  samplesPerTrial: number;
  stream?: NodeJS.WriteStream;
  /** Force the live bar on or off (default: whether the stream is a TTY). */
  live?: boolean;
}

export function createProgress({ trials, samplesPerTrial, stream = process.stderr, live }: ProgressOptions): ProgressSink {
  const total = trials * samplesPerTrial;
  let trialsDone = 0;
  let samplesDone = 0;
  const started = Date.now();
  const eta = (): string => {
    if (samplesDone === 0) return '?';
    const s = ((Date.now() - started) / samplesDone) * (total - samplesDone) / 1000;
    return s < 90 ? `${Math.round(s)}s` : `${Math.round(s / 60)}m`;
  };
  if (!(live ?? stream.isTTY)) {
    return {
      startTrial: () => {},
      sampleDone: () => void samplesDone++,
      trialDone: (summary) => {
        trialsDone++;
        stream.write(`[${trialsDone}/${trials}] ${summary} (ETA ${eta()})\n`);
      },
      log: (line) => void stream.write(`${line}\n`),
      stop: () => {},
    };
  }
  const multi = new cliProgress.MultiBar(
    {
      stream,
      format: 'trials {trials} | samples [{bar}] {value}/{total} | ETA {eta_formatted} | {trial}',
      hideCursor: true,
      clearOnComplete: false,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  const bar = multi.create(total, 0, { trials: `0/${trials}`, trial: '' });
  return {
    startTrial: (label) => bar.update({ trial: label }),
    sampleDone: () => {
      samplesDone++;
      bar.increment();
    },
    trialDone: (summary) => {
      trialsDone++;
      bar.update({ trials: `${trialsDone}/${trials}` });
      multi.log(`${summary}\n`);
    },
    log: (line) => multi.log(`${line}\n`),
    stop: () => {
      multi.update(); // flush log lines still waiting for a redraw
      multi.stop();
    },
  };
}
