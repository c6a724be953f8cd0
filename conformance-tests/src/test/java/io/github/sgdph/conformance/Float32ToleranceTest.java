package io.github.sgdph.conformance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.sgdph.cases.CaseFile;
import io.github.sgdph.cases.Float32Tolerance;
import io.github.sgdph.cases.json.BundledCases;
import io.github.sgdph.model.SpecBackend;
import io.github.sgdph.tensor.DType;
import org.junit.jupiter.api.Test;

/** The derived float32 tolerance of a case: measured, reproducible, and the stated factor. */
class Float32ToleranceTest {
  private static final SpecBackend REFERENCE = SpecBackend.find("reference");

  @Test
  void everyBundledCaseGetsAToleranceOfFourTimesItsMeasuredSensitivity() {
    for (String n : BundledCases.names()) {
      CaseFile c = BundledCases.load(n);
      Float32Tolerance t = Float32Tolerance.derive(c, REFERENCE);
      assertTrue(t.sensitivity() > 0, n + ": nothing moved: " + t);
      assertEquals(Math.max(Float32Tolerance.FLOOR, 4 * t.sensitivity()), t.tolerance(), 0, n);
      // derived tolerances were 9.1e-7 to 3.1e-3 (measured 2026-12-06); one outside a decade
      // of that range would mean a broken measurement
      assertTrue(t.tolerance() > 1e-7 && t.tolerance() < 3e-2, n + ": " + t);
    }
  }

  @Test
  void theMeasurementIsReproducibleAndSeesWhatConjugateGradientsAmplify() {
    CaseFile sgn = BundledCases.load("mlp-tanh-sgn.json");
    Float32Tolerance a = Float32Tolerance.derive(sgn, REFERENCE);
    assertEquals(a, Float32Tolerance.derive(sgn, REFERENCE));
    // SGN's CG on float32 products: measured 4.0e-4 against 2.3e-7 for plain SGD on a model of
    // the same shape; DL4J and TensorFlow in float32 move this case by 1.1e-4 to 1.3e-4
    Float32Tolerance sgd = Float32Tolerance.derive(BundledCases.load("mlp-tanh-sgd.json"),
        REFERENCE);
    assertTrue(a.sensitivity() > 50 * sgd.sensitivity(), a + " vs " + sgd);
    assertTrue(a.tolerance() > 1.3e-4, a.toString());
  }

  @Test
  void aPairOfRunsAddsBothSidesTolerances() {
    Float32Tolerance t = new Float32Tolerance(1e-6, "loss", 16, 4e-6);
    assertEquals(8e-6, t.forPair(DType.FLOAT32, DType.FLOAT32, 1e-9), 1e-20);
    assertEquals(4e-6 + 1e-9, t.forPair(DType.FLOAT32, DType.FLOAT64, 1e-9), 1e-20);
    assertEquals(2e-9, t.forPair(DType.FLOAT64, null, 1e-9), 1e-20);
    assertThrows(IllegalArgumentException.class,
        () -> new Float32Tolerance(-1, "loss", 16, 4e-6));
    assertThrows(IllegalArgumentException.class,
        () -> new Float32Tolerance(1e-6, "loss", 0, 4e-6));
  }
}
