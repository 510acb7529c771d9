/** Heap (4-ary): ordering and the O(log n) cost the memory driver relies on (counted, not timed). */
import { expect, test } from "vitest";
import { Heap } from "../../src/core/heap.ts";

/** A deterministic pseudo-random sequence (LCG), so failures reproduce. */
function lcg(seed: number) {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296;
}

test("pops in order under the given comparison, with duplicates", () => {
  const rand = lcg(7);
  const heap = new Heap<number>((a, b) => a < b);
  const values = Array.from({ length: 2_000 }, () => Math.floor(rand() * 100));
  for (const v of values) heap.push(v);
  expect(heap.size).toBe(values.length);
  const out: number[] = [];
  for (let v = heap.pop(); v !== undefined; v = heap.pop()) out.push(v);
  expect(out).toEqual([...values].sort((a, b) => a - b));
  expect(heap.peek()).toBeUndefined();
  expect(heap.size).toBe(0);
});

test("interleaved pushes and pops keep the order", () => {
  const rand = lcg(11);
  const heap = new Heap<number>((a, b) => a > b);
  const shadow: number[] = [];
  for (let i = 0; i < 5_000; i++) {
    if (rand() < 0.6 || shadow.length === 0) {
      const v = rand();
      heap.push(v);
      shadow.push(v);
    } else {
      shadow.sort((a, b) => b - a);
      expect(heap.pop()).toBe(shadow.shift());
    }
    expect(heap.peek()).toBe(shadow.length ? Math.max(...shadow) : undefined);
  }
});

test("push and pop cost O(log n) comparisons", () => {
  let comparisons = 0;
  const heap = new Heap<number>((a, b) => (comparisons++, a < b));
  const rand = lcg(3);
  const n = 100_000;
  for (let i = 0; i < n; i++) heap.push(rand());
  const depth = Math.ceil(Math.log(3 * n + 1) / Math.log(4)); // levels of a 4-ary heap of n items
  comparisons = 0;
  heap.push(-1);
  expect(comparisons).toBeLessThanOrEqual(depth);
  comparisons = 0;
  expect(heap.pop()).toBe(-1);
  // Sift-down: three comparisons among four children, one against the moved item, per level.
  expect(comparisons).toBeLessThanOrEqual(4 * depth);
  expect(comparisons).toBeGreaterThan(0);
});
