package io.github.sgdph.djl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.basicmodelzoo.cv.classification.ResNetV1;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.training.loss.Loss;
import io.github.sgdph.conformance.FiniteDifferences;
import io.github.sgdph.curvature.Curvature;
import io.github.sgdph.optim.Optimizer;
import io.github.sgdph.optim.OptimizerSpec;
import io.github.sgdph.optim.Optimizers;
import io.github.sgdph.optim.SgdPh;
import io.github.sgdph.param.ParameterLayout;
import io.github.sgdph.param.ParameterVector;
import io.github.sgdph.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A DJL user's own residual network (issue 16): DJL's ResNet from its basic model zoo ({@link
 * ResNetV1}: {@code ParallelBlock}s adding a convolution branch and an identity or projection
 * shortcut, DJL's own fused {@code BatchNorm}) at the smallest depth DJL builds for small images,
 * ResNet-8 (three stages of one basic block, widths 16, 32, 64), on 1×8×8 inputs, float64, as a
 * {@link BlockCurvatureModel}. Exact products against central finite differences ({@code Hv} vs
 * differences of the gradient, 1e-6 normwise: step 1e-5, truncation ~1e-10, with ReLU kinks
 * not crossed at this seed), {@code uᵀGw} against {@code (Ju)ᵀ H_L (Jw)} for softmax
 * cross-entropy (1e-10), and SGD-PH steps that find every batch norm's channel-wise parameters.
 */
class ZooResNetTest {
  private NDManager manager;

  @BeforeEach
  void open() {
    manager = NDManager.newBaseManager(Device.cpu(), "PyTorch");
  }

  @AfterEach
  void close() {
    manager.close();
  }

  private Block resnet8() {
    Block block = ResNetV1.builder().setImageShape(new Shape(1, 8, 8)).setNumLayers(8)
        .setOutSize(3).build();
    block.initialize(manager, DataType.FLOAT64, new Shape(5, 1, 8, 8));
    return block;
  }

  private NDList[] data(int n) {
    SplittableRandom r = new SplittableRandom(7);
    double[] x = new double[n * 64];
    for (int i = 0; i < x.length; i++) {
      x[i] = r.nextGaussian();
    }
    double[] y = new double[n];
    for (int i = 0; i < n; i++) {
      y[i] = r.nextInt(3);
    }
    NDArray xa = manager.create(x, new Shape(n, 1, 8, 8));
    NDArray ya = manager.create(y, new Shape(n));
    return new NDList[] {new NDList(xa), new NDList(ya)};
  }

  private static double relErr(double[] a, double[] e) {
    double d = 0;
    double ne = 0;
    for (int i = 0; i < a.length; i++) {
      d += (a[i] - e[i]) * (a[i] - e[i]);
      ne += e[i] * e[i];
    }
    return Math.sqrt(d) / Math.sqrt(ne);
  }

  @Test
  void zooResNetProductsAreExact() {
    NDList[] d = data(5);
    try (BlockCurvatureModel m = BlockCurvatureModel.builder(resnet8())
        .loss(Loss.softmaxCrossEntropyLoss()).build()) {
      DjlObjective o = m.objective(d[0], d[1]);
      ParameterVector theta = m.parameters();
      ParameterVector v = ParameterVector.randomNormal(m.algebra(), m.layout(),
          new SplittableRandom(3));
      v.scale(1 / v.norm());
      double[] hv;
      try (Curvature c = o.curvature()) {
        hv = c.hvp(v).toDoubleArray();
      }
      double h = 1e-5;
      double[] gp = gradientAt(m, o, theta.copy().axpy(h, v));
      double[] gm = gradientAt(m, o, theta.copy().axpy(-h, v));
      m.setParameters(theta);
      double[] fd = new double[gp.length];
      for (int i = 0; i < fd.length; i++) {
        fd[i] = (gp[i] - gm[i]) / (2 * h);
      }
      double err = relErr(hv, fd);
      assertTrue(err < 1e-6, "ResNet Hv vs finite differences: " + err);
      try (Curvature c = o.curvature()) {
        ParameterVector u = ParameterVector.randomNormal(m.algebra(), m.layout(),
            new SplittableRandom(4));
        ParameterVector w = ParameterVector.randomNormal(m.algebra(), m.layout(),
            new SplittableRandom(5));
        double lhs = u.dot(c.ggnvp(w));
        Tensor ju = c.jvp(u);
        Tensor jw = c.jvp(w);
        int[] labels = d[1].singletonOrThrow().toType(DataType.INT32, false).toIntArray();
        double rhs = FiniteDifferences.softmaxCrossEntropyForm(c.outputGradient(),
            ju.toDoubleArray(), jw.toDoubleArray(), labels, 3);
        assertEquals(rhs, lhs, 1e-10 * Math.max(Math.abs(rhs), 1e-300), "u'Gw vs (Ju)'H_L(Jw)");
      }
    }
  }

  private static double[] gradientAt(BlockCurvatureModel m, DjlObjective o, ParameterVector t) {
    m.setParameters(t);
    try (Curvature c = o.curvature()) {
      return c.gradient().toDoubleArray();
    }
  }

  @Test
  void sgdphFindsEveryBatchNormOfTheZooResNetAndTrainsIt() {
    NDList[] d = data(5);
    try (BlockCurvatureModel m = BlockCurvatureModel.builder(resnet8())
        .loss(Loss.softmaxCrossEntropyLoss()).build()) {
      ParameterLayout layout = m.layout();
      List<String> oneD = new ArrayList<>();
      for (int i : layout.channelWiseIndices()) {
        oneD.add(layout.block(i).name());
      }
      long norms = oneD.stream().filter(n -> n.endsWith(".gamma") || n.endsWith(".beta")).count();
      // ResNet-8: the stem's batch norm, two per basic block and one per projection shortcut
      assertTrue(norms >= 2 * (1 + 3 * 2), "batch-norm tensors found: " + oneD);
      SgdPh opt = (SgdPh) Optimizers.create(new OptimizerSpec("sgdph", Map.of("lr", 0.05)));
      List<String> second = opt.secondOrderTensors(layout);
      assertEquals(oneD.subList(0, oneD.size() - 1), second, "all 1-D tensors but the last");
      DjlObjective o = m.objective(d[0], d[1]);
      double first = o.loss();
      Optimizer sgdph = opt;
      for (int i = 0; i < 10; i++) {
        sgdph.step(o);
      }
      double last = m.objective(d[0], d[1]).loss();
      assertTrue(last < first, "loss " + first + " -> " + last);
    }
  }
}
