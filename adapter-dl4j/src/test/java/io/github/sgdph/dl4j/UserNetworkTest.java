package io.github.sgdph.dl4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.sgdph.curvature.Curvature;
import io.github.sgdph.optim.Optimizer;
import io.github.sgdph.optim.OptimizerSpec;
import io.github.sgdph.optim.Optimizers;
import io.github.sgdph.optim.StepReport;
import io.github.sgdph.param.ParameterVector;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.DropoutLayer;
import org.deeplearning4j.nn.conf.layers.GravesLSTM;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;

/** A user's own {@code MultiLayerNetwork} (built with DL4J's builder) through the adapter. */
class UserNetworkTest {

  /** Dense relu + BatchNormalization + Dense + softmax, float32, as a user would configure it. */
  private static MultiLayerNetwork userNetwork() {
    return Nets.init(Nets.list(DataType.FLOAT)
        .layer(new DenseLayer.Builder().nIn(10).nOut(16).activation(Activation.RELU).build())
        .layer(new BatchNormalization.Builder().nOut(16).build())
        .layer(new DenseLayer.Builder().nIn(16).nOut(8).activation(Activation.TANH).build())
        .layer(new OutputLayer.Builder(LossFunction.MCXENT).nIn(8).nOut(3)
            .activation(Activation.SOFTMAX).build()));
  }

  /** Three separable clusters. */
  private static List<DataSet> batches(int count, int n) {
    Nd4j.getRandom().setSeed(11);
    List<DataSet> out = new ArrayList<>();
    for (int b = 0; b < count; b++) {
      INDArray x = Nd4j.randn(DataType.FLOAT, n, 10).muli(0.5);
      INDArray y = Nd4j.zeros(DataType.FLOAT, n, 3);
      for (int i = 0; i < n; i++) {
        int cls = (i + b) % 3;
        y.putScalar(i, cls, 1);
        x.putScalar(i, cls, x.getDouble(i, cls) + 2.0);
      }
      out.add(new DataSet(x, y));
    }
    return out;
  }

  @Test
  void trainsWithSgdPhAndUpdatesTheNetworksParametersInPlace() {
    MultiLayerNetwork net = userNetwork();
    INDArray flat = net.params();
    INDArray w0 = net.getParam("0_W");
    double[] before = Nd4jArrays.toDoubles(flat);
    Dl4jNetworkModel model = Dl4jNetworkModel.of(net);
    assertTrue(model.layout().block(model.layout().indexOf("0_b")).channelWise(),
        "DL4J's [1, n] bias is a 1-D, channel-wise block");
    Optimizer opt = Optimizers.create(new OptimizerSpec("sgdph", Map.of("lr", 0.1)));
    assertEquals("sgdph", opt.name());
    List<DataSet> data = batches(4, 24);
    double first = model.objective(data.get(0)).loss();
    double dl4jFirst = net.score(data.get(0), true);
    StepReport last = null;
    for (int step = 0; step < 40; step++) {
      DataSet batch = data.get(step % data.size());
      last = opt.step(model.objective(batch));
      assertTrue(Double.isFinite(last.loss()), "loss at step " + step);
      assertEquals(1, model.updateBatchNormStatistics(batch));
    }
    double end = model.objective(data.get(0)).loss();
    assertTrue(end < 0.5 * first, "loss " + first + " -> " + end);
    // the network's own arrays changed: same objects, new values
    assertSame(flat, net.params());
    assertSame(w0, net.getParam("0_W"));
    assertFalse(java.util.Arrays.equals(before, Nd4jArrays.toDoubles(flat)),
        "the network's parameters changed");
    // DL4J itself sees the trained network
    double dl4jEnd = net.score(data.get(0), true);
    assertTrue(dl4jEnd < 0.5 * dl4jFirst, "DL4J score " + dl4jFirst + " -> " + dl4jEnd);
    assertEquals(dl4jEnd, end, 1e-3 * end, "float32 rounding of a small loss");
    // with the global statistics tracked, DL4J's inference mode works too
    double inference = net.score(data.get(0), false);
    assertTrue(inference < 0.5 * dl4jFirst, "DL4J inference score " + inference);
    INDArray predicted = net.output(data.get(0).getFeatures());
    assertEquals(24, predicted.size(0));
  }

