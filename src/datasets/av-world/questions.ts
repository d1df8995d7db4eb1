/**
 * Question families over a scene. Each family returns a question (word-level text ending in
 * "answer", so the answer is the next token), its closed choice set and the correct index,
 * or undefined when the scene cannot pose it unambiguously.
 */
import { Rng } from './rng.js';
import { sourceObject, type Scene } from './scene.js';
import { COLOURS, COUNTS, SHAPES, YES_NO, type Family, type Sound } from './vocab.js';

/**
 * Where the answer lives in the clip: the tokens a model must read to answer (by
 * construction). Sound events contribute their audio tokens (only the onset token with
 * `onsetsOnly`); objects contribute every patch they cover. `withSink`: counting questions
 * answer from how much attention the evidence takes against the sequence start.
 */
export interface Evidence {
  events: number[];
  objects: number[];
  onsetsOnly: boolean;
  withSink: boolean;
}

export interface Question {
  family: Family;
  text: string;
  choices: string[];
  answer: number;
  evidence: Evidence;
}

const evidence = (e: Partial<Evidence>): Evidence => ({ events: [], objects: [], onsetsOnly: false, withSink: false, ...e });

function soundCounts(scene: Scene): Map<Sound, number> {
  const m = new Map<Sound, number>();
  for (const e of scene.events) m.set(e.sound, (m.get(e.sound) ?? 0) + 1);
  return m;
}

const q = (family: Family, words: string, choices: readonly string[], answerWord: string, ev: Partial<Evidence>): Question => {
  const answer = choices.indexOf(answerWord);
  if (answer < 0) throw new Error(`av-world ${family}: answer "${answerWord}" is not among its choices`);
  return { family, text: `question ${words} answer`, choices: [...choices], answer, evidence: evidence(ev) };
};

/** What was on screen when a (unique) sound happened: needs audio and video. */
function avVisible(scene: Scene, rng: Rng): Question | undefined {
  const counts = soundCounts(scene);
  const ok = scene.events.filter((e) => counts.get(e.sound) === 1 && scene.episodes[e.episode]!.objects.length === 1);
  if (ok.length === 0) return undefined;
  const ev = rng.pick(ok);
  const obj = scene.objects[scene.episodes[ev.episode]!.objects[0]!]!;
  // The sound's tokens: a model binds what is on screen to them while reading the clip.
  return q('av-visible', `what shape was visible when the ${ev.sound} sounded`, SHAPES, obj.shape, { events: [scene.events.indexOf(ev)] });
}

/** Which of two sounds came first: audio order. */
function soundOrder(scene: Scene, rng: Rng): Question | undefined {
  const first = new Map<Sound, number>();
  scene.events.forEach((e, i) => {
    if (!first.has(e.sound)) first.set(e.sound, i);
  });
  const present = [...first.keys()];
  if (present.length < 2) return undefined;
  const [a, b] = rng.shuffle(present).slice(0, 2) as [Sound, Sound];
  const answer = scene.events[first.get(a)!]!.onset < scene.events[first.get(b)!]!.onset ? a : b;
  return q('sound-order', `which sound came first the ${a} or the ${b}`, [a, b], answer, { events: [first.get(answer)!], onsetsOnly: true });
}

/** How many times a sound occurred: audio counting. */
function soundCount(scene: Scene, rng: Rng): Question | undefined {
  const counts = [...soundCounts(scene)].filter(([, n]) => n <= COUNTS.length);
  if (counts.length === 0) return undefined;
  const [sound, n] = rng.pick(counts);
  const events = scene.events.flatMap((e, i) => (e.sound === sound ? [i] : []));
  return q('sound-count', `how many times did the ${sound} sound`, COUNTS, COUNTS[n - 1]!, { events, onsetsOnly: true, withSink: true });
}

/** Which object moved: video motion. The mover's colour is unique in the clip. */
function movedObject(scene: Scene): Question | undefined {
  const m = scene.objects[scene.mover]!;
  const moved = m.rows.some((r, i) => r !== m.rows[0] || m.cols[i] !== m.cols[0]);
  if (!moved) return undefined;
  return q('moved-object', 'what colour was the object that moved', COLOURS, m.colour, { objects: [scene.mover] });
}

/** Which object a (unique) sound came from: stereo pan against object position. */
function soundSource(scene: Scene, rng: Rng, gridCols: number): Question | undefined {
  const counts = soundCounts(scene);
  const ok = scene.events.filter((e) => counts.get(e.sound) === 1 && sourceObject(scene, e, gridCols) !== undefined);
  if (ok.length === 0) return undefined;
  const ev = rng.pick(ok);
  const obj = scene.objects[sourceObject(scene, ev, gridCols)!]!;
  return q('sound-source', `which shape made the ${ev.sound} sound`, SHAPES, obj.shape, { events: [scene.events.indexOf(ev)] });
}

/** Whether an object of a colour and shape appeared; negatives share one attribute. */
function objectExists(scene: Scene, rng: Rng): Question | undefined {
  const present = new Set(scene.objects.map((o) => `${o.colour} ${o.shape}`));
  if (rng.next() < 0.5) {
    const name = rng.pick([...present]);
    const objects = scene.objects.flatMap((o, i) => (`${o.colour} ${o.shape}` === name ? [i] : []));
    return q('object-exists', `was there a ${name}`, YES_NO, 'yes', { objects });
  }
  const negatives: string[] = [];
  for (const o of scene.objects) {
    for (const c of COLOURS) if (!present.has(`${c} ${o.shape}`)) negatives.push(`${c} ${o.shape}`);
    for (const s of SHAPES) if (!present.has(`${o.colour} ${s}`)) negatives.push(`${o.colour} ${s}`);
  }
  if (negatives.length === 0) return undefined;
  return q('object-exists', `was there a ${rng.pick(negatives)}`, YES_NO, 'no', {});
}

/** Poses one question of `family` about `scene`, or undefined if the scene cannot. */
export function askQuestion(family: Family, scene: Scene, rng: Rng, gridCols: number): Question | undefined {
  switch (family) {
    case 'av-visible': return avVisible(scene, rng);
    case 'sound-order': return soundOrder(scene, rng);
    case 'sound-count': return soundCount(scene, rng);
    case 'moved-object': return movedObject(scene);
    case 'sound-source': return soundSource(scene, rng, gridCols);
    case 'object-exists': return objectExists(scene, rng);
  }
}
