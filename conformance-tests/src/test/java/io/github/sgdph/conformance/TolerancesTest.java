package io.github.sgdph.conformance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.github.sgdph.cases.CaseFile;
import io.github.sgdph.cases.json.BundledCases;
import io.github.sgdph.curvature.Capabilities;
import io.github.sgdph.tensor.DType;
import org.junit.jupiter.api.Test;

/** The float32 tolerance of the kit: its formula and the reductions it is scaled by. */
class TolerancesTest {

  private static long reduction(String caseName) {
    CaseFile c = BundledCases.load(caseName);
    return Tolerances.longestReduction(c.model(), c.batches().get(0).size());
  }

  @Test
  void longestReductionsOfTheBundledCases() {
    // batch norm over 4 images × 28 × 28 (and the first convolution's weight gradient)
    assertEquals(4 * 28 * 28, reduction("fashion-cnn-batchnorm-sgdph.json"));
    // the first dense layer's 784 inputs
    assertEquals(784, reduction("fashion-mlp-relu-sgn.json"));
    // 10 → 16 → 3, batch 8: the hidden layer's 16
    assertEquals(16, reduction("mlp-tanh-sgd.json"));
    // MSE over 12 samples × 2 outputs
    assertEquals(24, reduction("mlp-sigmoid-mse-nesterov.json"));
    // train-mode batch norm over 5 samples × 4 × 4 positions
    assertEquals(80, reduction("cnn-batchnorm-avgpool-adam.json"));
  }

  @Test
  void float32ProductIsFourUnitRoundoffsTimesConditioningAndRootOfTheReduction() {
    double u = 0x1p-24;
    assertEquals(4 * u * 2.5 * 28, Tolerances.float32Product(2.5, 784), 1e-22);
    // a well-conditioned product (κ < 1) counts as κ = 1
    assertEquals(4 * u * 4, Tolerances.float32Product(0.2, 16), 1e-22);
    assertThrows(IllegalArgumentException.class, () -> Tolerances.float32Product(-1, 16));
    assertThrows(IllegalArgumentException.class, () -> Tolerances.float32Product(Double.NaN, 16));
    assertThrows(IllegalArgumentException.class, () -> Tolerances.float32Product(1, 0));
  }

  @Test
  void finiteDifferencesAreFloat64InBothDtypes() {
    for (DType d : DType.values()) {
      Tolerances t = Tolerances.of(new Capabilities(d, true, 1e-4));
      assertEquals(1e-5, t.fdStep(), d.toString());
      assertEquals(1e-7, t.finiteDifference(), d.toString());
    }
  }
}
