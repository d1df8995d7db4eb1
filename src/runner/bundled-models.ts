/**
 * Models a config may name instead of giving a path: the organisms this package ships, each a
 * folder under models/. Names are resolved before any path logic, so they never rebase.
 */
export const BUNDLED_MODELS: Readonly<Record<string, string>> = {
  /** Trained with evidence-attention supervision (models/av-organism/recipe.yaml). */
  organism: 'av-organism',
  /** The bundled organism with its answer layer relearnt without attention supervision or probes (its recipe.yaml). */
  'organism-plain': 'av-organism-plain',
  /** The bundled organism trained on to the long preset's 160-frame clips (two more stages: its recipe.yaml). */
  'organism-long': 'av-organism-long',
};

export const isBundledModel = (name: string): boolean => Object.hasOwn(BUNDLED_MODELS, name);
