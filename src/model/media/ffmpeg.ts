/**
 * Locating and running the ffmpeg binary. The binary comes from the npm package
 * @ffmpeg-installer/ffmpeg (a static build shipped inside the package, nothing downloaded at
 * run time); KVPRISM_FFMPEG overrides it, and Debian's /usr/bin/ffmpeg is the fallback.
 * Every run has a timeout and bounded output, so a bad file can neither hang nor exhaust memory.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { MediaError } from './media-error.js';

const DEBIAN_FFMPEG = '/usr/bin/ffmpeg';
const DEFAULT_TIMEOUT_MS = 120_000;
/** Stderr kept per run; showinfo writes ~300 bytes per sampled frame. */
const MAX_STDERR_BYTES = 8 << 20;

let cachedPath: string | undefined;

/** The ffmpeg binary to run: KVPRISM_FFMPEG, else the npm-shipped one, else /usr/bin/ffmpeg. */
export function ffmpegPath(): string {
  const fromEnv = process.env.KVPRISM_FFMPEG;
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`KVPRISM_FFMPEG: ${fromEnv} does not exist; expected the path of an ffmpeg binary`);
    return fromEnv;
  }
  if (cachedPath) return cachedPath;
  const candidates = [npmShippedFfmpeg(), DEBIAN_FFMPEG].filter((p): p is string => p !== undefined);
  const found = candidates.find((p) => existsSync(p));
  if (!found) {
    throw new Error(
      'ffmpeg not found: expected the npm package @ffmpeg-installer/ffmpeg, /usr/bin/ffmpeg (apt-get install ffmpeg), or KVPRISM_FFMPEG=/path/to/ffmpeg',
    );
  }
  cachedPath = found;
  return found;
}

function npmShippedFfmpeg(): string | undefined {
  try {
    const require = createRequire(import.meta.url);
    return (require('@ffmpeg-installer/ffmpeg') as { path: string }).path;
  } catch {
    return undefined; // the package (or its platform binary) is not installed
  }
}

export interface FfmpegRunOptions {
  /** The media file this run reads, named in every error. */
  file: string;
  timeoutMs?: number;
  /** Stream stdout here instead of buffering it (decoded frames arrive this way). */
  onStdout?: (chunk: Buffer) => void;
  /** Cap on buffered stdout when onStdout is not given. */
  maxStdoutBytes?: number;
}

export interface FfmpegRun {
  /** Buffered stdout (empty when onStdout consumed it). */
  stdout: Buffer;
  stderr: string;
  exitCode: number;
}

/**
 * Runs ffmpeg with `args` and resolves when it exits (any exit code: callers read stderr to
 * explain failures). Rejects with a MediaError naming the file on timeout or oversize output.
 */
export function runFfmpeg(args: string[], options: FfmpegRunOptions): Promise<FfmpegRun> {
  const { file, timeoutMs = DEFAULT_TIMEOUT_MS, onStdout, maxStdoutBytes = 1 << 30 } = options;
  const binary = ffmpegPath();
  return new Promise((resolve, reject) => {
    const child = spawn(binary, ['-hide_banner', '-nostdin', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let outBytes = 0;
    const err: Buffer[] = [];
    let errBytes = 0;
    let failure: MediaError | undefined;
    const fail = (e: MediaError) => {
      if (!failure) failure = e;
      child.kill('SIGKILL');
    };
    const timer = setTimeout(() => fail(new MediaError(file, `ffmpeg did not finish within ${timeoutMs / 1000} s (a stalled or very long input)`)), timeoutMs);

    child.stdout.on('data', (chunk: Buffer) => {
      if (failure) return;
      if (onStdout) {
        try {
          onStdout(chunk);
        } catch (e) {
          fail(e instanceof MediaError ? e : new MediaError(file, (e as Error).message));
        }
        return;
      }
      outBytes += chunk.length;
      if (outBytes > maxStdoutBytes) fail(new MediaError(file, `decoded output exceeds ${maxStdoutBytes} bytes`));
      else out.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (errBytes < MAX_STDERR_BYTES) err.push(chunk);
      errBytes += chunk.length;
    });
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new MediaError(file, `cannot run ffmpeg at ${binary}: ${e.message}`));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (failure) reject(failure);
      else resolve({ stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8'), exitCode: code ?? -1 });
    });
  });
}

/** The lines of ffmpeg's stderr that report errors, for error messages (at most `max`). */
export function ffmpegErrorLines(stderr: string, max = 3): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('[Parsed_showinfo') && !/^(Input|Output|Stream|Duration|Metadata|frame=|video:|Press )/.test(l));
  return lines.slice(-max).join(' | ');
}