  @Test
  void batchNormStatisticsFollowDl4jsOwnTraining() {
    DataSet batch = batches(1, 12).get(0);
    MultiLayerNetwork mine = userNetwork();
    MultiLayerNetwork theirs = userNetwork();
    Dl4jNetworkModel.of(mine).updateBatchNormStatistics(batch);
    // DL4J updates them in fit(); a zero learning rate leaves everything else as it was
    theirs.setLearningRate(0.0);
    theirs.fit(batch);
    for (String key : List.of("1_mean", "1_log10stdev")) {
      assertArrayEquals(Nd4jArrays.toDoubles(theirs.getParam(key)),
          Nd4jArrays.toDoubles(mine.getParam(key)), 1e-5, key);
    }
  }

  @Test
  void parametersAreTheNetworksOwnViews() {
    MultiLayerNetwork net = userNetwork();
    Dl4jNetworkModel model = Dl4jNetworkModel.of(net);
    assertEquals(List.of("0_W", "0_b", "1_gamma", "1_beta", "2_W", "2_b", "3_W", "3_b"),
        model.layout().blocks().stream().map(b -> b.name()).toList());
    assertEquals(net.numParams() - 2 * 16, model.layout().dimension(),
        "every parameter but the batch norm's global mean and variance");
    try (ParameterVector p = model.parameters()) {
      assertArrayEquals(Nd4jArrays.toDoubles(net.getParam("0_W")),
          p.block("0_W").toDoubleArray());
      p.block("3_b").fill(0.25);
      model.setParameters(p);
    }
    assertEquals(0.25, net.getParam("3_b").getDouble(0, 2), 0);
  }

  @Test
  void unsupportedLayersAreRejectedWithTheListOfSupportedOnes() {
    MultiLayerNetwork lstm = Nets.init(Nets.list(DataType.FLOAT)
        .layer(new GravesLSTM.Builder().nIn(3).nOut(4).build())
        .layer(new RnnOutputLayer.Builder(LossFunction.MCXENT).nIn(4).nOut(2)
            .activation(Activation.SOFTMAX).build()));
    UnsupportedLayerException e =
        assertThrows(UnsupportedLayerException.class, () -> Dl4jNetworkModel.of(lstm));
    assertEquals(0, e.layerIndex());
    assertTrue(e.getMessage().contains("layer 0 (GravesLSTM): peephole connections"), e.getMessage());
    assertTrue(e.getMessage().contains(UnsupportedLayerException.SUPPORTED), e.getMessage());

    MultiLayerNetwork dropout = Nets.init(Nets.list(DataType.FLOAT)
        .layer(new DenseLayer.Builder().nIn(3).nOut(4).dropOut(0.5).build())
        .layer(new OutputLayer.Builder(LossFunction.MSE).nIn(4).nOut(2)
            .activation(Activation.IDENTITY).build()));
    UnsupportedLayerException d =
        assertThrows(UnsupportedLayerException.class, () -> Dl4jNetworkModel.of(dropout));
    assertTrue(d.getMessage().contains("dropout on layer 0 (DenseLayer)"), d.getMessage());

    MultiLayerNetwork dropoutLayer = Nets.init(Nets.list(DataType.FLOAT)
        .layer(new DenseLayer.Builder().nIn(3).nOut(4).build())
        .layer(new DropoutLayer.Builder(0.5).build())
        .layer(new OutputLayer.Builder(LossFunction.MSE).nIn(4).nOut(2)
            .activation(Activation.IDENTITY).build()));
    UnsupportedLayerException dl =
        assertThrows(UnsupportedLayerException.class, () -> Dl4jNetworkModel.of(dropoutLayer));
    assertEquals(1, dl.layerIndex());

    MultiLayerNetwork badCombination = Nets.init(Nets.list(DataType.FLOAT)
        .layer(new OutputLayer.Builder(LossFunction.MSE).nIn(3).nOut(2)
            .activation(Activation.SOFTMAX).build()));
    UnsupportedLayerException bc =
        assertThrows(UnsupportedLayerException.class, () -> Dl4jNetworkModel.of(badCombination));
    assertTrue(bc.getMessage().contains("ActivationSoftmax + LossMSE"), bc.getMessage());
  }

