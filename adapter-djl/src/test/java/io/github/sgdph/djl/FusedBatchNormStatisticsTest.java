package io.github.sgdph.djl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.sgdph.cases.CaseFile;
import io.github.sgdph.cases.TrajectoryComparison;
import io.github.sgdph.cases.json.BundledCases;
import io.github.sgdph.curvature.Curvature;
import io.github.sgdph.curvature.Objective;
import io.github.sgdph.data.ArrayBatch;
import io.github.sgdph.model.NamedArray;
import io.github.sgdph.model.SpecBackend;
import io.github.sgdph.model.SpecModel;
import io.github.sgdph.param.ParameterVector;
import io.github.sgdph.tensor.DType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * DJL's float32 spec models run train-mode batch norm as PyTorch's fused kernel (which updates
 * the running arrays it is given in place): with every gradient graph, no objective, curvature or
 * product moves the tracked running statistics or the evaluation-mode outputs, and an update
 * still agrees with the reference. The backend-independent running-statistics checks are the
 * conformance kit's ({@code CurvatureConformanceKit.EvaluationMode}).
 */
class FusedBatchNormStatisticsTest {
  private static final Logger LOG = LoggerFactory.getLogger(FusedBatchNormStatisticsTest.class);
  private static final List<String> CASES = List.of(
      "mlp-batchnorm-sgdph.json", "cnn-batchnorm-avgpool-adam.json",
      "fashion-cnn-batchnorm-sgdph.json");

  private static SpecBackend backend() {
    return new DjlBackend();
  }

  private static SpecBackend reference() {
    return SpecBackend.find("reference");
  }

  private static ParameterVector random(SpecModel m, long seed) {
    ParameterVector v =
        ParameterVector.randomNormal(m.algebra(), m.layout(), new SplittableRandom(seed));
    return v.scale(1 / v.norm());
  }

  private static void assertSameStatistics(List<NamedArray> e, List<NamedArray> a, String what) {
    assertEquals(e.size(), a.size(), what);
    for (int i = 0; i < e.size(); i++) {
      assertArrayEquals(e.get(i).values(), a.get(i).values(), what + ": " + e.get(i).name());
    }
  }


  /**
   * In float32 the train-mode batch norms of a training pass run as PyTorch's fused kernel, which
   * updates the running statistics handed to it in place: with every gradient graph (the fused
   * forward pass, and the second primitive-form pass that Jacobian and Gauss-Newton products
   * differentiate), no loss, gradient, product or line search moves the tracked statistics, and
   * evaluation and the update still see them.
   */
  @ParameterizedTest
  @EnumSource(GradientGraph.class)
  void fusedBatchNormLeavesRunningStatisticsAlone(GradientGraph graph) {
    SpecBackend fused = new DjlBackend(DjlOptions.builder().gradientGraph(graph).build());
    for (String name : CASES) {
      CaseFile c = BundledCases.load(name);
      ArrayBatch b = c.batches().get(0);
      try (SpecModel model = fused.build(c.model(), c.parameters(), DType.FLOAT32);
          SpecModel ref = reference().build(c.model(), c.parameters(), DType.FLOAT64);
          ParameterVector v = random(model, 11)) {
        Objective o = model.objective(b);
        assertTrue(((DjlObjective) o).network().fusableBatchNorm(), name);
        List<NamedArray> initial = model.runningStatistics();
        double[] before = model.predict(b);
        for (int round = 0; round < 2; round++) {
          o.loss();
          o.lossAt(v, 0.5);
          try (Curvature cur = o.curvature()) {
            cur.gradient().close();
            cur.ggnvp(v).close();
            cur.jvp(v).close();
            cur.hvp(v).close();
          }
          try (Curvature cur = o.curvature();
              Curvature.GradientAndHvp gh = cur.gradientAndHvp(v)) {
            assertTrue(gh.gradient().norm() > 0, name);
          }
        }
        assertSameStatistics(initial, model.runningStatistics(), name + " " + graph);
        assertArrayEquals(before, model.predict(b), name + " " + graph + ": predict");
        o.updateRunningStatistics();
        ref.objective(b).updateRunningStatistics();
        List<NamedArray> a = model.runningStatistics();
        List<NamedArray> e = ref.runningStatistics();
        for (int i = 0; i < e.size(); i++) {
          assertTrue(TrajectoryComparison.relative(a.get(i).values(), e.get(i).values()) <= 1e-4,
              name + " " + graph + ": " + e.get(i).name());
        }
        assertTrue(TrajectoryComparison.relative(model.predict(b), ref.predict(b)) <= 1e-4,
            name + " " + graph + ": predict after the update");
      }
    }
  }





}
