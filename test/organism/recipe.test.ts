import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadRecipe, runRecipe } from '../../src/organism/recipe.js';
import { parseTrainFlags } from '../../src/organism/train-options.js';
import { loadSafetensors } from '../../src/organism/safetensors-io.js';
import { loadOrganism } from '../../src/organism/hf-folder.js';
import { modelCard } from '../../src/organism/model-card.js';
import { STAGE_DONE } from '../../src/organism/train.js';

const dir = () => mkdtempSync(join(tmpdir(), 'kvprism-recipe-'));

function recipeFile(text: string): { file: string; out: string; checkpointDir: string } {
  const d = dir();
  const file = join(d, 'recipe.yaml');
  writeFileSync(file, text);
  return { file, out: join(d, 'model'), checkpointDir: join(d, 'ckpt') };
}

// Two tiny stages of the real training loop: 8-frame clips, one clip per step, two questions.
const TINY = `stages:
  - name: first
    seed: 2
    steps: 3
    warmup: 1
    min-frames: 8
    max-frames: 8
    tokens-per-batch: 300
    questions-per-family: 1
    families: sound-order,av-visible
    eval-count: 2
    test-count: 2
  - name: second
    seed: 3
    steps: 4
    stop-at: 2
    warmup: 1
    min-frames: 8
    max-frames: 8
    tokens-per-batch: 300
    questions-per-family: 1
    uniform-question: true
    question-probe-weight: 1
    eval-count: 2
    test-count: 2
`;

