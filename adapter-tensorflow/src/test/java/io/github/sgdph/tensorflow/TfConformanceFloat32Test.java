package io.github.sgdph.tensorflow;

import io.github.sgdph.conformance.CurvatureConformanceKit;
import io.github.sgdph.model.SpecBackend;
import io.github.sgdph.tensor.DType;

/**
 * The TensorFlow backend passes the conformance kit in float32 on every bundled case: products
 * within 1e-4 of the float64 reference, replays within the case's derived float32 tolerance.
 */
class TfConformanceFloat32Test extends CurvatureConformanceKit {

  @Override
  protected SpecBackend backend() {
    return new TfBackend(TfDevice.CPU);
  }

  @Override
  protected DType dtype() {
    return DType.FLOAT32;
  }

}
