/** A tiny linear model, y = w1·x1 + w2·x2 + bias, whose weights live in a JSON file. */

/** The model's weights. */
export interface LinearModel {
  w1: number;
  w2: number;
  bias: number;
}

/** Reads the weights; needs read access to the file. */
export async function loadModel(path: string): Promise<LinearModel> {
  const model = JSON.parse(await Deno.readTextFile(path));
  for (const key of ["w1", "w2", "bias"] as const) {
    if (typeof model[key] !== "number") throw new TypeError(`${path}: "${key}" must be a number`);
  }
  return model;
}

/** Applies the model. */
export function predict(model: LinearModel, x1: number, x2: number): number {
  return model.w1 * x1 + model.w2 * x2 + model.bias;
}
