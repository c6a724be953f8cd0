package io.github.sgdph.tensorflow;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.github.sgdph.curvature.Curvature;
import io.github.sgdph.curvature.Objective;
import io.github.sgdph.data.ArrayBatch;
import io.github.sgdph.model.DefaultInitializer;
import io.github.sgdph.model.LayerSpec;
import io.github.sgdph.model.LossKind;
import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.model.RandomBatches;
import io.github.sgdph.model.SpecModel;
import io.github.sgdph.optim.SgdPh;
import io.github.sgdph.param.ParameterLayout;
import io.github.sgdph.param.ParameterVector;
import io.github.sgdph.tensor.DType;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * {@link TfCurvature#gradientAndHvp}: one {@code Session.run} gives the gradient, the loss and
 * {@code H v} of the separate calls; and SGD-PH, which takes that route, still leaves the
 * parameters untouched when the update is not finite.
 */
class TfGradientAndHvpTest {
  private static final ModelSpec SPEC = new ModelSpec(new int[] {6},
      List.of(new LayerSpec.Dense(6, 5, true),
          new LayerSpec.BatchNorm(5, 1e-5, 0.1, LayerSpec.Mode.TRAIN),
          new LayerSpec.Activation(LayerSpec.ActivationKind.TANH),
          new LayerSpec.Dense(5, 3, true)),
      LossKind.SOFTMAX_CROSS_ENTROPY);

  @Test
  void required_oneRunGivesWhatTheSeparateCallsGive() {
    for (DType dtype : DType.values()) {
      SplittableRandom rnd = new SplittableRandom(5);
      try (SpecModel model = new TfBackend(TfDevice.CPU)
          .build(SPEC, DefaultInitializer.initialize(SPEC, rnd), dtype)) {
        ArrayBatch batch = RandomBatches.forSpec(SPEC, 16, rnd);
        Objective o = model.objective(batch);
        ParameterLayout gamma = model.layout().selectByName("1.weight");
        try (Curvature c = o.curvature();
            ParameterVector ones = ParameterVector.zeros(model.algebra(), gamma).fill(1.0);
            Curvature.GradientAndHvp gh = c.gradientAndHvp(ones);
            Curvature c2 = o.curvature();
            ParameterVector g = c2.gradient();
            ParameterVector hv = c2.hvp(ones)) {
          double tol = dtype == DType.FLOAT64 ? 1e-14 : 1e-6;
          assertArrayEquals(g.toDoubleArray(), gh.gradient().toDoubleArray(), tol);
          assertArrayEquals(hv.toDoubleArray(), gh.hvp().toDoubleArray(), tol);
          assertEquals(c2.loss(), c.loss(), tol);
          assertEquals(gamma, gh.hvp().layout());
        }
      }
    }
  }

  @Test
  void required_sgdPhLeavesTheParametersWhenTheStepIsNotFinite() {
    SplittableRandom rnd = new SplittableRandom(6);
    try (SpecModel model = new TfBackend(TfDevice.CPU)
        .build(SPEC, DefaultInitializer.initialize(SPEC, rnd), DType.FLOAT32)) {
      ArrayBatch batch = RandomBatches.forSpec(SPEC, 16, rnd);
      SgdPh opt = SgdPh.builder().lr(Double.MAX_VALUE).momentum(0.9).build();
      double[] before;
      try (ParameterVector p = model.parameters()) {
        before = p.toDoubleArray();
      }
      // the update overflows: refused by the adapter (or the core's check), nothing changes
      assertThrows(RuntimeException.class, () -> opt.step(model.objective(batch)));
      try (ParameterVector p = model.parameters()) {
        assertArrayEquals(before, p.toDoubleArray(), 0);
      }
      // and a finite step still goes through afterwards, from the same state
      SgdPh ok = SgdPh.builder().lr(0.01).momentum(0.9).build();
      ok.step(model.objective(batch));
      ok.step(model.objective(batch));
    }
  }
}
