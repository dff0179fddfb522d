import { beforeAll, expect, test } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { initTensorBackend } from "./backend.js";

beforeAll(async () => {
  await initTensorBackend({ quiet: true });
});

const iota = (shape: number[]) => tf.tensor(Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => i), shape);

/** Value of x at a multi-index, from the flat iota layout. */
const at = (shape: number[], idx: number[]) => idx.reduce((off, v, i) => off * shape[i] + v, 0);

test.each([
  [[4, 6], [1, 2], [2, 3]],
  [[3, 4, 5], [0, 1, 2], [3, 2, 3]],
  [[2, 3, 4, 70], [1, 0, 1, 3], [1, 3, 2, 65]], // long runs (TypedArray.set path)
  [[2, 3, 4, 5], [0, 0, 0, 0], [2, 3, 4, 5]],
  [[5, 4], [2, 0], [3, 4]], // contiguous rows
])("slice of %j at %j size %j equals direct indexing", (shape, begin, size) => {
  const x = iota(shape);
  const got = tf.slice(x, begin, size);
  expect(got.shape).toEqual(size);
  const data = got.dataSync();
  let n = 0;
  const walk = (d: number, idx: number[]) => {
    if (d === shape.length) return expect(data[n++]).toBe(at(shape, idx.map((v, i) => v + begin[i])));
    for (let i = 0; i < size[d]; i++) walk(d + 1, [...idx, i]);
  };
  walk(0, []);
  tf.dispose([x, got]);
});

test("split along each axis reassembles to the input", () => {
  const x = iota([3, 8, 5]);
  for (const axis of [0, 1, 2]) {
    const sizes = axis === 1 ? [3, 1, 4] : axis === 0 ? [1, 2] : [2, 3];
    const parts = tf.split(x, sizes, axis);
    parts.forEach((p, i) => expect(p.shape[axis]).toBe(sizes[i]));
    const back = tf.concat(parts, axis);
    expect(Array.from(back.dataSync())).toEqual(Array.from(x.dataSync()));
    tf.dispose([...parts, back]);
  }
  x.dispose();
});

test("gather rows (axis 0 and 1), int32 too, and its gradient through UnsortedSegmentSum", () => {
  const x = iota([4, 3]);
  expect(tf.gather(x, [3, 0, 3]).arraySync()).toEqual([[9, 10, 11], [0, 1, 2], [9, 10, 11]]);
  expect(tf.gather(x, [2, 0], 1).arraySync()).toEqual([[2, 0], [5, 3], [8, 6], [11, 9]]);
  expect(tf.gather(tf.tensor1d([5, 6, 7], "int32"), [2, 2, 0]).arraySync()).toEqual([7, 7, 5]);
  const g = tf.grad((e: tf.Tensor) => tf.gather(e, [3, 0, 3]).mul(tf.tensor2d([[1, 1, 1], [2, 2, 2], [4, 4, 4]])).sum())(x);
  expect(g.arraySync()).toEqual([[2, 2, 2], [0, 0, 0], [0, 0, 0], [5, 5, 5]]);
  tf.dispose([x, g]);
});
