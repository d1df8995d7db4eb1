/** `kvprism dataset import` as a user calls it (a child process through bin/kvprism.js). */
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { fixture, readBackChoices } from './fixture.js';

const bin = fileURLToPath(new URL('../../../bin/kvprism.js', import.meta.url));
const kvprism = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });

const rows = [
  { id: 1, video_name: 'aaa_000010', video_id: 1, question_text: 'What is making the sound?', multi_choice: ['dog', 'cat', 'car', 'bell'], answer: 2, question_relation: 'Both', question_type: 'Which' },
  { id: 2, video_name: 'bbb_000020', video_id: 2, question_text: 'Where is the sound coming from?', multi_choice: ['left', 'right', 'above', 'below'], answer: 0, question_relation: 'Audio', question_type: 'Come From' },
];

describe('kvprism dataset import (CLI)', () => {
  it('writes the JSONL, prints the summary, and points outside its folder with absolute paths', () => {
    const f = fixture(rows, ['aaa_000010.mp4', 'bbb_000020.mp4']);
    const outDir = join(f.dir, 'elsewhere');
    mkdirSync(outDir);
    const out = join(outDir, 'avqa.jsonl');
    const r = kvprism('dataset', 'import', 'avqa', '--annotations', f.annotations, '--media', f.media, '--out', out);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(`avqa: wrote 2 samples to ${out} (none skipped)`);
    const samples = readBackChoices(out);
    expect((samples[0]!.prompt as unknown[])[0]).toEqual({ video: join(f.media, 'aaa_000010.mp4'), audioFromVideo: true });
  });

  it('bad input: one line naming file, row and field, exit code 1, no stack trace', () => {
    const f = fixture([rows[0], { ...rows[1], answer: 9 }], ['aaa_000010.mp4', 'bbb_000020.mp4']);
    const r = kvprism('dataset', 'import', 'avqa', '--annotations', f.annotations, '--media', f.media, '--out', f.out);
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toBe(`kvprism dataset import: ${f.annotations}: row 1 (id 2): field "answer": expected an index into multi_choice (0..3); got 9 (number)`);
    const missing = kvprism('dataset', 'import', 'avqa', '--annotations', f.annotations, '--media', join(f.dir, 'nope'), '--out', f.out);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain('--media: ');
    expect(missing.stderr).not.toMatch(/\n\s+at /);
  });
});
