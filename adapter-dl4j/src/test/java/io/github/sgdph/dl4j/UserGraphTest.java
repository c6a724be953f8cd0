package io.github.sgdph.dl4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.sgdph.cases.TrajectoryComparison;
import io.github.sgdph.conformance.FiniteDifferences;
import io.github.sgdph.curvature.Curvature;
import io.github.sgdph.optim.OptimizerSpec;
import io.github.sgdph.optim.Optimizers;
import io.github.sgdph.optim.SgdPh;
import io.github.sgdph.param.ParameterLayout;
import io.github.sgdph.param.ParameterVector;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.deeplearning4j.nn.conf.graph.ElementWiseVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A user's own Deeplearning4j {@code ComputationGraph} through {@link Dl4jGraphModel} (issue
 * 16), float64: a small ResNet ({@link Graphs#resnet}: stem, a basic block with the identity
 * shortcut, one that downsamples with the projection shortcut, global average pooling, dense
 * head; train-mode batch norm) and a dense graph with every join ({@link Graphs#joins}: fan-out,
 * {@code MergeVertex}, an {@code Add} of one array twice).
 *
 * <p>Tolerances. Against central finite differences (float64, step 1e-5 along unit directions;
 * {@link FiniteDifferences}): 1e-7 relative, as the conformance kit (truncation ~1e-10, rounding
 * ~1e-11; no ReLU kink is crossed at these seeds). Identities of exact arithmetic (the ResNet's
 * outputs against DL4J's own, the GGN against its closed form, a restricted product against the
 * full one, the mean of the per-term gradients against the gradient): 1e-12 relative, a few
 * thousand float64 roundings.
 */
class UserGraphTest {
  private static final Logger LOG = LoggerFactory.getLogger(UserGraphTest.class);
  private static final double FD = 1e-7;
  private static final double EXACT = 1e-12;
  private static final double H = 1e-5;
  private static final int N = 6;

  private static DataSet resnetBatch() {
    return new DataSet(Graphs.images(DataType.DOUBLE, N), Nets.oneHot(DataType.DOUBLE, N, 3));
  }

  private static int[] labels() {
    int[] y = new int[N];
    for (int i = 0; i < N; i++) {
      y[i] = (i * 7 + 3) % 3;
    }
    return y;
  }

  private static DataSet joinsBatch() {
    return new DataSet(Nets.inputs(DataType.DOUBLE, N, 5),
        Nets.targets(DataType.DOUBLE, N, 2, false));
  }

  private static ParameterVector unit(Dl4jGraphModel m, int seed) {
    ParameterVector v =
        ParameterVector.randomNormal(m.algebra(), m.layout(), new SplittableRandom(seed));
    return v.scale(1 / v.norm());
  }

  private static void close(double[] expected, double[] actual, double tol, String what) {
    double err = TrajectoryComparison.relative(actual, expected);
    LOG.info("{}: relative error {}", what, err);
    assertTrue(err <= tol, what + ": relative error " + err + " > " + tol);
  }

  @Test
  void theResNetReadsAsAGraphAndSgdPhFindsEveryBatchNorm() {
    Dl4jGraphModel m = Dl4jGraphModel.of(Graphs.resnet(DataType.DOUBLE));
    ParameterLayout layout = m.layout();
    assertEquals(1319, layout.dimension());
    List<String> oneD = new ArrayList<>();
    for (int i : layout.channelWiseIndices()) {
      oneD.add(layout.block(i).name());
    }
    // six batch norms (stem, two per block, the projection's) and the head's bias, last
    assertEquals(List.of("bn1_gamma", "bn1_beta", "layer1.bn1_gamma", "layer1.bn1_beta",
        "layer1.bn2_gamma", "layer1.bn2_beta"), oneD.subList(0, 6));
    assertTrue(oneD.containsAll(List.of("layer2.projbn_gamma", "layer2.projbn_beta",
        "layer2.bn1_gamma", "layer2.bn2_beta")), oneD.toString());
    assertEquals(13, oneD.size(), oneD.toString());
    assertEquals("fc_b", oneD.get(12));
    SgdPh opt = (SgdPh) Optimizers.create(new OptimizerSpec("sgdph", Map.of("lr", 0.05)));
    assertEquals(oneD.subList(0, 12), opt.secondOrderTensors(layout),
        "SGD-PH's second-order tensors: every 1-D tensor but the last");
  }

  @Test
  void theResNetsOutputsAreDl4jsOwn() {
    ComputationGraph g = Graphs.resnet(DataType.DOUBLE);
    Dl4jGraphModel m = Dl4jGraphModel.of(g);
    DataSet b = resnetBatch();
    try (Dl4jCurvature c = m.objective(b).curvature()) {
      INDArray softmax = org.nd4j.linalg.ops.transforms.Transforms.softmax(c.outputs(), true);
      INDArray dl4j = g.outputSingle(true, b.getFeatures());
      close(Nd4jArrays.toDoubles(dl4j), Nd4jArrays.toDoubles(softmax), EXACT,
          "softmax of the outputs vs DL4J's own train-mode output");
      assertEquals(g.score(b, true), c.loss(), EXACT * c.loss(), "loss vs DL4J's score");
    }
  }

  @Test
  void theResNetsGradientMatchesFiniteDifferencesInEveryCoordinate() {
    Dl4jGraphModel m = Dl4jGraphModel.of(Graphs.resnet(DataType.DOUBLE));
    Dl4jObjective o = m.objective(resnetBatch());
    double[] g;
    try (Curvature c = o.curvature()) {
      g = c.gradient().toDoubleArray();
    }
    double[] fd = new double[g.length];
    double[] e = new double[g.length];
    for (int i = 0; i < g.length; i++) {
      e[i] = 1;
      try (ParameterVector d = ParameterVector.fromArray(m.algebra(), m.layout(), e)) {
        fd[i] = FiniteDifferences.directional(o, d, H);
      }
      e[i] = 0;
    }
    close(fd, g, FD, "gradient vs central differences of the loss");
  }

  @Test
  void theResNetsProductsMatchFiniteDifferences() {
    Dl4jGraphModel m = Dl4jGraphModel.of(Graphs.resnet(DataType.DOUBLE));
    Dl4jObjective o = m.objective(resnetBatch());
    ParameterVector v = unit(m, 3);
    double[] hv;
    double[] jv;
    try (Dl4jCurvature c = o.curvature()) {
      hv = c.hvp(v).toDoubleArray();
      jv = c.jvp(v).toDoubleArray();
    }
    close(FiniteDifferences.hessianVector(m, o, v, H), hv, FD,
        "Hv vs central differences of the gradient");
    double[] jvFd = FiniteDifferences.central(m, v, H, x -> {
      try (Dl4jCurvature at = o.curvature()) {
        return Nd4jArrays.toDoubles(at.outputs());
      }
    });
    close(jvFd, jv, FD, "Jv vs central differences of the outputs");
    try (Curvature c = o.curvature()) {
      ParameterVector u = unit(m, 4);
      ParameterVector w = unit(m, 5);
      double lhs = u.dot(c.ggnvp(w));
      double rhs = FiniteDifferences.softmaxCrossEntropyForm(c.outputGradient(),
          c.jvp(u).toDoubleArray(), c.jvp(w).toDoubleArray(), labels(), 3);
      assertEquals(rhs, lhs, EXACT * Math.abs(rhs), "u'Gw vs (Ju)' H_L (Jw)");
      assertEquals(u.dot(c.hvp(w)), w.dot(c.hvp(u)), EXACT * Math.abs(u.dot(c.hvp(w))),
          "u'Hw = w'Hu");
    }
  }

  @Test
  void restrictedProductsOfTheResNetAreBlocksOfTheFullOnes() {
    Dl4jGraphModel m = Dl4jGraphModel.of(Graphs.resnet(DataType.DOUBLE));
    ParameterLayout sub = m.layout().selectByName(
        "layer1.conv1_W", "layer2.proj_W", "layer2.projbn_gamma", "fc_b");
    double[] v = unit(m, 6).toDoubleArray();
    double[] padded = new double[v.length];
    double[] restricted = new double[(int) sub.dimension()];
    int at = 0;
    for (int i = 0; i < sub.blockCount(); i++) {
      long offset = offset(m.layout(), sub.rootIndex(i));
      int size = (int) sub.block(i).size();
      System.arraycopy(v, (int) offset, padded, (int) offset, size);
      System.arraycopy(v, (int) offset, restricted, at, size);
      at += size;
    }
    try (Curvature c = m.objective(resnetBatch()).curvature()) {
      ParameterVector full = ParameterVector.fromArray(m.algebra(), m.layout(), padded);
      ParameterVector part = ParameterVector.fromArray(m.algebra(), sub, restricted);
      ParameterVector h = c.hvp(full);
      ParameterVector gv = c.ggnvp(full);
      ParameterVector hs = c.hvp(part);
      ParameterVector gs = c.ggnvp(part);
      for (int i = 0; i < sub.blockCount(); i++) {
        int root = sub.rootIndex(i);
        String name = sub.block(i).name();
        close(h.block(root).toDoubleArray(), hs.block(i).toDoubleArray(), EXACT,
            "restricted Hv, block " + name);
        close(gv.block(root).toDoubleArray(), gs.block(i).toDoubleArray(), EXACT,
            "restricted Gv, block " + name);
      }
    }
  }

  @Test
  void perTermGradientsOfTheResNetAverageToTheGradient() {
    Dl4jGraphModel m = Dl4jGraphModel.of(Graphs.resnet(DataType.DOUBLE));
    try (Curvature c = m.objective(resnetBatch()).curvature()) {
      List<ParameterVector> terms = c.perTermGradients();
      assertEquals(N, terms.size());
      ParameterVector mean = ParameterVector.zeros(m.algebra(), m.layout());
      for (ParameterVector t : terms) {
        mean.axpy(1.0 / N, t);
      }
      close(c.gradient().toDoubleArray(), mean.toDoubleArray(), EXACT,
          "mean of the per-term gradients (batch norm couples the terms) vs the gradient");
    }
  }

  @Test
  void sgdPhTrainsTheResNetInPlace() {
    ComputationGraph g = Graphs.resnet(DataType.DOUBLE);
    Dl4jGraphModel m = Dl4jGraphModel.of(g);
    DataSet b = resnetBatch();
    double[] head = Nd4jArrays.toDoubles(g.getParam("fc_W"));
    double[] gamma = Nd4jArrays.toDoubles(g.getParam("layer2.projbn_gamma"));
    Dl4jObjective o = m.objective(b);
    double first = o.loss();
    double dl4jFirst = g.score(b, true);
    var opt = Optimizers.create(new OptimizerSpec("sgdph", Map.of("lr", 0.05)));
    for (int i = 0; i < 10; i++) {
      opt.step(o);
    }
    assertTrue(o.loss() < first, "loss " + first + " -> " + o.loss());
    assertTrue(g.score(b, true) < dl4jFirst, "DL4J's own score did not fall");
    assertNotEquals(head[0], g.getParam("fc_W").getDouble(0), "the head's weight moved in place");
    assertNotEquals(gamma[0], g.getParam("layer2.projbn_gamma").getDouble(0),
        "the projection's batch-norm scale moved in place");
    assertEquals(6, m.updateBatchNormStatistics(b), "DL4J-style global statistics, every BN");
  }

  @Test
  void joinsAreExactAsDenseMatrices() {
    Dl4jGraphModel m = Dl4jGraphModel.of(Graphs.joins(DataType.DOUBLE));
    Dl4jObjective o = m.objective(joinsBatch());
    int p = (int) m.layout().dimension();
    assertEquals(112, p);
    double[][] hess = new double[p][];
    double[][] fdHess = new double[p][];
    double[][] gauss = new double[p][];
    double[][] jt = new double[p][];
    try (Dl4jCurvature c = o.curvature()) {
      for (int i = 0; i < p; i++) {
        double[] e = new double[p];
        e[i] = 1;
        ParameterVector v = ParameterVector.fromArray(m.algebra(), m.layout(), e);
        hess[i] = c.hvp(v).toDoubleArray();
        gauss[i] = c.ggnvp(v).toDoubleArray();
        jt[i] = c.jvp(v).toDoubleArray();
      }
    }
    for (int i = 0; i < p; i++) {
      double[] e = new double[p];
      e[i] = 1;
      fdHess[i] = FiniteDifferences.hessianVector(
          m, o, ParameterVector.fromArray(m.algebra(), m.layout(), e), H);
    }
    // H against central differences of the gradient, column by column, and symmetric
    close(flat(fdHess), flat(hess), FD, "dense Hessian vs central differences");
    for (int i = 0; i < p; i++) {
      for (int j = 0; j < i; j++) {
        assertEquals(hess[i][j], hess[j][i], 1e-12 * (1 + Math.abs(hess[i][j])),
            "H[" + i + "][" + j + "] symmetric");
      }
    }
    // G = Jᵀ H_L J with H_L = 2/(n k) I for DL4J's MSE (the mean over all n k entries)
    int k = 2;
    for (int i = 0; i < p; i++) {
      for (int j = 0; j < p; j++) {
        double s = 0;
        for (int r = 0; r < jt[i].length; r++) {
          s += jt[i][r] * jt[j][r];
        }
        assertEquals(2.0 / (N * k) * s, gauss[i][j], 1e-12 * (1 + Math.abs(s)),
            "G[" + i + "][" + j + "] vs (Jᵀ H_L J)");
      }
    }
  }

  @Test
  void perTermGradientsOfTheJoinsAreTheSamplesOwn() {
    Dl4jGraphModel m = Dl4jGraphModel.of(Graphs.joins(DataType.DOUBLE));
    Dl4jObjective o = m.objective(joinsBatch());
    try (Curvature c = o.curvature()) {
      List<ParameterVector> terms = c.perTermGradients();
      List<ParameterVector> alone = o.isolatedSampleGradients();
      for (int i = 0; i < N; i++) {
        close(alone.get(i).toDoubleArray(), terms.get(i).toDoubleArray(), EXACT,
            "per-term gradient " + i + " vs the gradient of sample " + i + " alone");
      }
    }
  }

  @Test
  void aChannelConcatenationIsExact() {
    Dl4jGraphModel m = Dl4jGraphModel.of(Graphs.inception(DataType.DOUBLE));
    assertEquals(44, m.layout().dimension());
    Dl4jObjective o = m.objective(resnetBatch());
    ParameterVector v = unit(m, 8);
    double[] hv;
    List<ParameterVector> terms;
    try (Curvature c = o.curvature()) {
      hv = c.hvp(v).toDoubleArray();
      terms = c.perTermGradients();
    }
    close(FiniteDifferences.hessianVector(m, o, v, H), hv, FD,
        "channel concatenation: Hv vs central differences of the gradient");
    List<ParameterVector> alone = o.isolatedSampleGradients();
    for (int i = 0; i < N; i++) {
      close(alone.get(i).toDoubleArray(), terms.get(i).toDoubleArray(), EXACT,
          "channel concatenation: per-term gradient " + i + " vs sample " + i + " alone");
    }
  }

  @Test
  void aGraphOfTwoOutputsIsRefused() {
    ComputationGraph g = Graphs.init(Graphs.builder(DataType.DOUBLE).addInputs("x")
        .addLayer("o1", new OutputLayer.Builder(LossFunction.MSE).nIn(3).nOut(1)
            .activation(Activation.IDENTITY).build(), "x")
        .addLayer("o2", new OutputLayer.Builder(LossFunction.MSE).nIn(3).nOut(2)
            .activation(Activation.IDENTITY).build(), "x")
        .setOutputs("o1", "o2").setInputTypes(InputType.feedForward(3)));
    UnsupportedLayerException e =
        assertThrows(UnsupportedLayerException.class, () -> Dl4jGraphModel.of(g));
    assertTrue(e.getMessage().startsWith(
        "a ComputationGraph with 1 inputs and 2 outputs (one of each)"), e.getMessage());
  }

  private static long offset(ParameterLayout layout, int block) {
    long o = 0;
    for (int i = 0; i < block; i++) {
      o += layout.block(i).size();
    }
    return o;
  }

  private static double[] flat(double[][] a) {
    return java.util.Arrays.stream(a).flatMapToDouble(java.util.Arrays::stream).toArray();
  }

  @Test
  void anUnsupportedVertexIsNamed() {
    ComputationGraph g = Graphs.init(Graphs.builder(DataType.DOUBLE).addInputs("x")
        .addLayer("a", new org.deeplearning4j.nn.conf.layers.DenseLayer.Builder().nIn(3).nOut(3)
            .activation(Activation.TANH).build(), "x")
        .addVertex("times", new ElementWiseVertex(ElementWiseVertex.Op.Product), "a", "x")
        .addLayer("out", new OutputLayer.Builder(LossFunction.MSE).nIn(3).nOut(1)
            .activation(Activation.IDENTITY).build(), "times")
        .setOutputs("out").setInputTypes(InputType.feedForward(3)));
    UnsupportedLayerException e =
        assertThrows(UnsupportedLayerException.class, () -> Dl4jGraphModel.of(g));
    assertEquals("times", e.vertexName());
    assertEquals(-1, e.layerIndex());
    assertTrue(e.getMessage().startsWith("ElementWiseVertex(Product), vertex 'times'"),
        e.getMessage());
    assertTrue(e.getMessage().contains("ElementWiseVertex(Add)"), e.getMessage());
  }
}
