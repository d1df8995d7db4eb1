/**
 * `kvprism run` over JSONL samples that name real media files: a tiny random Qwen2.5-Omni
 * folder, an mp4 with an audio track and a wav made by ffmpeg here, full cache + SnapKV +
 * AccKV at 20 %, shared and per-trial prefills; and the errors of a model or a file that
 * cannot serve such samples.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { musicAvqa } from '../../src/datasets/importers/music-avqa.js';
import { runImport } from '../../src/datasets/importers/run-import.js';
import { initModel } from '../../src/model/init-model.js';
import { loadModel } from '../../src/model/model.js';
import { embedPrompt } from '../../src/model/embed-prompt.js';
import type { QASample } from '../../src/model/prompt.js';
import { prepareSample } from '../../src/model/score.js';
import type { ResultRow } from '../../src/runner/result-row.js';
import { loadJsonlDataset } from '../../src/runner/jsonl-dataset.js';
import { MediaPromptResolver } from '../../src/runner/media-prompt.js';
import { runExperiment, type RunSummary } from '../../src/runner/run-experiment.js';
import { makeMedia, sine, testPattern } from '../model/media/make-media.js';

const devNull = new Writable({ write: (_c, _e, done) => done() }) as unknown as NodeJS.WriteStream;
const quiet = { live: false, log: () => {}, progressStream: devNull };

let dir: string;
let omni: string;
let dataset: string;
let shared: RunSummary;
let own: RunSummary;

function writeConfig(name: string, model: string, data: string, protocol = 'query-aware'): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    `name: ${name}
model: ${model}
dataset: { kind: jsonl, path: ${data} }
samples: 3
threads: 1
protocol: ${protocol}
policies: [full, snapkv, acckv]
budgets: ['20%']
metrics: [accuracy, fidelity, memory]
`,
  );
  return file;
}

function deterministic(r: ResultRow): Record<string, unknown> {
  const { wall_ms: _w, prefill_ms: _p, compression_ms: _c, decode_ms_per_token: _d, decode_ms_median: _m, finished_at: _f, peak_rss_bytes: _r, ...rest } = r;
  return rest;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kvprism-media-run-'));
  omni = join(dir, 'omni');
  initModel({ preset: 'tiny-qwen2.5-omni', out: omni });
  makeMedia(dir, 'clip.mp4', [...testPattern(96, 64, 10, 2), ...sine(440, 44100, 2), '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest']);
  makeMedia(dir, 'tone.wav', sine(660, 16000, 1));
  dataset = join(dir, 'av.jsonl');
  const lines = [
    { id: 'clip-q1', prompt: [{ video: 'clip.mp4', audioFromVideo: true }, { text: 'Is there a sound?' }], choices: [' yes', ' no'], answer: 0 },
    { id: 'clip-q2', prompt: [{ video: 'clip.mp4', audioFromVideo: true }, { text: 'Is it dark?' }], choices: [' yes', ' no'], answer: 1 },
    { id: 'tone', family: 'audio', prompt: [{ text: 'Listen.' }, { audio: join(dir, 'tone.wav') }, { text: 'High or low?' }], choices: [' high', ' low'], answer: 0 },
  ];
  writeFileSync(dataset, `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`);
  const config = writeConfig('av', omni, dataset);
  shared = await runExperiment({ configFile: config, out: join(dir, 'shared'), ...quiet });
  own = await runExperiment({ configFile: config, out: join(dir, 'own'), sharedPrefill: false, ...quiet });
}, 240_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('kvprism run over JSONL media pieces on a tiny Qwen2.5-Omni folder', () => {
  it('writes a row per trial; SnapKV and AccKV at 20 % keep fewer KV bytes than the full cache', async () => {
    expect(shared.failed).toEqual([]);
    expect(shared.rows.map((r) => r.policy).sort()).toEqual(['acckv', 'full', 'snapkv']);
    const bytes = (p: string) => shared.rows.find((r) => r.policy === p)!.kv_bytes!;
    expect(bytes('full')).toBeGreaterThan(0);
    expect(bytes('snapkv')).toBeLessThan(0.4 * bytes('full'));
    expect(bytes('acckv')).toBeLessThan(0.4 * bytes('full'));
    // prompt_tokens is the mean over samples of the framed prompt's length, towers' tokens included.
    const model = loadModel(omni);
    const resolver = new MediaPromptResolver(model);
    let total = 0;
    for (const sample of loadJsonlDataset(dataset)) total += embedPrompt(model, (await resolver.resolve(sample)).prompt).n;
    expect(shared.rows[0]!.prompt_tokens).toBeCloseTo(total / 3, 9);
    expect(total / 3).toBeGreaterThan(200);
  });

  it('records the same rows whether trials share one prefill per sample or prefill for themselves', () => {
    expect(own.failed).toEqual([]);
    const byId = (rows: ResultRow[]) => [...rows].sort((a, b) => a.trial_id.localeCompare(b.trial_id)).map(deterministic);
    expect(byId(shared.rows)).toEqual(byId(own.rows));
  });

  it('frames the pieces, in order, as one user turn with the generation prompt', async () => {
    const model = loadModel(omni);
    const [q1, q2, tone] = loadJsonlDataset(dataset);
    const resolver = new MediaPromptResolver(model);
    const r1 = await resolver.resolve(q1!);
    const r2 = await resolver.resolve(q2!);
    const rt = await resolver.resolve(tone!);
    const ids = (text: string) => model.tokenizer.encode(text);
    // Text tokens before the first tower span and after the last one.
    const around = (s: QASample) => {
      const segs = s.prompt.segments;
      const first = segs.findIndex((g) => g.kind === 'embeddings');
      const last = segs.length - 1 - [...segs].reverse().findIndex((g) => g.kind === 'embeddings');
      const flat = (part: typeof segs) => part.flatMap((g) => (g.kind === 'tokens' ? [...g.ids] : []));
      return { before: flat(segs.slice(0, first)), after: flat(segs.slice(last + 1)) };
    };
    const endsWith = (got: number[], text: string) => expect(got.slice(-ids(text).length)).toEqual(ids(text));
    endsWith(around(r1).before, '<|im_start|>user\n<|vision_bos|><|audio_bos|>');
    expect(around(r1).after).toEqual(ids('<|audio_eos|><|vision_eos|>Is there a sound?<|im_end|>\n<|im_start|>assistant\n'));
    endsWith(around(rt).before, '<|im_start|>user\nListen.<|audio_bos|>');
    expect(around(rt).after).toEqual(ids('<|audio_eos|>High or low?<|im_end|>\n<|im_start|>assistant\n'));
    expect(prepareSample(model, rt, true).tail).toHaveLength(1);
  });

  it('keeps the last sample\'s encoded media only: the next question about the same clip reuses it, a later sample re-reads', async () => {
    const model = loadModel(omni);
    const copy = join(dir, 'copy');
    mkdirSync(copy);
    copyFileSync(join(dir, 'clip.mp4'), join(copy, 'clip.mp4'));
    const file = join(copy, 'av.jsonl');
    writeFileSync(file, readFileSync(dataset, 'utf8'));
    const [q1, q2, tone] = loadJsonlDataset(file);
    const resolver = new MediaPromptResolver(model);
    const r1 = await resolver.resolve(q1!);
    rmSync(join(copy, 'clip.mp4'));
    // The file is gone: q2 can only have come from the kept encoding, and equals q1's media.
    const r2 = await resolver.resolve(q2!);
    const spans = (s: QASample) => s.prompt.segments.filter((g) => g.kind === 'embeddings').map((g) => g.data);
    expect(spans(r2)).toEqual(spans(r1));
    await resolver.resolve(tone!);
    await expect(resolver.resolve(q1!)).rejects.toThrow(join(copy, 'clip.mp4'));
  });

  it('query-agnostic holds back the question and the frame; with the full cache it scores as query-aware does', async () => {
    const agnostic = await runExperiment({ configFile: writeConfig('agnostic', omni, dataset, 'query-agnostic'), out: join(dir, 'agnostic'), ...quiet });
    expect(agnostic.failed).toEqual([]);
    const full = (s: RunSummary) => s.rows.find((r) => r.policy === 'full')!;
    expect(full(agnostic).accuracy).toBe(full(shared).accuracy);
    expect(full(agnostic).kv_bytes).toBeLessThan(full(shared).kv_bytes!);
    const model = loadModel(omni);
    const [q1] = loadJsonlDataset(dataset);
    const prepared = prepareSample(model, await new MediaPromptResolver(model).resolve(q1!), false);
    expect(prepared.tail).toEqual(model.tokenizer.encode('<|audio_eos|><|vision_eos|>Is there a sound?<|im_end|>\n<|im_start|>assistant\n'));
  }, 120_000);
});

describe('an imported benchmark with a real clip', () => {
  it('MUSIC-AVQA rows imported next to a real mp4 read back and run', async () => {
    const bench = join(dir, 'music-avqa');
    mkdirSync(join(bench, 'videos'), { recursive: true });
    copyFileSync(join(dir, 'clip.mp4'), join(bench, 'videos', '00000153.mp4'));
    const rows = [
      { video_id: '00000153', question_id: 13, type: '["Audio-Visual", "Existential"]', question_content: 'Is there a voiceover?', templ_values: '[]', question_deleted: 0, anser: 'yes' },
      { video_id: '00000153', question_id: 14, type: '["Audio-Visual", "Existential"]', question_content: 'Is the <Object> always playing?', templ_values: '["violin"]', question_deleted: 0, anser: 'no' },
    ];
    writeFileSync(join(bench, 'avqa-test.json'), JSON.stringify(rows));
    const out = join(bench, 'test.jsonl');
    runImport(musicAvqa, { annotations: join(bench, 'avqa-test.json'), media: join(bench, 'videos'), out });
    const samples = loadJsonlDataset(out);
    expect(samples.map((s) => s.prompt.segments[0])).toEqual([0, 1].map(() => ({ kind: 'media', request: { kind: 'video', file: join(bench, 'videos', '00000153.mp4'), audioFromVideo: true } })));
    const config = writeConfig('music', omni, out);
    writeFileSync(config, readFileSync(config, 'utf8').replace('samples: 3', 'samples: 2'));
    const run = await runExperiment({ configFile: config, out: join(dir, 'music-run'), ...quiet });
    expect(run.failed).toEqual([]);
    expect(run.rows).toHaveLength(3);
  }, 120_000);
});

describe('refusals', () => {
  it('a media file missing at load: the error names the file:line, the sample and the path', () => {
    const file = join(dir, 'missing.jsonl');
    writeFileSync(file, `${JSON.stringify({ id: 'lost', prompt: [{ video: 'clips/lost.mp4' }, { text: 'Q' }], choices: ['a', 'b'], answer: 0 })}\n`);
    expect(() => loadJsonlDataset(file)).toThrow(`${file}:1: prompt[0].video: sample "lost": media file "${join(dir, 'clips/lost.mp4')}" not found`);
  });

  it('a text-only model folder: every trial fails naming the sample and the missing towers, no row', async () => {
    const text = join(dir, 'text-model');
    initModel({ preset: 'tiny-qwen2', out: text });
    const run = await runExperiment({ configFile: writeConfig('text', text, dataset), out: join(dir, 'text-run'), ...quiet });
    expect(run.rows).toEqual([]);
    expect(run.failed.length).toBeGreaterThan(0);
    for (const f of run.failed) expect(f.error).toContain('sample clip-q1 has media pieces, but the model folder');
    expect(run.failed[0]!.error).toContain('no vision or audio tower');
  });

  it('a folder with towers but no preprocessor_config.json is refused naming the sample and the file', async () => {
    const bare = join(dir, 'omni-bare');
    initModel({ preset: 'tiny-qwen2.5-omni', out: bare });
    rmSync(join(bare, 'preprocessor_config.json'));
    const [q1] = loadJsonlDataset(dataset);
    const err = await new MediaPromptResolver(loadModel(bare)).resolve(q1!).catch((e: Error) => e);
    expect(String(err)).toContain('sample clip-q1 has media pieces, but the model folder cannot read media');
    expect(String(err)).toContain(join(bare, 'preprocessor_config.json'));
  });

  it('an unreadable media file fails the sample naming it and the file', async () => {
    const file = join(dir, 'broken.jsonl');
    writeFileSync(join(dir, 'empty.wav'), '');
    writeFileSync(file, `${JSON.stringify({ id: 'hollow', prompt: [{ audio: 'empty.wav' }, { text: 'Q' }], choices: ['a', 'b'], answer: 0 })}\n`);
    const [hollow] = loadJsonlDataset(file);
    await expect(new MediaPromptResolver(loadModel(omni)).resolve(hollow!)).rejects.toThrow(`sample hollow: ${join(dir, 'empty.wav')}`);
  });

  it('a clip bound (start / end) is refused naming the sample and the file', async () => {
    const file = join(dir, 'bounded.jsonl');
    writeFileSync(file, `${JSON.stringify({ id: 'cut', prompt: [{ video: 'clip.mp4', start: 0.5, end: 1.5 }, { text: 'Q' }], choices: ['a', 'b'], answer: 0 })}\n`);
    const [cut] = loadJsonlDataset(file);
    const resolver = new MediaPromptResolver(loadModel(omni));
    await expect(resolver.resolve(cut!)).rejects.toThrow(`sample cut: prompt[0] (${join(dir, 'clip.mp4')}) gives start/end`);
  });

  it('multi-turn over media samples is refused with the protocols that work', async () => {
    const run = await runExperiment({ configFile: writeConfig('turns', omni, dataset, 'multi-turn'), out: join(dir, 'turns'), ...quiet });
    expect(run.rows).toEqual([]);
    expect(run.failed[0]!.error).toContain('protocol multi-turn does not support');
  });
});
