/**
 * Position ids of each family rule on small cases computed by hand from transformers'
 * get_rope_index (models/qwen2_vl/modeling_qwen2_vl.py, models/qwen2_5_vl/modeling_qwen2_5_vl.py,
 * models/qwen2_5_omni/modeling_qwen2_5_omni.py, v4.5x) and get_chunked_index.
 */
import { describe, expect, it } from 'vitest';
import { AvSlot, chunkedIndex, writeAudioInVideo } from '../../../src/model/families/audio-in-video.js';
import { MropeIdWriter, omniTemporalIds, qwen25VLTemporalIds, qwen25VLTemporalIdsV5, qwen2VLTemporalIds, visionRelativeIds } from '../../../src/model/families/mrope-ids.js';
import { readReference } from '../hf-reference/models.js';

/** Token i's (t, h, w) from [3][n] ids. */
function triple(ids: Int32Array, i: number): [number, number, number] {
  const n = ids.length / 3;
  return [ids[i]!, ids[n + i]!, ids[2 * n + i]!];
}

describe('temporal ids', () => {
  it('Qwen2-VL: the temporal grid index, no time', () => {
    expect(qwen2VLTemporalIds(4)).toEqual([0, 1, 2, 3]);
  });

  it('Qwen2.5-VL: (k × second_per_grid × tokens_per_second).long() truncates where rounding would not', () => {
    // 0.5 s per grid × 25: 12.5 → 12 and 37.5 → 37 (rounding gives 13 and 38).
    expect(qwen25VLTemporalIds(4, 0.5, 25)).toEqual([0, 12, 25, 37]);
    // f32 as torch multiplies (second_per_grid_ts is float32): 5 × 0.16f × 25 = 19.999998 → 19 (f64 gives 20).
    expect(qwen25VLTemporalIds(6, 0.16, 25)[5]).toBe(19);
    // images: second_per_grid_t = 0.
    expect(qwen25VLTemporalIds(1, 0, 2)).toEqual([0]);
  });

  it('Qwen2.5-VL under transformers ≥ 5: k × tokens_per_second × int(second_per_grid); images k', () => {
    expect(qwen25VLTemporalIdsV5(4, 0.5, 25)).toEqual([0, 0, 0, 0]);
    expect(qwen25VLTemporalIdsV5(3, 1, 2)).toEqual([0, 2, 4]);
    expect(qwen25VLTemporalIdsV5(1, null, 2)).toEqual([0]);
  });

  it('Omni: (k × second_per_grids × position_id_per_seconds).long(); images k × 1 × pps', () => {
    // fps 3 → 2/3 s per grid: 16.666668 → 16, 33.333336 → 33.
    expect(omniTemporalIds(3, 2 / 3, 25)).toEqual([0, 16, 33]);
    expect(omniTemporalIds(2, null, 25)).toEqual([0, 25]);
  });
});

