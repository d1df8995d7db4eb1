/**
 * MVBench's 20 tasks: annotation file (json/<key>.json), the video folder under the MVBench
 * video root, and whether the media are video files or frame folders. Taken from the
 * `data_list` of Ask-Anything's video_chat2/mvbench.ipynb (OpenGVLab), which lmms-eval and
 * other evaluators copy; the `bound` column there is "the rows carry start/end seconds".
 */
export interface MvbenchTask {
  key: string;
  name: string;
  /** Folder of the task's media under the MVBench video root. */
  prefix: string;
  dataType: 'video' | 'frame';
}

const table: [key: string, name: string, prefix: string, dataType: 'video' | 'frame'][] = [
  ['action_sequence', 'Action Sequence', 'star/Charades_v1_480/', 'video'],
  ['action_prediction', 'Action Prediction', 'star/Charades_v1_480/', 'video'],
  ['action_antonym', 'Action Antonym', 'ssv2_video/', 'video'],
  ['fine_grained_action', 'Fine-grained Action', 'Moments_in_Time_Raw/videos/', 'video'],
  ['unexpected_action', 'Unexpected Action', 'FunQA_test/test/', 'video'],
  ['object_existence', 'Object Existence', 'clevrer/video_validation/', 'video'],
  ['object_interaction', 'Object Interaction', 'star/Charades_v1_480/', 'video'],
  ['object_shuffle', 'Object Shuffle', 'perception/videos/', 'video'],
  ['moving_direction', 'Moving Direction', 'clevrer/video_validation/', 'video'],
  ['action_localization', 'Action Localization', 'sta/sta_video/', 'video'],
  ['scene_transition', 'Scene Transition', 'scene_qa/video/', 'video'],
  ['action_count', 'Action Count', 'perception/videos/', 'video'],
  ['moving_count', 'Moving Count', 'clevrer/video_validation/', 'video'],
  ['moving_attribute', 'Moving Attribute', 'clevrer/video_validation/', 'video'],
  ['state_change', 'State Change', 'perception/videos/', 'video'],
  ['fine_grained_pose', 'Fine-grained Pose', 'nturgbd/', 'video'],
  ['character_order', 'Character Order', 'perception/videos/', 'video'],
  ['egocentric_navigation', 'Egocentric Navigation', 'vlnqa/', 'video'],
  ['episodic_reasoning', 'Episodic Reasoning', 'tvqa/frames_fps3_hq/', 'frame'],
  ['counterfactual_inference', 'Counterfactual Inference', 'clevrer/video_validation/', 'video'],
];

export const MVBENCH_TASKS: readonly MvbenchTask[] = table.map(([key, name, prefix, dataType]) => ({ key, name, prefix, dataType }));

/** The task named by its key ("action_sequence") or display name ("Action Sequence"), any case. */
export function findMvbenchTask(name: string): MvbenchTask | undefined {
  const n = name.trim().toLowerCase();
  return MVBENCH_TASKS.find((t) => t.key === n || t.name.toLowerCase() === n);
}
