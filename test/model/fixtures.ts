/** Shared test fixtures of the model runtime: the real stories260K checkpoint and a long story. */
import { fileURLToPath } from 'node:url';
import type { ComputeBackend } from '../../src/attention/backend.js';

export const STORIES_DIR = fileURLToPath(new URL('../../../shared/models/stories260K', import.meta.url));

/** A TinyStories-style story (~460 tokens with the stories260K tokenizer), written for these tests. */
export const LONG_STORY =
  'Once upon a time, there was a little girl named Lily. She lived in a small house with her mom and dad and her dog, Max. ' +
  'Every day, Lily and Max played in the big green park near their house. One sunny morning, Lily found a shiny red ball under a tree. ' +
  'She was very happy and showed it to Max. Max barked and ran after the ball. They played all day long. ' +
  'Then the sky became dark and it started to rain. Lily and Max ran home. Mom gave Lily a warm towel and a cup of milk. ' +
  'Lily said, "Thank you, Mom. I love you." Mom smiled and gave her a big hug. The next day, the sun came out again. ' +
  'Lily took the red ball and went to the park with Max. She met a boy named Tim. Tim was sad because he lost his toy car. ' +
  'Lily wanted to help him. They looked under the slide, behind the trees and near the pond. At last, Max found the little car in the sand. ' +
  'Tim was so happy. He said, "Thank you, Lily and Max!" Lily shared her red ball with Tim, and they played together until it was time to go home. ' +
  'From that day on, Lily, Tim and Max were best friends, and they played in the park every day.';

/** The native CPU backend when the addon is built, else null (tests needing it skip). */
export async function nativeCpuBackend(): Promise<ComputeBackend | null> {
  const specifier = '../../src/attention/select-backend.js';
  try {
    const mod = (await import(/* @vite-ignore */ specifier)) as { selectBackend?: (name: 'cpu') => ComputeBackend | Promise<ComputeBackend> };
    return mod.selectBackend ? await mod.selectBackend('cpu') : null;
  } catch {
    return null;
  }
}
