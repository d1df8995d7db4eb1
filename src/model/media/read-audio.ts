/**
 * An audio file, or the audio track of a video → mono f32 PCM at the model's rate → Whisper
 * log-mel features for the Qwen2.5-Omni audio tower.
 *
 * Decoding: ffmpeg resamples with libsoxr at its default (20-bit, "HQ") precision, the
 * resampler librosa.load (soxr_hq) uses in qwen-omni-utils; an ffmpeg built without soxr falls
 * back to its own swresample. Several channels are averaged, as librosa's to_mono (ffmpeg's own
 * `-ac 1` downmix weighs stereo by 1/√2 instead); only a layout ffmpeg names in a way not
 * recognised here is left to ffmpeg's downmix.
 *
 * Lengths follow Qwen2_5OmniProcessor, which always calls the feature extractor with
 * padding="max_length" and truncation: the waveform is padded / truncated to chunk_length
 * seconds (300 s in Omni's preprocessor_config.json, so nb_max_frames = 30 000), the features
 * are computed on the padded waveform, and the tower keeps the valid frames (the attention
 * mask: ceil(samples / hop)). AudioInput carries those valid frames unless padToMaxLength.
 */
import { ffmpegErrorLines, runFfmpeg } from './ffmpeg.js';
import { whisperLogMel } from './log-mel.js';
import { MediaError } from './media-error.js';
import type { AudioPreprocessing } from './preprocessor-config.js';
import { probeMedia } from './probe.js';
import type { AudioInput } from './types.js';

export interface AudioReadOptions {
  /** Return all chunk_length · rate / hop frames (HF's input_features) instead of the valid ones. */
  padToMaxLength?: boolean;
  /** Per ffmpeg run, in ms (default 300 000). */
  timeoutMs?: number;
}

const DEFAULT_AUDIO_TIMEOUT_MS = 300_000;

/** [samples] f32 mono PCM of the first audio stream of `file`, resampled to `sampleRate`, at most `maxSeconds` long. */
export async function readPcm(file: string, sampleRate: number, options: { maxSeconds?: number; timeoutMs?: number } = {}): Promise<Float32Array> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_AUDIO_TIMEOUT_MS;
  const info = await probeMedia(file, timeoutMs);
  if (info.audio.length === 0) {
    const what = info.video.length > 0 ? 'a video without an audio track' : `container ${info.container} with no audio stream`;
    throw new MediaError(file, `has no audio stream (${what}); expected an audio file or a video with an audio track`);
  }
  const limit = options.maxSeconds !== undefined ? ['-t', String(options.maxSeconds)] : [];
  const channels = info.audio[0]!.channels ?? 1;
  const mixdown = info.audio[0]!.channels === null ? ['-ac', '1'] : [];
  const decode = (filter: string[]) =>
    runFfmpeg(['-i', file, '-map', '0:a:0', ...limit, ...filter, ...mixdown, '-ar', String(sampleRate), '-f', 'f32le', 'pipe:1'], {
      file,
      timeoutMs,
      maxStdoutBytes: 4 * channels * sampleRate * (options.maxSeconds ?? 6 * 3600) + 4096,
    });
  let run = await decode(['-af', 'aresample=resampler=soxr']);
  if (run.exitCode !== 0 && /resampling engine is unavailable|soxr/i.test(run.stderr)) run = await decode([]);
  if (run.exitCode !== 0) throw new MediaError(file, `audio decoding failed: ${ffmpegErrorLines(run.stderr)}`);
  if (/partial file/.test(run.stderr)) throw new MediaError(file, 'the file is truncated (ffmpeg: "partial file"); expected a complete file');
  const bytes = run.stdout;
  if (bytes.length < 4) throw new MediaError(file, 'the audio stream decodes to no samples; expected at least one');
  // Copy into an aligned buffer: the pipe's Buffer may start at any byte offset.
  const interleaved = new Float32Array(Math.floor(bytes.length / 4));
  new Uint8Array(interleaved.buffer).set(bytes.subarray(0, interleaved.length * 4));
  return mixdown.length > 0 ? interleaved : averageChannels(interleaved, channels);
}

/** [samples][channels] interleaved → [samples] mean over channels (librosa.to_mono). */
export function averageChannels(interleaved: Float32Array, channels: number): Float32Array {
  if (channels === 1) return interleaved;
  const n = Math.floor(interleaved.length / channels);
  const mono = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let sum = 0;
    for (let c = 0; c < channels; c++) sum += interleaved[i * channels + c]!;
    mono[i] = sum / channels;
  }
  return mono;
}

/** Reads `file`'s audio and turns it into the Omni audio tower's log-mel features. */
export async function readAudio(file: string, settings: AudioPreprocessing, options: AudioReadOptions = {}): Promise<AudioInput> {
  const maxSeconds = settings.maxSamples / settings.sampleRate;
  const pcm = await readPcm(file, settings.sampleRate, { maxSeconds, timeoutMs: options.timeoutMs });
  return audioFeatures(pcm, settings, options.padToMaxLength ?? false);
}

/** Log-mel features of PCM already at `settings.sampleRate` ([samples] f32 mono). */
export function audioFeatures(pcm: Float32Array, settings: AudioPreprocessing, padToMaxLength = false): AudioInput {
  const mel = whisperLogMel(pcm, settings, padToMaxLength);
  return {
    features: mel.features,
    numMel: settings.numMel,
    frames: mel.frames,
    validFrames: mel.validFrames,
    seconds: mel.samplesUsed / settings.sampleRate,
    sampleRate: settings.sampleRate,
  };
}
