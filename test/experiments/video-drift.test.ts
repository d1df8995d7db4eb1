/**
 * AccKV's "upper layers drift toward video" analysis reads text→media attention: FlowCapture
 * adds up the text query rows only (by default), on the real TypeScript attention backend.
 */
import { describe, expect, it } from 'vitest';
import type { AttendArgs, KVLayout } from '../../src/attention/backend.js';
import { tsBackend } from '../../src/attention/ts-backend.js';
import { ModalityCode } from '../../src/cache/modality.js';
import { FlowCapture, type CapturedQueryRows } from '../../src/runner/flow-capture.js';

const { text, video, audio } = ModalityCode;

/** One KV head, headDim 2: slots text, video, audio, text at positions 0..3; keys point video → x, audio → y. */
const kv: KVLayout = {
  kvHeads: 1, headDim: 2, capacity: 4, dtype: 'f32',
  keys: new Float32Array([0, 0, 4, 0, 0, 4, 0, 0]),
  values: new Float32Array(8),
  lengths: new Int32Array([4]),
  positions: new Int32Array([0, 1, 2, 3]),
  modality: new Uint8Array([text, video, audio, text]),
};

/** Query rows (modality, position, query vector): media rows look at their own modality, the text rows at audio. */
const ROWS = [
  { m: text, pos: 0, q: [0, 0] },
  { m: video, pos: 1, q: [1, 0] },
  { m: audio, pos: 2, q: [0, 1] },
  { m: text, pos: 3, q: [0, 1] },
];

function args(rows: typeof ROWS): AttendArgs {
  return {
    q: new Float32Array(rows.flatMap((r) => r.q)), n: rows.length, qHeads: 1,
    qPositions: new Int32Array(rows.map((r) => r.pos)), qModality: new Uint8Array(rows.map((r) => r.m)),
    kv, scale: 1, needs: {},
  };
}

/** [modality] share of one prefill's captured attention (one layer). */
function shares(rows: typeof ROWS, queryRows?: CapturedQueryRows): number[] {
  const capture = new FlowCapture(tsBackend, 1, queryRows);
  capture.begin();
  capture.backend.attend(args(rows));
  capture.end();
  return capture.massByLayer()[0]!;
}

describe('FlowCapture: text→media attention', () => {
  it('counts the text query rows only: the same shares as attending with the text rows alone', () => {
    const textOnly = shares(ROWS);
    const fromTextRows = shares(ROWS.filter((r) => r.m === text), 'all');
    textOnly.forEach((s, m) => expect(s).toBeCloseTo(fromTextRows[m]!, 12));
    expect(textOnly.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    // The text rows look at audio, never more at video than at audio.
    expect(textOnly[audio]!).toBeGreaterThan(textOnly[video]!);
  });

  it("keeps the all-rows reading as an option, where the media rows' own attention dominates", () => {
    const all = shares(ROWS, 'all');
    expect(all[video]!).toBeGreaterThan(shares(ROWS)[video]! + 0.1);
  });

  it('a prefill without text rows captures nothing (all shares 0), and capture is off outside begin/end', () => {
    expect(shares(ROWS.filter((r) => r.m !== text))).toEqual([0, 0, 0, 0]);
    const capture = new FlowCapture(tsBackend, 1);
    capture.backend.attend(args(ROWS));
    expect(capture.massByLayer()[0]).toEqual([0, 0, 0, 0]);
  });
});
