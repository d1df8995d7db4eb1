/**
 * JSONL media pieces ({video} | {audio} | {image}): what the reader accepts, what it refuses
 * (each error naming file:line and the field), and embedPrompt's refusal of an unencoded one.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { embedPrompt } from '../../src/model/embed-prompt.js';
import { loadModel } from '../../src/model/model.js';
import { loadJsonlDataset } from '../../src/runner/jsonl-dataset.js';

/** A tmp folder with clips/a.mp4, clips/b.wav, clips/c.png (contents irrelevant to the reader) and the JSONL. */
function dataset(lines: unknown[]): { file: string; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'kvprism-media-ds-'));
  mkdirSync(join(dir, 'clips'));
  for (const f of ['a.mp4', 'b.wav', 'c.png']) writeFileSync(join(dir, 'clips', f), 'x');
  const file = join(dir, 'qa.jsonl');
  writeFileSync(file, lines.map((l) => JSON.stringify(l)).join('\n'));
  return { file, dir };
}

const sample = (prompt: unknown[], extra: Record<string, unknown> = {}) => ({ id: 's1', prompt, choices: [' yes', ' no'], answer: 0, ...extra });

describe('JSONL media pieces', () => {
  it('become media segments in prompt order, paths resolved from the JSONL folder, clip bounds kept', () => {
    const elsewhere = join(mkdtempSync(join(tmpdir(), 'kvprism-media-abs-')), 'c.png');
    writeFileSync(elsewhere, 'x');
    const { file, dir } = dataset([
      sample([{ video: 'clips/a.mp4', audioFromVideo: true, start: 1, end: 2.5 }, { text: 'Q?' }, { audio: 'clips/b.wav' }, { image: elsewhere }]),
    ]);
    const [s] = loadJsonlDataset(file);
    expect(s!.prompt.segments).toEqual([
      { kind: 'media', request: { kind: 'video', file: join(dir, 'clips/a.mp4'), audioFromVideo: true }, start: 1, end: 2.5 },
      { kind: 'text', text: 'Q?', positions: undefined },
      { kind: 'media', request: { kind: 'audio', file: join(dir, 'clips/b.wav') } },
      { kind: 'media', request: { kind: 'image', file: elsewhere } },
    ]);
  });

  it('refuses bad pieces naming file:line, the field and the piece form', () => {
    const cases: [unknown[], Record<string, unknown>, string][] = [
      [[{ video: 'clips/a.mp4', fps: 2 }], {}, ':1: prompt[0]'],
      [[{ video: 'clips/a.mp4', start: 3, end: 2 }], {}, ':1: prompt[0].end: end must be after start'],
      [[{ video: 'clips/a.mp4', audioFromVideo: 'yes' }], {}, ':1: prompt[0].audioFromVideo'],
      [[{ audio: '' }], {}, ':1: prompt[0].audio'],
      [[{ video: 'clips' }], {}, `:1: prompt[0].video: sample "s1": "`],
      [[{ video: 'clips/a.mp4' }, { tokens: [1, 2] }], {}, ':1: prompt[1]: a tokens piece cannot join media pieces'],
      [[{ video: 'clips/a.mp4' }, { text: 'Q', positions: [0] }], {}, ':1: prompt[1].positions: not allowed beside media pieces'],
      [[{ image: 'clips/c.png' }, { text: 'Q' }], { addBos: true }, ':1: addBos: not allowed on a sample with media pieces'],
    ];
    for (const [prompt, extra, message] of cases) {
      const { file } = dataset([sample(prompt, extra)]);
      expect(() => loadJsonlDataset(file), message).toThrow(`${file}${message}`);
    }
    const { file } = dataset([sample([{ video: 'clips/a.mp4', fps: 2 }])]);
    expect(() => loadJsonlDataset(file)).toThrow('(video piece form: {video, audioFromVideo?, start?, end?})');
  });

  it('a directory in place of a file is refused as such', () => {
    const { file, dir } = dataset([sample([{ video: 'clips' }])]);
    expect(() => loadJsonlDataset(file)).toThrow(`sample "s1": "${join(dir, 'clips')}" is a directory; expected a video file`);
  });

  it('embedPrompt refuses an unencoded media segment, pointing at encodeMedia + buildChatPrompt', () => {
    const model = loadModel(fileURLToPath(new URL('../../../shared/models/stories260K', import.meta.url)));
    const { file, dir } = dataset([sample([{ text: 'Q' }, { audio: 'clips/b.wav' }])]);
    const [s] = loadJsonlDataset(file);
    expect(() => embedPrompt(model, s!.prompt)).toThrow(`prompt.segments[1] (media): ${join(dir, 'clips/b.wav')}: media segments must be encoded first: encodeMedia + buildChatPrompt`);
  });
});
