import { describe, expect, it } from "vitest";
import { bucketOf, bucketValue, medianBucket } from "./histogram";

describe("bucketOf / bucketValue", () => {
  it.each([
    { label: "1 ms is bucket 0", v: 1, bucket: 0 },
    { label: "just under e^(1/20) stays in bucket 0", v: Math.exp(1 / 20) - 1e-9, bucket: 0 },
    { label: "e^(1/20) starts bucket 1", v: Math.exp(1 / 20) + 1e-12, bucket: 1 },
    { label: "below 1 goes negative", v: 0.5, bucket: -14 },
    { label: "zero counts as 0.001", v: 0, bucket: -139 },
    { label: "1000 ms", v: 1000, bucket: 138 },
  ])("$label", ({ v, bucket }) => {
    expect(bucketOf(v)).toBe(bucket);
  });

  it.each([1, 7.3, 42, 180, 950, 12_345])("a bucket's value is within 2.6 %% of any value in it (%d)", (v) => {
    expect(Math.abs(bucketValue(bucketOf(v)) / v - 1)).toBeLessThan(0.026);
  });
});

describe("medianBucket", () => {
  it.each([
    { label: "empty", counts: [], median: null },
    { label: "one bucket", counts: [[5, 3]], median: 5 },
    {
      label: "odd total, middle bucket",
      counts: [
        [1, 1],
        [2, 1],
        [3, 1],
      ],
      median: 2,
    },
    {
      label: "even total takes the lower median",
      counts: [
        [1, 2],
        [9, 2],
      ],
      median: 1,
    },
    {
      label: "unsorted input, zero counts ignored",
      counts: [
        [9, 5],
        [0, 0],
        [3, 4],
      ],
      median: 9,
    },
    {
      label: "negative buckets",
      counts: [
        [-20, 3],
        [-10, 1],
      ],
      median: -20,
    },
  ])("$label", ({ counts, median }) => {
    expect(medianBucket(new Map(counts as [number, number][]))).toBe(median);
  });
});
