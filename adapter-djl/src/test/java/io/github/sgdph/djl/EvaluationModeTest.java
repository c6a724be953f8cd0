package io.github.sgdph.djl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.sgdph.cases.BundledCases;
import io.github.sgdph.cases.CaseFile;
import io.github.sgdph.cases.TrajectoryComparison;
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
 * Evaluation mode and running statistics of {@link DjlSpecModel} beyond the conformance kit (which
 * checks two updates on one batch): no forward pass of an objective, a curvature, a product or a
 * line search moves the running statistics; over several training steps on changing batches the
 * statistics and the evaluation-mode outputs stay within the kit's reference tolerance of the
 * float64 reference backend, in float32 and float64, for 1-d and 2-d batch norms (the measured
 * deviations are logged); and evaluating and updating leaves no native memory behind.
 */
class EvaluationModeTest {
  private static final Logger LOG = LoggerFactory.getLogger(EvaluationModeTest.class);
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

  @ParameterizedTest
  @EnumSource(names = {"FLOAT32", "FLOAT64"})
  void objectivesProductsAndLineSearchesLeaveRunningStatisticsAlone(DType dtype) {
    for (String name : CASES) {
      CaseFile c = BundledCases.load(name);
      try (SpecModel model = backend().build(c.model(), c.parameters(), dtype);
          ParameterVector v = random(model, 5)) {
        Objective o = model.objective(c.batches().get(0));
        o.updateRunningStatistics();
        List<NamedArray> before = model.runningStatistics();
        assertTrue(!before.isEmpty(), name);
        o.loss();
        o.lossAt(v, 0.5);
        o.subBatch(0, 1).loss();
        try (Curvature cur = o.curvature()) {
          cur.gradient().close();
          cur.hvp(v).close();
          cur.ggnvp(v).close();
          cur.perTermGradients().forEach(ParameterVector::close);
        }
        model.predict(c.batches().get(0));
        assertSameStatistics(before, model.runningStatistics(), name + " " + dtype);
      }
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

  @ParameterizedTest
  @EnumSource(names = {"FLOAT32", "FLOAT64"})
  void statisticsAndPredictionsFollowTheReferenceOverSeveralSteps(DType dtype) {
    double tol = dtype == DType.FLOAT64 ? 1e-9 : 1e-4;
    for (String name : CASES) {
      CaseFile c = BundledCases.load(name);
      double statsErr = 0;
      double predErr = 0;
      try (SpecModel model = backend().build(c.model(), c.parameters(), dtype);
          SpecModel ref = reference().build(c.model(), c.parameters(), DType.FLOAT64)) {
        for (int step = 0; step < 4; step++) {
          ArrayBatch b = c.batches().get(step % c.batches().size());
          model.objective(b).updateRunningStatistics();
          ref.objective(b).updateRunningStatistics();
          try (ParameterVector d = random(model, 70 + step);
              ParameterVector dr = ParameterVector.fromArray(
                  ref.algebra(), ref.layout(), d.toDoubleArray())) {
            model.applyUpdate(d, 0.25);
            ref.applyUpdate(dr, 0.25);
          }
          List<NamedArray> a = model.runningStatistics();
          List<NamedArray> e = ref.runningStatistics();
          for (int i = 0; i < e.size(); i++) {
            assertEquals(e.get(i).name(), a.get(i).name());
            statsErr = Math.max(statsErr,
                TrajectoryComparison.relative(a.get(i).values(), e.get(i).values()));
          }
          ArrayBatch next = c.batches().get((step + 1) % c.batches().size());
          predErr = Math.max(predErr,
              TrajectoryComparison.relative(model.predict(next), ref.predict(next)));
        }
      }
      LOG.info("{} {}: max relative deviation from the reference over 4 steps: running"
          + " statistics {}, predictions {}", name, dtype.jsonName(), statsErr, predErr);
      assertTrue(statsErr <= tol, name + " " + dtype + ": running statistics " + statsErr);
      assertTrue(predErr <= tol, name + " " + dtype + ": predictions " + predErr);
    }
  }

  private static long rssKb() {
    try {
      for (String l : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (l.startsWith("VmRSS:")) {
          return Long.parseLong(l.replaceAll("\\D", ""));
        }
      }
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    throw new IllegalStateException("no VmRSS in /proc/self/status");
  }

  private static void rounds(SpecModel model, Objective o, ArrayBatch b, int n) {
    for (int i = 0; i < n; i++) {
      o.updateRunningStatistics();
      model.predict(b);
      model.runningStatistics();
    }
  }

  private static long median(long a, long b, long c) {
    return Math.max(Math.min(a, b), Math.min(Math.max(a, b), c));
  }

  /**
   * 1000 rounds of update, prediction and host copy of the statistics after a warm-up: the
   * resident set outside the committed Java heap (after a full GC, sampled every 100 rounds;
   * the median of the first three samples against that of the last three) grows by less than
   * 50 MB.
   */
  @Test
  void evaluatingAndUpdatingLeaveNoNativeMemoryBehind() {
    CaseFile c = BundledCases.load("cnn-batchnorm-avgpool-adam.json");
    try (SpecModel model = backend().build(c.model(), c.parameters(), DType.FLOAT32)) {
      ArrayBatch b = c.batches().get(0);
      Objective o = model.objective(b);
      rounds(model, o, b, 300);
      long[] rss = new long[10];
      for (int k = 0; k < rss.length; k++) {
        rounds(model, o, b, 100);
        System.gc();
        rss[k] = rssKb() - Runtime.getRuntime().totalMemory() / 1024;
      }
      long begin = median(rss[0], rss[1], rss[2]);
      long end = median(rss[7], rss[8], rss[9]);
      LOG.info("VmRSS outside the Java heap {} MB -> {} MB over 1000 rounds of update and"
          + " predict (samples {} kB)", begin / 1024, end / 1024, java.util.Arrays.toString(rss));
      assertTrue(end - begin < 50 * 1024,
          "resident memory grew from " + begin / 1024 + " MB to " + end / 1024 + " MB");
    }
  }
}
