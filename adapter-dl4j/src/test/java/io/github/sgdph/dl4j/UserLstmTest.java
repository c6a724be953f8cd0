package io.github.sgdph.dl4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.sgdph.cases.TrajectoryComparison;
import io.github.sgdph.conformance.FiniteDifferences;
import io.github.sgdph.curvature.Curvature;
import io.github.sgdph.optim.Optimizer;
import io.github.sgdph.optim.OptimizerSpec;
import io.github.sgdph.optim.Optimizers;
import io.github.sgdph.param.ParameterLayout;
import io.github.sgdph.param.ParameterVector;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.graph.ElementWiseVertex;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
import org.deeplearning4j.nn.conf.layers.recurrent.LastTimeStep;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;

/**
 * A user's own DL4J networks with {@code LSTM} layers (issue 20), beyond the per-layer checks of
 * {@link PerLayerProductsTest} (which holds three LSTM networks to central differences, DL4J's
 * score and DL4J's gradient): the dense Hessian of a tiny network, restricted products, per-term
 * gradients of a per-time-step loss, a {@code ComputationGraph} with LSTM vertices joined by an
 * {@code Add}, second-order steps lowering DL4J's own score, and named refusals.
 *
 * <p>Tolerances. Against central finite differences (float64, step 1e-5 along unit or
 * coordinate directions; {@link FiniteDifferences}): 1e-7 relative (truncation ~1e-10,
 * rounding ~1e-11; the LSTM is smooth). Identities of exact arithmetic (a restricted product
 * against the full one, per-term against lone-sample gradients, symmetry): 1e-12 relative.
 * Against DL4J's own score and backpropagation (another order of the same float64 operations):
 * 1e-9 relative.
 */
class UserLstmTest {
  private static final double FD = 1e-7;
  private static final double EXACT = 1e-12;
  private static final double H = 1e-5;

  private static void close(double[] expected, double[] actual, double tol, String what) {
    double err = TrajectoryComparison.relative(actual, expected);
    assertTrue(err <= tol, what + ": relative error " + err + " > " + tol);
  }

  private static double[] flat(double[][] m) {
    double[] out = new double[m.length * m[0].length];
    for (int i = 0; i < m.length; i++) {
      System.arraycopy(m[i], 0, out, i * m[i].length, m[i].length);
    }
    return out;
  }

  /** LSTM (2 → 2) + RnnOutputLayer softmax/MCXENT (2 → 2): 46 parameters. */
  private static Nets.Case tiny() {
    MultiLayerNetwork net = Nets.init(Nets.list(DataType.DOUBLE)
        .layer(new LSTM.Builder().nIn(2).nOut(2).activation(Activation.TANH).build())
        .layer(new RnnOutputLayer.Builder(LossFunction.MCXENT).nIn(2).nOut(2)
            .activation(Activation.SOFTMAX).build()));
    Nets.randomLstmBiases(net, 0);
    return new Nets.Case("tiny", net, new DataSet(Nets.inputs(DataType.DOUBLE, 3, 2, 3),
        Nets.oneHotSequences(DataType.DOUBLE, 3, 2, 3)));
  }

  @Test
  void theDenseHessianOfATinyLstmIsCentralDifferencesOfTheGradientAndSymmetric() {
    Nets.Case c = tiny();
    Dl4jNetworkModel m = Dl4jNetworkModel.of(c.net());
    assertEquals(List.of("0_W", "0_RW", "0_b", "1_W", "1_b"),
        m.layout().blocks().stream().map(b -> b.name()).toList());
    assertEquals(2, m.layout().block(1).shape().length, "RW is a matrix block, not channel-wise");
    Dl4jObjective o = m.objective(c.batch());
    int p = (int) m.layout().dimension();
    assertEquals(46, p);
    double[][] hess = new double[p][];
    double[][] fd = new double[p][];
    try (Curvature cv = o.curvature()) {
      for (int i = 0; i < p; i++) {
        double[] e = new double[p];
        e[i] = 1;
        try (ParameterVector v = ParameterVector.fromArray(m.algebra(), m.layout(), e);
            ParameterVector h = cv.hvp(v)) {
          hess[i] = h.toDoubleArray();
        }
      }
    }
    for (int i = 0; i < p; i++) {
      double[] e = new double[p];
      e[i] = 1;
      try (ParameterVector v = ParameterVector.fromArray(m.algebra(), m.layout(), e)) {
        fd[i] = FiniteDifferences.hessianVector(m, o, v, H);
      }
    }
    close(flat(fd), flat(hess), FD, "dense Hessian vs central differences");
    for (int i = 0; i < p; i++) {
      for (int j = 0; j < i; j++) {
        assertEquals(hess[i][j], hess[j][i], EXACT * (1 + Math.abs(hess[i][j])),
            "H[" + i + "][" + j + "] symmetric");
      }
    }
  }