  @Test
  void badBatchesAreRejectedAndParametersStayUntouched() {
    MultiLayerNetwork net = userNetwork();
    Dl4jNetworkModel model = Dl4jNetworkModel.of(net);
    double[] before = Nd4jArrays.toDoubles(net.params());
    DataSet good = batches(1, 6).get(0);
    IllegalArgumentException wrongShape = assertThrows(IllegalArgumentException.class,
        () -> model.objective(Nd4j.zeros(DataType.FLOAT, 6, 9), good.getLabels()));
    assertTrue(wrongShape.getMessage().startsWith("features: shape [6, 9]"),
        wrongShape.getMessage());
    IllegalArgumentException wrongLabels = assertThrows(IllegalArgumentException.class,
        () -> model.objective(good.getFeatures(), Nd4j.zeros(DataType.FLOAT, 6, 4)));
    assertTrue(wrongLabels.getMessage().startsWith("labels: shape [6, 4]"),
        wrongLabels.getMessage());
    INDArray nan = good.getFeatures().dup();
    nan.putScalar(2, 3, Double.NaN);
    IllegalArgumentException withNan = assertThrows(IllegalArgumentException.class,
        () -> model.objective(nan, good.getLabels()));
    assertTrue(withNan.getMessage().contains("NaN"), withNan.getMessage());
    // a non-finite update is rejected, naming the block, and changes nothing
    Dl4jObjective o = model.objective(good);
    try (ParameterVector d = model.parameters()) {
      d.block("2_W").fill(Double.POSITIVE_INFINITY);
      IllegalArgumentException bad =
          assertThrows(IllegalArgumentException.class, () -> o.applyUpdate(d, 0.1));
      assertTrue(bad.getMessage().contains("'2_W'"), bad.getMessage());
      assertThrows(IllegalArgumentException.class, () -> model.setParameters(d));
    }
    try (ParameterVector d = model.parameters()) {
      IllegalArgumentException overflow =
          assertThrows(IllegalArgumentException.class, () -> o.applyUpdate(d, 1e300));
      assertTrue(overflow.getMessage().contains("overflow"), overflow.getMessage());
    }
    assertArrayEquals(before, Nd4jArrays.toDoubles(net.params()));
  }

  @Test
  void imagesOfTheWrongSizeAreRejectedNamingTheFeatures() {
    Nets.Case c = Nets.convSameAvgPool(DataType.DOUBLE);
    Dl4jNetworkModel model = Dl4jNetworkModel.of(c.net());
    INDArray x = Nd4j.zeros(DataType.DOUBLE, 3, 2, 7, 5);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> model.objective(x, c.batch().getLabels()));
    assertTrue(e.getMessage().startsWith("features: the network cannot take inputs of shape "
        + "[3, 2, 7, 5]"), e.getMessage());
    INDArray y = Nd4j.zeros(DataType.DOUBLE, 3, 5);
    IllegalArgumentException l = assertThrows(IllegalArgumentException.class,
        () -> model.objective(c.batch().getFeatures(), y));
    assertTrue(l.getMessage().startsWith("labels: shape [3, 5]"), l.getMessage());
  }

  @Test
  void updatesThroughTheModelMakeOlderCurvaturesStale() {
    Dl4jNetworkModel model = Dl4jNetworkModel.of(userNetwork());
    Dl4jObjective o = model.objective(batches(1, 6).get(0));
    try (Curvature c = o.curvature(); ParameterVector g = c.gradient()) {
      o.applyUpdate(g, -0.01);
      assertThrows(IllegalStateException.class, c::loss);
      assertThrows(IllegalStateException.class, () -> c.hvp(g));
    }
  }

  @Test
  void uninitialisedAndIntegerNetworksAreRejected() {
    MultiLayerNetwork raw = new MultiLayerNetwork(Nets.list(DataType.FLOAT)
        .layer(new OutputLayer.Builder(LossFunction.MSE).nIn(3).nOut(2)
            .activation(Activation.IDENTITY).build()).build());
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> Dl4jNetworkModel.of(raw));
    assertTrue(e.getMessage().contains("init()"), e.getMessage());
  }
}
