package io.github.sgdph.dl4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.sgdph.curvature.Curvature;
import io.github.sgdph.param.ParameterVector;
import io.github.sgdph.tensor.Tensor;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * Per DL4J layer type, on networks configured with DL4J's own builders, in float64: the
 * gradient, Hessian-vector and Jacobian-vector products against central finite differences
 * (step 1e-5: truncation ~1e-10, rounding ~1e-11), the loss against DL4J's own score, and the
 * gradient against DL4J's own backpropagation divided by the batch size.
 */
class PerLayerProductsTest {
  private static final double H = 1e-5;
  private static final double FD_TOL = 1e-6;

  private record Subject(String name, Nets.Case c, Dl4jNetworkModel.BatchNormMode mode) {}

  private static List<Subject> subjects() {
    DataType d = DataType.DOUBLE;
    Dl4jNetworkModel.BatchNormMode train = Dl4jNetworkModel.BatchNormMode.TRAIN;
    Dl4jNetworkModel.BatchNormMode inference = Dl4jNetworkModel.BatchNormMode.INFERENCE;
    return List.of(
        new Subject("DenseLayer + OutputLayer softmax/MCXENT", Nets.denseSoftmax(d), train),
        new Subject("DenseLayer relu + OutputLayer identity/MSE", Nets.denseMse(d), train),
        new Subject("DenseLayer sigmoid + OutputLayer sigmoid/XENT", Nets.denseXent(d), train),
        new Subject("ActivationLayer softplus + LossLayer softmax/MCXENT",
            Nets.activationAndLossLayer(d), train),
        new Subject("BatchNormalization, train mode", Nets.batchNorm(d), train),
        new Subject("BatchNormalization, inference mode (log10 std stats)", Nets.batchNorm(d),
            inference),
        new Subject("ConvolutionLayer dilated + SubsamplingLayer MAX + pre-processors",
            Nets.convMaxPool(d), train),
        new Subject("ConvolutionLayer Same + BatchNormalization 4-D train + SubsamplingLayer AVG"
            + " padded + OutputLayer tanh/MSE", Nets.convSameAvgPool(d), train),
        new Subject("ConvolutionLayer Same + BatchNormalization 4-D inference",
            Nets.convSameAvgPool(d), inference),
        new Subject("LSTM + LastTimeStep(LSTM) + Dense + OutputLayer softmax/MCXENT",
            Nets.lstmLastStep(d), train),
        new Subject("LSTM + RnnOutputLayer softmax/MCXENT per time step",
            Nets.lstmSequence(d), train),
        new Subject("LSTM + LSTM + RnnOutputLayer tanh/MSE", Nets.lstmSequenceMse(d), train));
  }

  private static Stream<DynamicTest> each(java.util.function.Consumer<Subject> body) {
    return subjects().stream().map(s -> DynamicTest.dynamicTest(s.name(), () -> body.accept(s)));
  }

  private static ParameterVector unit(Dl4jNetworkModel m, long seed) {
    ParameterVector v =
        ParameterVector.randomNormal(m.algebra(), m.layout(), new SplittableRandom(seed));
    return v.scale(1 / v.norm());
  }

  private static double rel(double[] a, double[] e) {
    double d = 0;
    double na = 0;
    double ne = 0;
    for (int i = 0; i < a.length; i++) {
      d += (a[i] - e[i]) * (a[i] - e[i]);
      na += a[i] * a[i];
      ne += e[i] * e[i];
    }
    double den = Math.sqrt(Math.max(na, ne));
    return den == 0 ? Math.sqrt(d) : Math.sqrt(d) / den;
  }

  /** A central difference of {@code f} along {@code v}, restoring the parameters. */
  private static double[] centralDifference(
      Dl4jNetworkModel m, Dl4jObjective o, ParameterVector v, Function<Curvature, double[]> f) {
    try (ParameterVector theta = m.parameters()) {
      double[] plus;
      double[] minus;
      m.applyUpdate(v, H);
      try (Curvature c = o.curvature()) {
        plus = f.apply(c);
      }
      m.setParameters(theta);
      m.applyUpdate(v, -H);
      try (Curvature c = o.curvature()) {
        minus = f.apply(c);
      }
      m.setParameters(theta);
      double[] out = new double[plus.length];
      for (int i = 0; i < out.length; i++) {
        out[i] = (plus[i] - minus[i]) / (2 * H);
      }
      return out;
    }
  }

  private static double[] gradientOf(Curvature c) {
    try (ParameterVector g = c.gradient()) {
      return g.toDoubleArray();
    }
  }

