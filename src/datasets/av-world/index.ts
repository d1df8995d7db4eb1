/** The AV world: a seeded procedural audio-video QA generator (see datasets/av-world/README.md). */
export * from './vocab.js';
export * from './presets.js';
export { Rng } from './rng.js';
export { sampleScene, sourceObject, type Scene, type SceneObject, type SoundEvent, type Episode } from './scene.js';
export { askQuestion, type Question } from './questions.js';
export { renderVideo, shapeCovers } from './render-video.js';
export { renderAudio, type StereoAudio } from './render-audio.js';
export { videoFeatures, VIDEO_FEATURE_DIM } from './video-frontend.js';
export { audioFeatures, audioFeatureDim, fft } from './audio-frontend.js';
export { SPLITS, clipSeed, renderClip, clipForFamily, clipWithQuestions, type Split, type Clip } from './clip.js';
export { avWorldSamples, clipSegments, questionSample, evidencePositions, VIDEO_SEGMENT, AUDIO_SEGMENT, type AvWorldOptions } from './samples.js';
export { avWorldClipQuestions, type ClipQuestionsOptions } from './clip-questions.js';
export { evidenceTokens, eventSource, objectPatches, type EvidenceTokens } from './evidence.js';
export type { Evidence } from './questions.js';
