package io.github.sgdph.djl;

import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.LambdaBlock;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import ai.djl.nn.recurrent.LSTM;
import ai.djl.training.loss.Loss;
import io.github.sgdph.conformance.FiniteDifferences;
import io.github.sgdph.curvature.Curvature;
import io.github.sgdph.optim.Optimizer;
import io.github.sgdph.optim.OptimizerSpec;
import io.github.sgdph.optim.Optimizers;
import io.github.sgdph.param.ParameterVector;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A DJL user's own block with DJL's {@code LSTM} (two stacked layers, batch-first, then the last
 * time step and a {@code Linear} head) under {@link BlockCurvatureModel} on the CPU in float64:
 * PyTorch's CPU {@code lstm} is composed of differentiable operations, so its double backward is
 * exact there (on a GPU the cuDNN kernel has none, which is why spec LSTMs are unrolled,
 * {@link SpecLstm}). The gradient and the Hessian-vector product match central finite
 * differences (step 1e-5 along a unit direction: 1e-7, {@link FiniteDifferences}), and
 * block-diagonal HF and SGD-PH steps run on it and lower the loss. DJL's {@code LSTM} makes its
 * zero initial states in float32 when none are given, which PyTorch refuses next to float64
 * weights, so the block passes float64 zero states in front of it.
 */
class UserLstmBlockTest {
  private static final int HIDDEN = 4;
  private static final int LAYERS = 2;
  private NDManager manager;

  @BeforeEach
  void open() {
    manager = NDManager.newBaseManager(Device.cpu(), "PyTorch");
  }

  @AfterEach
  void close() {
    manager.close();
  }

  private SequentialBlock block() {
    SequentialBlock b = new SequentialBlock();
    b.add(new LambdaBlock(l -> {
      NDArray x = l.singletonOrThrow();
      NDArray zero = x.getManager().zeros(
          new Shape(LAYERS, x.getShape().get(0), HIDDEN), x.getDataType());
      return new NDList(x, zero, zero.duplicate());
    }, "zeroStates"));
    b.add(LSTM.builder().setStateSize(HIDDEN).setNumLayers(LAYERS).optBatchFirst(true)
        .optReturnState(false).build());
    b.add(new LambdaBlock(l -> new NDList(l.singletonOrThrow().get(":, -1, :")), "last") {
      @Override
      public Shape[] getOutputShapes(Shape[] in) {
        return new Shape[] {new Shape(in[0].get(0), HIDDEN)};
      }
    });
    b.add(Linear.builder().setUnits(3).build());
    b.initialize(manager, DataType.FLOAT64, new Shape(5, 4, 3));
    return b;
  }

  private NDList[] data(int n, long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    double[] x = new double[n * 4 * 3];
    double[] y = new double[n];
    for (int i = 0; i < x.length; i++) {
      x[i] = r.nextGaussian();
    }
    for (int i = 0; i < n; i++) {
      y[i] = r.nextInt(3);
    }
    return new NDList[] {
      new NDList(manager.create(x, new Shape(n, 4, 3))), new NDList(manager.create(y))
    };
  }

  private static double relErr(double[] a, double[] e) {
    double d = 0;
    double n = 0;
    for (int i = 0; i < a.length; i++) {
      d += (a[i] - e[i]) * (a[i] - e[i]);
      n += e[i] * e[i];
    }
    return Math.sqrt(d / n);
  }

  @Test
  void gradientAndHvpMatchCentralFiniteDifferences() {
    NDList[] d = data(5, 1);
    try (BlockCurvatureModel m =
        BlockCurvatureModel.builder(block()).loss(Loss.softmaxCrossEntropyLoss()).build()) {
      DjlObjective o = m.objective(d[0], d[1]);
      for (long seed = 2; seed <= 3; seed++) {
        try (ParameterVector v = ParameterVector.randomNormal(m.algebra(), m.layout(),
                new SplittableRandom(seed));
            Curvature c = o.curvature()) {
          v.scale(1 / v.norm());
          double gv;
          double[] hv;
          try (ParameterVector g = c.gradient(); ParameterVector h = c.hvp(v)) {
            gv = g.dot(v);
            hv = h.toDoubleArray();
          }
          double fd = FiniteDifferences.directional(o, v, 1e-5);
          assertTrue(Math.abs(gv - fd) <= 1e-7 * Math.abs(fd), "gᵀv " + gv + " vs " + fd);
          double err = relErr(hv, FiniteDifferences.hessianVector(m, o, v, 1e-5));
          assertTrue(err <= 1e-7, "Hv vs finite differences: " + err);
        }
      }
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"bdhf", "sgdph"})
  void secondOrderStepsRunAndLowerTheLoss(String name) {
    Map<String, Object> hyper = name.equals("bdhf")
        ? Map.of("lambda", 1.0, "cg_max_iter", 10)
        : Map.of("lr", 0.1);
    Optimizer opt = Optimizers.create(new OptimizerSpec(name, hyper));
    NDList[] d = data(16, 5);
    try (BlockCurvatureModel m =
        BlockCurvatureModel.builder(block()).loss(Loss.softmaxCrossEntropyLoss()).build()) {
      double first = m.objective(d[0], d[1]).loss();
      for (int t = 0; t < 5; t++) {
        double loss = opt.step(m.objective(d[0], d[1])).loss();
        assertTrue(Double.isFinite(loss), name + ": step " + t + " loss " + loss);
      }
      double last = m.objective(d[0], d[1]).loss();
      assertTrue(last < first, name + ": loss " + first + " → " + last);
    }
  }
}
