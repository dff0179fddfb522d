import { describe, expect, it } from "vitest";
import { intOption, numberOption, parseNumberOption } from "./options.js";
import { UserError } from "../util/errors.js";

describe("numeric CLI options", () => {
  it("accepts values in range and returns numbers", () => {
    expect(intOption("--port", 0, 65535)("8080")).toBe(8080);
    expect(numberOption("--temperature", 0)("0.5")).toBe(0.5);
    expect(intOption("--seed")("-3")).toBe(-3);
    expect(parseNumberOption("--n", 7, { int: true, min: 1 })).toBe(7);
  });

  it("rejects non-numbers, fractions and out-of-range values with the flag and the value", () => {
    expect(() => intOption("--port", 0, 65535)("x")).toThrow('--port: expected an integer in 0..65535, got "x"');
    expect(() => intOption("--port", 0, 65535)("70000")).toThrow(/in 0\.\.65535, got "70000"/);
    expect(() => intOption("--steps", 0)("2.5")).toThrow('--steps: expected an integer ≥ 0, got "2.5"');
    expect(() => intOption("--steps", 0)("-1")).toThrow(/≥ 0/);
    expect(() => numberOption("--t", undefined, 2)("3")).toThrow('--t: expected a number ≤ 2, got "3"');
    expect(() => numberOption("--k1")("")).toThrow('--k1: expected a number, got ""');
    expect(() => numberOption("--k1")("Infinity")).toThrow(/expected a number/);
    expect(() => intOption("--n")("1e400")).toThrow(UserError);
  });
});