  @Test
  void restrictedProductsAreBlocksOfTheFullOnes() {
    Nets.Case c = Nets.lstmLastStep(DataType.DOUBLE);
    Dl4jNetworkModel m = Dl4jNetworkModel.of(c.net());
    ParameterLayout sub = m.layout().selectByName("0_RW", "1_W", "1_b", "3_W");
    double[] v;
    try (ParameterVector u = ParameterVector.randomNormal(
        m.algebra(), m.layout(), new SplittableRandom(6))) {
      v = u.toDoubleArray();
    }
    double[] padded = new double[v.length];
    double[] restricted = new double[(int) sub.dimension()];
    int at = 0;
    for (int i = 0; i < sub.blockCount(); i++) {
      long offset = 0;
      for (int b = 0; b < sub.rootIndex(i); b++) {
        offset += m.layout().block(b).size();
      }
      int size = (int) sub.block(i).size();
      System.arraycopy(v, (int) offset, padded, (int) offset, size);
      System.arraycopy(v, (int) offset, restricted, at, size);
      at += size;
    }
    try (Curvature cv = m.objective(c.batch()).curvature();
        ParameterVector full = ParameterVector.fromArray(m.algebra(), m.layout(), padded);
        ParameterVector part = ParameterVector.fromArray(m.algebra(), sub, restricted);
        ParameterVector h = cv.hvp(full);
        ParameterVector g = cv.ggnvp(full);
        ParameterVector hs = cv.hvp(part);
        ParameterVector gs = cv.ggnvp(part)) {
      for (int i = 0; i < sub.blockCount(); i++) {
        int root = sub.rootIndex(i);
        String name = sub.block(i).name();
        close(h.block(root).toDoubleArray(), hs.block(i).toDoubleArray(), EXACT,
            "restricted Hv, block " + name);
        close(g.block(root).toDoubleArray(), gs.block(i).toDoubleArray(), EXACT,
            "restricted Gv, block " + name);
      }
    }
  }

  /** The term of a sequence is its loss summed over time steps, so the term of sample i is i's. */
  @Test
  void perTermGradientsOfAPerTimeStepLossAreTheSamplesOwn() {
    Nets.Case c = Nets.lstmSequence(DataType.DOUBLE);
    Dl4jNetworkModel m = Dl4jNetworkModel.of(c.net());
    Dl4jObjective o = m.objective(c.batch());
    try (Curvature cv = o.curvature(); ParameterVector g = cv.gradient()) {
      List<ParameterVector> terms = cv.perTermGradients();
      List<ParameterVector> alone = o.isolatedSampleGradients();
      ParameterVector mean = ParameterVector.zeros(m.algebra(), m.layout());
      for (int i = 0; i < terms.size(); i++) {
        close(alone.get(i).toDoubleArray(), terms.get(i).toDoubleArray(), EXACT,
            "per-term gradient " + i + " vs sample " + i + " alone");
        mean.axpy(1.0 / terms.size(), terms.get(i));
      }
      close(g.toDoubleArray(), mean.toDoubleArray(), EXACT, "mean of the terms vs gradient");
    }
  }

  /**
   * Two LSTMs over the input joined by an {@code Add}, a {@code LastTimeStep(LSTM)} on the sum
   * and a softmax head.
   */
  static ComputationGraph graph(DataType dt) {
    ComputationGraph g = Graphs.init(Graphs.builder(dt).addInputs("seq")
        .addLayer("a", new LSTM.Builder().nIn(3).nOut(4).activation(Activation.TANH).build(),
            "seq")
        .addLayer("b", new LSTM.Builder().nIn(3).nOut(4).activation(Activation.TANH).build(),
            "seq")
        .addVertex("sum", new ElementWiseVertex(ElementWiseVertex.Op.Add), "a", "b")
        .addLayer("top", new LastTimeStep(new LSTM.Builder().nIn(4).nOut(3)
            .activation(Activation.TANH).build()), "sum")
        .addLayer("out", new OutputLayer.Builder(LossFunction.MCXENT).nIn(3).nOut(2)
            .activation(Activation.SOFTMAX).build(), "top")
        .setOutputs("out"));
    Nd4j.getRandom().setSeed(3);
    for (String v : List.of("a", "b", "top")) {
      INDArray b = g.getLayer(v).getParam("b");
      b.assign(Nd4j.rand(b.dataType(), b.shape()).subi(0.5));
    }
    return g;
  }

