/**
 * Audio renderer: a stereo PCM waveform (f32 in [-1, 1]) with quiet background noise and
 * one synthesized burst per sound event. Classes differ in spectrum: tone (pure sine,
 * 600–1200 Hz), chirp (rising sweep 1.5→4 kHz), noise (white, broadband), buzz (square wave
 * 120–220 Hz, rich harmonics). Pan sets the left/right gains.
 */
import { Rng } from './rng.js';
import type { Scene, SoundEvent } from './scene.js';
import type { AvPreset } from './presets.js';
import type { Pan } from './vocab.js';

export interface StereoAudio {
  sampleRate: number;
  left: Float32Array;
  right: Float32Array;
}

const PAN_GAINS: Record<Pan, [number, number]> = { left: [1, 0.3], center: [0.75, 0.75], right: [0.3, 1] };

function synthesize(ev: SoundEvent, n: number, sr: number, rng: Rng): Float32Array {
  const x = new Float32Array(n);
  const amp = 0.2 + 0.2 * rng.next();
  const ramp = Math.max(1, Math.round(0.005 * sr));
  let phase = 0;
  const f0 = ev.sound === 'tone' ? 600 + 600 * rng.next() : ev.sound === 'buzz' ? 120 + 100 * rng.next() : 1500;
  for (let i = 0; i < n; i++) {
    const t = i / sr;
    let s: number;
    switch (ev.sound) {
      case 'tone': s = Math.sin(2 * Math.PI * f0 * t); break;
      case 'chirp': {
        const f = 1500 + (2500 * i) / n;
        phase += (2 * Math.PI * f) / sr;
        s = Math.sin(phase);
        break;
      }
      case 'noise': s = 2.4 * (rng.next() - 0.5); break;
      case 'buzz': s = (f0 * t) % 1 < 0.5 ? 0.6 : -0.6; break;
    }
    const env = Math.min(1, i / ramp, (n - 1 - i) / ramp);
    x[i] = amp * env * s;
  }
  return x;
}

/** Renders `preset.frames / fps` seconds of stereo audio for the scene. */
export function renderAudio(scene: Scene, preset: AvPreset, rng: Rng): StereoAudio {
  const sr = preset.sampleRate;
  const total = (scene.frames * sr) / preset.fps;
  const tokenSamples = preset.hop * preset.melPerToken;
  const left = new Float32Array(total);
  const right = new Float32Array(total);
  // Background hiss: uniform noise of the same power as N(0, 0.003²) (cheaper to draw).
  for (let i = 0; i < total; i++) {
    left[i] = 0.0104 * (rng.next() - 0.5);
    right[i] = 0.0104 * (rng.next() - 0.5);
  }
  for (const ev of scene.events) {
    const start = ev.onset * tokenSamples;
    const n = Math.min(ev.duration * tokenSamples, total - start);
    const x = synthesize(ev, n, sr, rng);
    const [gl, gr] = PAN_GAINS[ev.pan];
    for (let i = 0; i < n; i++) {
      left[start + i] += gl * x[i]!;
      right[start + i] += gr * x[i]!;
    }
  }
  return { sampleRate: sr, left, right };
}
