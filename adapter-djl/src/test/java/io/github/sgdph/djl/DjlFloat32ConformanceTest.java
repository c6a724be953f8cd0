package io.github.sgdph.djl;

import io.github.sgdph.conformance.CurvatureConformanceKit;
import io.github.sgdph.model.SpecBackend;
import io.github.sgdph.tensor.DType;

/**
 * The djl backend passes the conformance kit in float32: products against the float64
 * reference to 1e-4, against float64 finite differences and its own float64 products at the
 * same point within the case's float32 tolerance ({@code Tolerances.float32Product}), replays
 * within the case's derived float32 tolerance ({@code Float32Tolerance}), on every bundled case.
 */
class DjlFloat32ConformanceTest extends CurvatureConformanceKit {

  @Override
  protected SpecBackend backend() {
    return new DjlBackend();
  }

  @Override
  protected DType dtype() {
    return DType.FLOAT32;
  }
}