  private static DataSet graphBatch(DataType dt) {
    return new DataSet(Nets.inputs(dt, 5, 3, 4), Nets.oneHot(dt, 5, 2));
  }

  @Test
  void aComputationGraphOfLstmsIsExact() {
    ComputationGraph g = graph(DataType.DOUBLE);
    DataSet batch = graphBatch(DataType.DOUBLE);
    Dl4jGraphModel m = Dl4jGraphModel.of(g);
    Dl4jObjective o = m.objective(batch);
    assertEquals(g.score(batch, true), o.loss(), 1e-9 * o.loss(), "DL4J's own score");
    g.setInputs(o.features());
    g.setLabels(o.labels());
    g.computeGradientAndScore();
    double[] mine;
    double[] hv;
    double[] jv;
    try (ParameterVector v = ParameterVector.randomNormal(
        m.algebra(), m.layout(), new SplittableRandom(8))) {
      v.scale(1 / v.norm());
      double gdotv;
      // every product first: the central differences below change (and restore) the
      // parameters, which makes this curvature stale
      try (Curvature c = o.curvature(); ParameterVector grad = c.gradient();
          ParameterVector h = c.hvp(v); var jt = c.jvp(v)) {
        mine = grad.toDoubleArray();
        gdotv = grad.dot(v);
        hv = h.toDoubleArray();
        jv = jt.toDoubleArray();
        try (ParameterVector gv = c.ggnvp(v); ParameterVector u = ParameterVector.randomNormal(
            m.algebra(), m.layout(), new SplittableRandom(9));
            ParameterVector gu = c.ggnvp(u)) {
          double scale = Math.max(gu.norm() * v.norm(), gv.norm() * u.norm());
          assertEquals(u.dot(gv), v.dot(gu), EXACT * scale, "G symmetric");
          assertTrue(v.dot(gv) >= -EXACT * gv.norm(), "vᵀGv ≥ 0");
        }
      }
      double[] theirs = new double[mine.length];
      int off = 0;
      for (int b = 0; b < m.layout().blockCount(); b++) {
        for (double t : Nd4jArrays.toDoubles(
            g.gradient().getGradientFor(m.layout().block(b).name()))) {
          theirs[off++] = t / o.batchSize();
        }
      }
      close(theirs, mine, 1e-9, "gradient vs DL4J's backpropagation / n");
      double fd = FiniteDifferences.directional(o, v, H);
      assertEquals(fd, gdotv, FD * Math.abs(fd), "gᵀv vs central differences");
      close(FiniteDifferences.hessianVector(m, o, v, H), hv, FD, "Hv vs central differences");
      double[] plus;
      double[] minus;
      try (ParameterVector theta = m.parameters()) {
        m.applyUpdate(v, H);
        try (Dl4jCurvature cp = o.curvature()) {
          plus = Nd4jArrays.toDoubles(cp.outputs());
        }
        m.setParameters(theta);
        m.applyUpdate(v, -H);
        try (Dl4jCurvature cm = o.curvature()) {
          minus = Nd4jArrays.toDoubles(cm.outputs());
        }
        m.setParameters(theta);
      }
      double[] fdj = new double[plus.length];
      for (int i = 0; i < fdj.length; i++) {
        fdj[i] = (plus[i] - minus[i]) / (2 * H);
      }
      close(fdj, jv, FD, "Jv vs central differences");
    }
  }

  private static double dl4jScore(Model net, DataSet batch) {
    return net instanceof ComputationGraph g ? g.score(batch, true)
        : ((MultiLayerNetwork) net).score(batch, true);
  }

