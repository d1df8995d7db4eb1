/**
 * Scene descriptions of the AV world: which objects are visible where and when, and which
 * sound events happen when and from which side. The clip is cut into episodes; each shows
 * one object, or two objects in opposite halves of the screen, and holds at most one sound
 * event, so every question family has an unambiguous answer by construction.
 */
import { Rng } from './rng.js';
import { COLOURS, SHAPES, SOUNDS, type Colour, type Pan, type Shape, type Sound } from './vocab.js';
import { audioTokensPerFrame, type AvPreset } from './presets.js';

export interface SceneObject {
  shape: Shape;
  colour: Colour;
  /** Visible during frames [start, end). */
  start: number;
  end: number;
  /** Grid cell per visible frame: rows[i], cols[i] for frame start + i. */
  rows: number[];
  cols: number[];
  episode: number;
}

export interface SoundEvent {
  sound: Sound;
  /** Audio-token index of the onset and length in audio tokens. */
  onset: number;
  duration: number;
  pan: Pan;
  episode: number;
}

export interface Episode {
  start: number;
  end: number;
  /** Indices into Scene.objects. */
  objects: number[];
}

export interface Scene {
  frames: number;
  objects: SceneObject[];
  events: SoundEvent[];
  episodes: Episode[];
  /** Index of the one object that moves. */
  mover: number;
}

const side = (col: number, gridCols: number): Pan => (col < gridCols / 2 ? 'left' : 'right');

/** Samples a scene for a clip of `preset.frames` frames. Deterministic given the rng state. */
export function sampleScene(rng: Rng, preset: AvPreset): Scene {
  const F = preset.frames;
  const { gridRows: R, gridCols: C } = preset;
  const half = C / 2;
  const K = Math.max(2, Math.round(F / 10));
  const episodes: Episode[] = [];
  const objects: SceneObject[] = [];
  const moverEpisode = rng.int(0, K - 1);
  const moverColour = rng.pick(COLOURS);
  const otherColours = COLOURS.filter((c) => c !== moverColour);
  for (let e = 0; e < K; e++) {
    const es = Math.floor((e * F) / K);
    const ee = Math.floor(((e + 1) * F) / K);
    const len = ee - es;
    const start = es + (len >= 6 ? rng.int(0, 1) : 0);
    const end = ee - (len >= 6 ? rng.int(0, 1) : 0);
    const two = rng.next() < 0.5;
    const shapes = rng.shuffle([...SHAPES]);
    const colours = rng.shuffle([...otherColours]);
    const ep: Episode = { start: es, end: ee, objects: [] };
    const n = two ? 2 : 1;
    const moverSlot = e === moverEpisode ? rng.int(0, n - 1) : -1;
    for (let k = 0; k < n; k++) {
      const moves = k === moverSlot;
      const colLo = two ? k * half : 0;
      const colHi = two ? colLo + half - 1 : C - 1;
      let row = rng.int(0, R - 1);
      let col = rng.int(colLo, colHi);
      // The mover steps one cell every 2 frames, bouncing off the walls of its region;
      // in two-object episodes it moves vertically so it stays on its side.
      let dr = 0;
      let dc = 0;
      if (moves) {
        if (two || rng.next() < 0.5) dr = rng.next() < 0.5 ? -1 : 1;
        else dc = rng.next() < 0.5 ? -1 : 1;
      }
      const rows: number[] = [];
      const cols: number[] = [];
      for (let f = start; f < end; f++) {
        if (moves && f > start && (f - start) % 2 === 0) {
          if (row + dr < 0 || row + dr >= R) dr = -dr;
          if (col + dc < colLo || col + dc > colHi) dc = -dc;
          row += dr;
          col += dc;
        }
        rows.push(row);
        cols.push(col);
      }
      ep.objects.push(objects.length);
      objects.push({ shape: shapes[k]!, colour: moves ? moverColour : colours[k]!, start, end, rows, cols, episode: e });
    }
    episodes.push(ep);
  }
  const mover = episodes[moverEpisode]!.objects.find((i) => objects[i]!.colour === moverColour)!;
  const events = sampleEvents(rng, preset, episodes, objects);
  return { frames: F, objects, events, episodes, mover };
}

function sampleEvents(rng: Rng, preset: AvPreset, episodes: Episode[], objects: SceneObject[]): SoundEvent[] {
  const K = episodes.length;
  const perFrame = audioTokensPerFrame(preset);
  const nEvents = rng.int(2, Math.min(K, 5));
  const palette = rng.shuffle([...SOUNDS]).slice(0, rng.int(2, 3));
  const chosen = rng.shuffle([...Array(K).keys()]).slice(0, nEvents).sort((a, b) => a - b);
  const events: SoundEvent[] = [];
  for (const e of chosen) {
    const ep = episodes[e]!;
    const obj = objects[ep.objects[0]!]!;
    const lo = obj.start * perFrame;
    const hi = obj.end * perFrame;
    const duration = Math.min(rng.int(8, 16), hi - lo);
    const onset = rng.int(lo, hi - duration);
    let pan: Pan;
    if (ep.objects.length === 2) pan = rng.next() < 0.5 ? 'left' : 'right';
    else pan = rng.next() < 0.5 ? 'center' : side(obj.cols[0]!, preset.gridCols);
    events.push({ sound: rng.pick(palette), onset, duration, pan, episode: e });
  }
  return events;
}

/** The object on the side a panned event comes from (two-object episodes only). */
export function sourceObject(scene: Scene, ev: SoundEvent, gridCols: number): number | undefined {
  const ep = scene.episodes[ev.episode]!;
  if (ep.objects.length !== 2 || ev.pan === 'center') return undefined;
  return ep.objects.find((i) => side(scene.objects[i]!.cols[0]!, gridCols) === ev.pan);
}