describe('MropeIdWriter (get_rope_index piece rule)', () => {
  it('Qwen2-VL: text, a 3-step 2×2 video, text; text after the span starts at 1 + its largest id', () => {
    const w = new MropeIdWriter();
    w.text(3); // "<|im_start|>", "\n", "<|vision_start|>" → 0, 1, 2
    w.piece(visionRelativeIds(qwen2VLTemporalIds(3), 2, 2), w.next);
    w.text(2);
    const ids = w.ids();
    expect(triple(ids, 2)).toEqual([2, 2, 2]);
    expect(triple(ids, 3)).toEqual([3, 3, 3]); // k0 r0 c0
    expect(triple(ids, 4)).toEqual([3, 3, 4]); // k0 r0 c1
    expect(triple(ids, 9)).toEqual([4, 4, 3]); // k1 r1 c0
    expect(triple(ids, 10)).toEqual([4, 4, 4]); // k1 r1 c1
    expect(triple(ids, 14)).toEqual([5, 4, 4]); // k2 r1 c1
    // the video's largest id is 5 (its t axis): the text goes on at 6, 7.
    expect(triple(ids, 15)).toEqual([6, 6, 6]);
    expect(triple(ids, 16)).toEqual([7, 7, 7]);
    expect(w.after).toBe(8);
  });

  it('reproduces the ids transformers computed for the committed Qwen2-VL image reference (hf-reference/reference.json)', () => {
    const ref = readReference()['qwen2-vl'] as unknown as { positions: number[][] } | undefined;
    expect(ref, 'test/model/hf-reference/reference.json has a qwen2-vl entry').toBeDefined();
    // 3 text tokens (the last is <|vision_start|>), an image grid 1×4×6 (merged 2×3), 3 text tokens.
    for (const v5 of [false, true]) {
      const w = new MropeIdWriter();
      w.text(3);
      const st = w.next;
      w.piece(visionRelativeIds(qwen2VLTemporalIds(1), 2, 3), st, v5 ? st + 3 : undefined);
      w.text(3);
      const ids = Array.from(w.ids());
      expect([ids.slice(0, 12), ids.slice(12, 24), ids.slice(24)]).toEqual(ref!.positions);
    }
  });

  it('transformers ≥ 5 continues after a video at start + max(rows, cols), below the last video t', () => {
    const w = new MropeIdWriter();
    w.text(2);
    const st = w.next;
    w.piece(visionRelativeIds(qwen2VLTemporalIds(4), 1, 2), st, st + 2);
    w.text(1);
    const ids = w.ids();
    expect(triple(ids, 9)).toEqual([st + 3, st, st + 1]); // last video token: step 3
    expect(triple(ids, 10)).toEqual([st + 2, st + 2, st + 2]);
    expect(w.after).toBe(st + 4);
  });

  it('Qwen2.5-VL: an image then a video at 0.5 s/grid, 25 tokens/s', () => {
    const w = new MropeIdWriter();
    w.text(1);
    w.piece(visionRelativeIds(qwen25VLTemporalIds(1, 0, 25), 1, 2), w.next); // image 1×2 at st 1
    w.text(2);
    w.piece(visionRelativeIds(qwen25VLTemporalIds(2, 0.5, 25), 1, 1), w.next);
    const ids = w.ids();
    expect([triple(ids, 1), triple(ids, 2)]).toEqual([
      [1, 1, 1],
      [1, 1, 2],
    ]);
    expect(triple(ids, 3)).toEqual([3, 3, 3]);
    expect(triple(ids, 5)).toEqual([5, 5, 5]);
    expect(triple(ids, 6)).toEqual([17, 5, 5]); // st 5 + 12
    expect(w.after).toBe(18);
  });

  it('Omni audio only: bos, audio and eos are sequential like text', () => {
    const w = new MropeIdWriter();
    w.text(2);
    w.text(1);
    w.text(5);
    w.text(1);
    expect(Array.from(w.ids().subarray(0, 9))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
  });
});

describe('chunkedIndex (get_chunked_index)', () => {
  it('closes a run at each chunk boundary crossed', () => {
    expect(chunkedIndex([5, 10, 52, 105, 150, 250], 100)).toEqual([
      [0, 3],
      [3, 5],
      [5, 6],
    ]);
  });

  it('a value that jumps several chunks closes only one run; the runs after lag behind', () => {
    expect(chunkedIndex([0, 160], 50)).toEqual([
      [0, 1],
      [1, 2],
    ]);
    // 170 is in the same 50-wide chunk as 160 but ≥ 2 × 50, so it closes the next run.
    expect(chunkedIndex([0, 160, 170], 50)).toEqual([
      [0, 1],
      [1, 2],
      [2, 3],
    ]);
  });
});

describe('writeAudioInVideo (use_audio_in_video)', () => {
  const relTimes = (tIds: number[], perStep: number, spg: number, pps: number): Float64Array =>
    Float64Array.from({ length: tIds.length * perStep }, (_, i) => Math.floor(i / perStep) * spg * pps);

  it('interleaves 2 s chunks with a boundary inside the video; bos and eos pairs share one id', () => {
    // 1 s per grid at 25 ids/s: steps at t = 0, 25, 50; merged grid 1×2; 60 audio tokens; 50 ids per chunk.
    const tIds = omniTemporalIds(3, 1, 25);
    const w = new MropeIdWriter();
    w.text(2);
    const order = writeAudioInVideo(w, { videoIds: visionRelativeIds(tIds, 1, 2), videoTimes: relTimes(tIds, 2, 1, 25), audioTokens: 60, tokensPerChunk: 50 });
    w.text(1);
    const V = AvSlot.video;
    const A = AvSlot.audio;
    expect(Array.from(order)).toEqual([...Array(4).fill(V), ...Array(50).fill(A), V, V, ...Array(10).fill(A)]);
    const ids = w.ids();
    expect([triple(ids, 2), triple(ids, 3)]).toEqual([
      [2, 2, 2],
      [2, 2, 2],
    ]);
    const at = (s: number): [number, number, number] => triple(ids, 4 + s); // slot s of the block
    expect([at(0), at(1), at(2), at(3)]).toEqual([
      [3, 3, 3],
      [3, 3, 4],
      [28, 3, 3],
      [28, 3, 4],
    ]);
    expect(at(4)).toEqual([3, 3, 3]); // audio 0
    expect(at(53)).toEqual([52, 52, 52]); // audio 49
    expect([at(54), at(55)]).toEqual([
      [53, 3, 3],
      [53, 3, 4],
    ]);
    expect(at(56)).toEqual([53, 53, 53]); // audio 50
    expect(at(65)).toEqual([62, 62, 62]); // audio 59
    expect([triple(ids, 70), triple(ids, 71)]).toEqual([
      [63, 63, 63],
      [63, 63, 63],
    ]);
    expect(triple(ids, 72)).toEqual([64, 64, 64]);
    expect(w.after).toBe(65);
  });

  it('the eos pair follows the last chunk, not the largest id (transformers: llm_pos_ids_list[-1].max() + 1)', () => {
    // One step of 60 merged rows (h ids up to 60) and 10 audio tokens: the last piece is the audio chunk.
    const w = new MropeIdWriter();
    writeAudioInVideo(w, { videoIds: visionRelativeIds([0], 60, 1), videoTimes: new Float64Array(60), audioTokens: 10, tokensPerChunk: 50 });
    const ids = w.ids();
    expect(triple(ids, 61)).toEqual([1, 60, 1]); // last video token
    expect(triple(ids, 71)).toEqual([10, 10, 10]); // last audio token
    expect([triple(ids, 72), triple(ids, 73)]).toEqual([
      [11, 11, 11],
      [11, 11, 11],
    ]);
    expect(w.after).toBe(61);
  });

  it('order follows the processor (f64 times), ids the model (f32, truncated), slot by slot as transformers pairs them', () => {
    // fps 20.5: step 41 is at 41 × (2/20.5) × 25 = 100 in f64 (processor: chunk 2) but 99 in f32 (model: chunk 1).
    const spg = 2 / 20.5;
    const tIds = omniTemporalIds(42, spg, 25);
    expect(tIds[41]).toBe(99);
    const w = new MropeIdWriter();
    const order = writeAudioInVideo(w, { videoIds: visionRelativeIds(tIds, 1, 1), videoTimes: relTimes(tIds, 1, spg, 25), audioTokens: 110, tokensPerChunk: 50 });
    const V = AvSlot.video;
    const A = AvSlot.audio;
    expect(Array.from(order)).toEqual([...Array(21).fill(V), ...Array(50).fill(A), ...Array(20).fill(V), ...Array(50).fill(A), V, ...Array(10).fill(A)]);
    const ids = w.ids();
    const at = (s: number): [number, number, number] => triple(ids, 2 + s);
    // Model list: video 21..41 (21 ids) then audio 50..99; the processor put only 20 video tokens there,
    // so audio token 50 (slot 91) takes video step 41's ids and video step 41 (slot 141) takes audio 99's.
    expect(at(91)).toEqual([1 + 99, 1, 1]);
    expect(at(92)).toEqual([1 + 50, 1 + 50, 1 + 50]);
    expect(at(141)).toEqual([1 + 99, 1 + 99, 1 + 99]);
    expect(at(142)).toEqual([1 + 100, 1 + 100, 1 + 100]);
  });
});