  @ParameterizedTest
  @ValueSource(strings = {"bdhf", "sgdph", "bdhf-f32", "sgdph-f32", "bdhf-graph", "sgdph-graph"})
  void secondOrderStepsLowerDl4jsOwnScore(String run) {
    String name = run.split("-")[0];
    DataType dt = run.endsWith("f32") ? DataType.FLOAT : DataType.DOUBLE;
    Map<String, Object> hyper = name.equals("bdhf")
        ? Map.of("lambda", 1.0, "cg_max_iter", 10)
        : Map.of("lr", 0.1);
    Optimizer opt = Optimizers.create(new OptimizerSpec(name, hyper));
    Model net;
    DataSet batch;
    io.github.sgdph.curvature.Objective o;
    if (run.endsWith("graph")) {
      ComputationGraph g = graph(dt);
      net = g;
      batch = graphBatch(dt);
      o = Dl4jGraphModel.of(g).objective(batch);
    } else {
      Nets.Case c = Nets.lstmLastStep(dt);
      net = c.net();
      batch = c.batch();
      o = Dl4jNetworkModel.of(c.net()).objective(batch);
    }
    double first = dl4jScore(net, batch);
    for (int t = 0; t < 5; t++) {
      double loss = opt.step(o).loss();
      assertTrue(Double.isFinite(loss), run + ": step " + t + " loss " + loss);
    }
    double last = dl4jScore(net, batch);
    assertTrue(last < first, run + ": DL4J's score " + first + " → " + last);
    assertEquals(last, o.loss(), (dt == DataType.FLOAT ? 1e-5 : 1e-9) * last,
        run + ": the objective is DL4J's score");
  }

  @Test
  void unsupportedRecurrentSettingsAreNamed() {
    MultiLayerNetwork hardSigmoid = Nets.init(Nets.list(DataType.DOUBLE)
        .layer(new LSTM.Builder().nIn(2).nOut(3).gateActivationFunction(Activation.HARDSIGMOID)
            .build())
        .layer(new RnnOutputLayer.Builder(LossFunction.MSE).nIn(3).nOut(1)
            .activation(Activation.IDENTITY).build()));
    UnsupportedLayerException e =
        assertThrows(UnsupportedLayerException.class, () -> Dl4jNetworkModel.of(hardSigmoid));
    assertTrue(e.getMessage().contains("gate activation ActivationHardSigmoid of layer 0 (LSTM)"),
        e.getMessage());
    MultiLayerNetwork relu = Nets.init(Nets.list(DataType.DOUBLE)
        .layer(new LSTM.Builder().nIn(2).nOut(3).activation(Activation.RELU).build())
        .layer(new RnnOutputLayer.Builder(LossFunction.MSE).nIn(3).nOut(1)
            .activation(Activation.IDENTITY).build()));
    UnsupportedLayerException r =
        assertThrows(UnsupportedLayerException.class, () -> Dl4jNetworkModel.of(relu));
    assertTrue(r.getMessage().contains("activation ActivationReLU of layer 0 (LSTM)"),
        r.getMessage());
  }

  @Test
  void badSequencesAreRejectedNamingTheArgument() {
    Nets.Case c = Nets.lstmSequence(DataType.DOUBLE);
    Dl4jNetworkModel m = Dl4jNetworkModel.of(c.net());
    INDArray y = c.batch().getLabels();
    IllegalArgumentException rank = assertThrows(IllegalArgumentException.class,
        () -> m.objective(Nd4j.zeros(DataType.DOUBLE, 5, 3), y));
    assertTrue(rank.getMessage().startsWith("features: shape [5, 3]"), rank.getMessage());
    IllegalArgumentException features = assertThrows(IllegalArgumentException.class,
        () -> m.objective(Nd4j.zeros(DataType.DOUBLE, 5, 2, 4), y));
    assertTrue(features.getMessage().startsWith("features: shape [5, 2, 4]"),
        features.getMessage());
    IllegalArgumentException steps = assertThrows(IllegalArgumentException.class,
        () -> m.objective(c.batch().getFeatures(), Nd4j.zeros(DataType.DOUBLE, 5, 3, 3)));
    assertTrue(steps.getMessage().startsWith("labels: shape [5, 3, 3]"), steps.getMessage());
    IllegalArgumentException flat = assertThrows(IllegalArgumentException.class,
        () -> m.objective(c.batch().getFeatures(), Nd4j.zeros(DataType.DOUBLE, 5, 3)));
    assertTrue(flat.getMessage().contains("needs [5, 3, 4]"), flat.getMessage());
  }
}