describe('training recipes', () => {
  it('parses each stage with the command\'s own flags (booleans, --stop-at) and places its checkpoint folder', async () => {
    const r = recipeFile(TINY);
    const stages = await loadRecipe(r.file, r);
    expect(stages.map((s) => s.name)).toEqual(['first', 'second']);
    expect(stages[1]!.flags).toContain('--uniform-question');
    expect(stages[1]!.options).toMatchObject({ seed: 3, steps: 4, stopAt: 2, uniformQuestion: true, questionProbeWeight: 1, out: r.out, checkpointDir: join(r.checkpointDir, 'second') });
    expect(stages[0]!.options.families).toEqual(['sound-order', 'av-visible']);
    expect(stages[0]!.options.uniformQuestion).toBe(false);
  });

  it.each([
    ['stages: [', /not valid YAML/],
    ['- a\n- b', /top level\): expected a mapping/],
    ['stages: []', /stages: expected a non-empty list/],
    ['stages: [{name: a}]\nsteps: 3', /steps: not a recipe key/],
    ['stages: [{steps: 3}]', /stages\[0\]\.name: expected a lower-case name/],
    ['stages: [{name: a}, {name: a}]', /stages\[1\]\.name: "a" is used by an earlier stage/],
    ['stages: [{name: a, init: x.safetensors}]', /stages\[0\]\.init: set by the recipe/],
    ['stages: [{name: a, steps: [1, 2]}]', /stages\[0\]\.steps: expected a number, string or true\/false/],
    ['stages: [{name: a, stepz: 3}]', /stages\[0\] \(a\): Unknown argument: stepz/],
    ['stages: [{name: a, steps: -3}]', /stages\[0\] \(a\): --steps must be a positive integer; got -3/],
    ['stages: [{name: a, steps: 3, stop-at: 5}]', /--stop-at must be an integer in 1\.\.--steps \(3\); got 5/],
    ['stages:\n  - name: a\n    families: sound-count,cooking', /--families: "cooking" is not a family/],
  ])('rejects %j naming the file and the field', async (text, message) => {
    const r = recipeFile(text);
    const err = await loadRecipe(r.file, r).then(() => undefined, (e: unknown) => e as Error);
    expect(err?.message).toMatch(message);
    expect(err?.message).toContain(r.file);
  });

  it('names a missing recipe file', async () => {
    await expect(loadRecipe('/nonexistent/recipe.yaml', { out: 'o', checkpointDir: 'c' })).rejects.toThrow(/\/nonexistent\/recipe\.yaml: cannot read the recipe \(ENOENT\)/);
  });

  it('--stop-at ends a stage early without changing its schedule', async () => {
    await expect(parseTrainFlags(['--steps=10', '--stop-at=0'], 'test')).rejects.toThrow(/--stop-at must be an integer in 1\.\.--steps/);
    expect((await parseTrainFlags(['--steps=10', '--stop-at=4'], 'test')).stopAt).toBe(4);
  });

  it('runs the stages in order, each from the one before; a rerun skips finished stages and resumes a cut one', async () => {
    const r = recipeFile(TINY);
    const stages = await loadRecipe(r.file, r);
    const lines: string[] = [];
    const { result, stages: reports } = await runRecipe(r.file, stages, (l) => lines.push(l));
    expect(reports.map((s) => [s.name, s.steps, s.planned])).toEqual([['first', 3, 3], ['second', 2, 2]]);
    // The second stage started from the first's final checkpoint, not from a fresh initialisation.
    const firstCkpt = join(r.checkpointDir, 'first', 'checkpoint.safetensors');
    expect(lines.some((l) => l.startsWith(`initialised from ${firstCkpt} (step 3 of its run)`))).toBe(true);
    // The question probe is new in stage two: it starts fresh rather than failing the warm start.
    expect(lines.some((l) => l.startsWith('question_probe.weight is not in'))).toBe(true);
    expect(loadSafetensors(join(r.checkpointDir, 'second', 'checkpoint.safetensors')).metadata.step).toBe('2');
    expect(existsSync(join(r.checkpointDir, 'first', STAGE_DONE))).toBe(true);
    const saved = loadOrganism(r.out).model.params.get('lm_head.weight')!.data;
    expect(Array.from(saved)).toEqual(Array.from(result.model.params.get('lm_head.weight')!.data));
    expect(readFileSync(join(r.out, 'recipe.yaml'), 'utf8')).toBe(TINY);

    const card = modelCard(result.model.config, stages[1]!.options, result, `npm run organism:train -- --recipe ${r.file}`, reports);
    expect(card).toContain('2 stages in one run');
    expect(card).toMatch(/\| first \| `--seed=2 --steps=3 .*` \| 3 of 3 \| [\d.]+ \|/);
    expect(card).toMatch(/\| second \| `.*--stop-at=2.*--uniform-question.*` \| 2 of 2 \| [\d.]+ \|/);

    // Rerun: nothing is trained again; the last stage is reloaded from its checkpoint.
    const again: string[] = [];
    const rerun = await runRecipe(r.file, stages, (l) => again.push(l));
    expect(again.filter((l) => l.includes('finished earlier'))).toHaveLength(2);
    expect(again.some((l) => l.startsWith('step '))).toBe(false);
    expect(Array.from(rerun.result.model.params.get('lm_head.weight')!.data)).toEqual(Array.from(saved));

    // A stage cut before it finished (no stage.json) resumes from its checkpoint.
    rmSync(join(r.checkpointDir, 'second', STAGE_DONE));
    const resumed: string[] = [];
    await runRecipe(r.file, stages, (l) => resumed.push(l));
    expect(resumed.some((l) => l.startsWith(`resumed ${join(r.checkpointDir, 'second', 'checkpoint.safetensors')} at step 2`))).toBe(true);

    // An edited stage does not reuse the folder of the old one.
    writeFileSync(r.file, TINY.replace('seed: 3', 'seed: 4'));
    const edited = await loadRecipe(r.file, r);
    await expect(runRecipe(r.file, edited, () => {})).rejects.toThrow(/recipe stage second: .*second holds a checkpoint trained with other flags \(--seed=3 .*\); delete that folder/);
  }, 120_000);

  it('parses every recipe the package ships; the long and plain organisms extend the bundled one', async () => {
    const paths = { out: 'o', checkpointDir: 'c' };
    const bundled = await loadRecipe('models/av-organism/recipe.yaml', paths);
    const scratch = await loadRecipe('models/av-organism/eval/plain-scratch-recipe.yaml', paths);
    const long = await loadRecipe('models/av-organism-long/recipe.yaml', paths);
    const plain = await loadRecipe('models/av-organism-plain/recipe.yaml', paths);
    expect(bundled.map((s) => s.name)).toEqual(['base', 'existence', 'mixed']);
    expect(scratch.map((s) => s.name)).toEqual(['base', 'existence', 'mixed', 'long']);
    expect(long.map((s) => s.name)).toEqual(['base', 'existence', 'mixed', 'long', 'long-only']);
    expect(plain.map((s) => s.name)).toEqual(['base', 'existence', 'mixed', 'plain']);
    // The first three stages are the bundled organism's, flag for flag.
    for (let i = 0; i < 3; i++) expect(long[i]!.flags).toEqual(bundled[i]!.flags);
    for (let i = 0; i < 3; i++) expect(plain[i]!.flags).toEqual(bundled[i]!.flags);
    // The plain stage relearns the answer layer with no attention supervision and no probes.
    expect(plain[3]!.options).toMatchObject({ reinitLayers: [3], motionLabels: true, attentionWeight: 0, probeWeight: 0, questionProbeWeight: 0 });
    expect(long[3]!.options).toMatchObject({ maxFrames: 160, attentionWeight: 1 });
    expect(long[4]!.options).toMatchObject({ minFrames: 96, maxFrames: 160, rampFraction: 0 });
  });
});