  @TestFactory
  Stream<DynamicTest> hvpMatchesFiniteDifferencesOfTheGradient() {
    return each(s -> {
      Dl4jNetworkModel m = Dl4jNetworkModel.of(s.c().net(), s.mode());
      Dl4jObjective o = m.objective(s.c().batch());
      for (long seed = 1; seed <= 2; seed++) {
        try (ParameterVector v = unit(m, seed)) {
          double[] hv;
          try (Curvature c = o.curvature(); ParameterVector p = c.hvp(v)) {
            hv = p.toDoubleArray();
          }
          double[] fd = centralDifference(m, o, v, PerLayerProductsTest::gradientOf);
          double err = rel(hv, fd);
          assertTrue(err <= FD_TOL, s.name() + ": Hv vs finite differences " + err);
        }
      }
    });
  }

  @TestFactory
  Stream<DynamicTest> jvpMatchesFiniteDifferencesOfTheOutputs() {
    return each(s -> {
      Dl4jNetworkModel m = Dl4jNetworkModel.of(s.c().net(), s.mode());
      Dl4jObjective o = m.objective(s.c().batch());
      try (ParameterVector v = unit(m, 3)) {
        double[] jv;
        try (Curvature c = o.curvature(); Tensor t = c.jvp(v)) {
          jv = t.toDoubleArray();
        }
        double[] fd = centralDifference(m, o, v,
            c -> Nd4jArrays.toDoubles(((Dl4jCurvature) c).outputs()));
        double err = rel(jv, fd);
        assertTrue(err <= FD_TOL, s.name() + ": Jv vs finite differences " + err);
      }
    });
  }

  @TestFactory
  Stream<DynamicTest> gradientMatchesFiniteDifferencesOfTheLoss() {
    return each(s -> {
      Dl4jNetworkModel m = Dl4jNetworkModel.of(s.c().net(), s.mode());
      Dl4jObjective o = m.objective(s.c().batch());
      try (ParameterVector v = unit(m, 4); Curvature c = o.curvature();
          ParameterVector g = c.gradient()) {
        double fd = (o.lossAt(v, H) - o.lossAt(v, -H)) / (2 * H);
        double an = g.dot(v);
        assertEquals(fd, an, 1e-7 * Math.max(Math.abs(fd), g.norm()), s.name());
      }
    });
  }

  @TestFactory
  Stream<DynamicTest> ggnIsSymmetricAndPositiveSemiDefinite() {
    return each(s -> {
      Dl4jNetworkModel m = Dl4jNetworkModel.of(s.c().net(), s.mode());
      try (Curvature c = m.objective(s.c().batch()).curvature();
          ParameterVector u = unit(m, 5);
          ParameterVector v = unit(m, 6);
          ParameterVector gu = c.ggnvp(u);
          ParameterVector gv = c.ggnvp(v)) {
        double scale = Math.max(gu.norm(), gv.norm());
        assertEquals(u.dot(gv), v.dot(gu), 1e-12 * scale, s.name() + ": symmetry");
        assertTrue(v.dot(gv) >= -1e-12 * scale, s.name() + ": vᵀGv < 0");
      }
    });
  }

  /** The objective is DL4J's own score (no regularisation configured): same loss semantics. */
  @TestFactory
  Stream<DynamicTest> lossIsDl4jsOwnScore() {
    return each(s -> {
      Dl4jNetworkModel m = Dl4jNetworkModel.of(s.c().net(), s.mode());
      double mine = m.objective(s.c().batch()).loss();
      boolean training = s.mode() == Dl4jNetworkModel.BatchNormMode.TRAIN;
      double theirs = s.c().net().score(s.c().batch(), training);
      assertEquals(theirs, mine, 1e-9 * Math.abs(theirs), s.name());
    });
  }

  /** DL4J's backpropagated gradient is the batch sum: ours is the mean. */
  @TestFactory
  Stream<DynamicTest> gradientIsDl4jsOwnGradientOverTheBatchSize() {
    return subjects().stream()
        .filter(s -> s.mode() == Dl4jNetworkModel.BatchNormMode.TRAIN)
        .map(s -> DynamicTest.dynamicTest(s.name(), () -> {
          Dl4jNetworkModel m = Dl4jNetworkModel.of(s.c().net(), s.mode());
          Dl4jObjective o = m.objective(s.c().batch());
          var net = s.c().net();
          net.setInput(o.features());
          net.setLabels(o.labels());
          net.computeGradientAndScore();
          double n = o.batchSize();
          try (Curvature c = o.curvature(); ParameterVector g = c.gradient()) {
            // compared over the whole vector: the bias before a train-mode batch norm has an
            // analytically zero gradient, so its own relative error is noise over noise
            double[] mine = g.toDoubleArray();
            double[] theirs = new double[mine.length];
            int off = 0;
            for (int b = 0; b < g.blockCount(); b++) {
              double[] t = Nd4jArrays.toDoubles(
                  net.gradient().getGradientFor(g.layout().block(b).name()));
              for (int i = 0; i < t.length; i++) {
                theirs[off++] = t[i] / n;
              }
            }
            assertEquals(mine.length, off, "entry count");
            assertTrue(rel(mine, theirs) <= 1e-9, s.name() + ": deviates " + rel(mine, theirs));
          }
        }));
  }
}
