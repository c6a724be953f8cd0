package io.github.sgdph.cli;

import io.github.sgdph.cases.CaseFile;
import io.github.sgdph.cases.Float32Tolerance;
import io.github.sgdph.model.SpecBackend;
import io.github.sgdph.tensor.DType;
import java.util.HashMap;
import java.util.Map;

/**
 * The default tolerances of replay and compare: {@value #FLOAT64} for a float64 run (the
 * conformance kit's bound for exact float64 products), the case's derived {@link
 * Float32Tolerance} for a float32 one; a pair of runs adds both sides'.
 */
final class CaseTolerances {
  /** The tolerance of a float64 run against exact arithmetic. */
  static final double FLOAT64 = 1e-9;

  private final Map<String, Float32Tolerance> derived = new HashMap<>();

  /**
   * The case's float32 tolerance, measured on the reference once per name.
   *
   * @param name the case's name
   * @param c the case
   * @return the derived tolerance
   */
  Float32Tolerance float32(String name, CaseFile c) {
    return derived.computeIfAbsent(name,
        n -> Float32Tolerance.derive(c, SpecBackend.find("reference")));
  }

  /**
   * The tolerance of comparing a run in {@code a} with one in {@code b}.
   *
   * @param name the case's name
   * @param c the case
   * @param a one side's dtype
   * @param b the other side's dtype
   * @return the sum of both sides' tolerances
   */
  double pair(String name, CaseFile c, DType a, DType b) {
    if (a == DType.FLOAT64 && b == DType.FLOAT64) {
      return 2 * FLOAT64;
    }
    return float32(name, c).forPair(a, b, FLOAT64);
  }
}
