/**
 * Evidence tokens: which clip tokens hold what a question asks (by construction), and the
 * object each sound event comes from. Token indices are clip-relative: video patch
 * (frame·gridRows + row)·gridCols + col, audio token index in time order.
 */
import type { Evidence } from './questions.js';
import { sourceObject, type Scene } from './scene.js';
import type { AvPreset } from './presets.js';

export interface EvidenceTokens {
  video: number[];
  audio: number[];
  withSink: boolean;
}

/** Patch indices an object covers over its visible frames. */
export function objectPatches(scene: Scene, object: number, preset: AvPreset): number[] {
  const o = scene.objects[object];
  if (!o) throw new RangeError(`av-world evidence: object ${object} is not in the scene (${scene.objects.length} objects)`);
  const { gridRows: R, gridCols: C } = preset;
  return o.rows.map((r, i) => ((o.start + i) * R + r) * C + o.cols[i]!);
}

export function evidenceTokens(scene: Scene, e: Evidence, preset: AvPreset): EvidenceTokens {
  const video = e.objects.flatMap((i) => objectPatches(scene, i, preset));
  const audio = e.events.flatMap((i) => {
    const ev = scene.events[i];
    if (!ev) throw new RangeError(`av-world evidence: event ${i} is not in the scene (${scene.events.length} events)`);
    return e.onsetsOnly ? [ev.onset] : Array.from({ length: ev.duration }, (_, t) => ev.onset + t);
  });
  return { video, audio, withSink: e.withSink };
}

/**
 * The object a sound event comes from: the only object of a one-object episode, or the
 * object on the side the sound is panned to in a two-object episode.
 */
export function eventSource(scene: Scene, event: number, gridCols: number): number {
  const ev = scene.events[event]!;
  const ep = scene.episodes[ev.episode]!;
  if (ep.objects.length === 1) return ep.objects[0]!;
  const src = sourceObject(scene, ev, gridCols);
  if (src === undefined) throw new Error(`av-world: event ${event} of a two-object episode has no panned source`);
  return src;
}
