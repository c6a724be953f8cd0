package io.github.sgdph.reference;

import io.github.sgdph.curvature.Curvature;
import io.github.sgdph.data.ArrayBatch;
import io.github.sgdph.model.DefaultInitializer;
import io.github.sgdph.model.LayerSpec;
import io.github.sgdph.model.LayerSpec.ActivationKind;
import io.github.sgdph.model.LayerSpec.Mode;
import io.github.sgdph.model.LayerSpec.PoolKind;
import io.github.sgdph.model.LossKind;
import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.model.ModelSpec.Node;
import io.github.sgdph.model.NamedArray;
import io.github.sgdph.model.RandomBatches;
import io.github.sgdph.param.ParameterLayout;
import io.github.sgdph.param.ParameterVector;
import io.github.sgdph.tensor.DType;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.random.RandomGenerator;

/** Small models, parameters, batches and numerical helpers shared by the tests. */
final class Fixtures {
  private Fixtures() {}

  static final ReferenceBackend BACKEND = new ReferenceBackend();

  /** A named model configuration for parameterized tests. */
  record Case(String name, ModelSpec spec, int batch) {
    @Override
    public String toString() {
      return name;
    }
  }

  static LayerSpec dense(int in, int out) {
    return new LayerSpec.Dense(in, out, true);
  }

  static LayerSpec act(ActivationKind k) {
    return new LayerSpec.Activation(k);
  }

  static LayerSpec bn(int f, Mode mode) {
    return new LayerSpec.BatchNorm(f, 1e-5, 0.1, mode);
  }

  static LayerSpec conv(int in, int out, int k, int stride, int pad) {
    return new LayerSpec.Conv2d(in, out, k, k, stride, stride, pad, pad, true);
  }

  static LayerSpec pool(PoolKind kind, int k, int stride) {
    return new LayerSpec.Pool2d(kind, k, k, stride, stride);
  }

  static LayerSpec flatten() {
    return new LayerSpec.Flatten();
  }

  static ModelSpec spec(int[] in, LossKind loss, LayerSpec... layers) {
    return new ModelSpec(in, List.of(layers), loss);
  }

  static final LossKind CE = LossKind.SOFTMAX_CROSS_ENTROPY;
  static final LossKind MSE = LossKind.MSE;
  static final LossKind BCE = LossKind.SIGMOID_BINARY_CROSS_ENTROPY;

  /** Every layer type alone (behind a parameterized layer) and small networks, all losses. */
  static List<Case> cases() {
    List<Case> c = new ArrayList<>();
    int[] v6 = {6};
    int[] img = {2, 6, 6};
    // each layer type alone, with a parameterized layer in front
    c.add(new Case("dense+mse", spec(v6, MSE, dense(6, 3)), 5));
    c.add(new Case("dense+ce", spec(v6, CE, dense(6, 4)), 5));
    c.add(new Case("dense+bce", spec(v6, BCE, dense(6, 3)), 5));
    c.add(new Case("dense-nobias+mse", spec(v6, MSE, new LayerSpec.Dense(6, 3, false)), 4));
    c.add(new Case("relu", spec(v6, MSE, dense(6, 5), act(ActivationKind.RELU)), 5));
    c.add(new Case("tanh", spec(v6, CE, dense(6, 4), act(ActivationKind.TANH)), 5));
    c.add(new Case("sigmoid", spec(v6, BCE, dense(6, 4), act(ActivationKind.SIGMOID)), 5));
    c.add(new Case("softplus", spec(v6, MSE, dense(6, 4), act(ActivationKind.SOFTPLUS)), 5));
    c.add(new Case("batchnorm-train", spec(v6, MSE, dense(6, 4), bn(4, Mode.TRAIN)), 6));
    c.add(new Case("batchnorm-eval", spec(v6, CE, dense(6, 4), bn(4, Mode.EVAL)), 5));
    c.add(new Case("conv2d+flatten", spec(img, MSE, conv(2, 2, 3, 1, 0), flatten()), 3));
    c.add(new Case("conv2d-stride2-pad1", spec(img, CE, conv(2, 2, 3, 2, 1), flatten()), 3));
    c.add(new Case(
        "maxpool2d", spec(img, MSE, conv(2, 2, 3, 1, 0), pool(PoolKind.MAX, 2, 2), flatten()), 3));
    c.add(new Case(
        "maxpool2d-overlap",
        spec(img, CE, conv(2, 2, 3, 1, 0), pool(PoolKind.MAX, 3, 1), flatten()), 3));
    c.add(new Case(
        "avgpool2d", spec(img, CE, conv(2, 2, 3, 1, 0), pool(PoolKind.AVG, 2, 2), flatten()), 3));
    c.add(new Case(
        "batchnorm-train-4d", spec(img, MSE, conv(2, 2, 3, 1, 0), bn(2, Mode.TRAIN), flatten()),
        3));
    c.add(new Case(
        "batchnorm-eval-4d", spec(img, BCE, conv(2, 2, 3, 1, 0), bn(2, Mode.EVAL), flatten()), 3));
    // small networks
    c.add(new Case(
        "mlp-tanh-bn-train-ce",
        spec(v6, CE, dense(6, 5), bn(5, Mode.TRAIN), act(ActivationKind.TANH), dense(5, 3)), 8));
    c.add(new Case(
        "mlp-relu-ce",
        spec(v6, CE, dense(6, 5), act(ActivationKind.RELU), dense(5, 5),
            act(ActivationKind.RELU), dense(5, 3)), 7));
    c.add(new Case(
        "mlp-sigmoid-softplus-bce",
        spec(v6, BCE, dense(6, 5), act(ActivationKind.SIGMOID), dense(5, 4),
            act(ActivationKind.SOFTPLUS), dense(4, 2)), 6));
    c.add(new Case(
        "mlp-bn-eval-tanh-mse",
        spec(v6, MSE, dense(6, 5), bn(5, Mode.EVAL), act(ActivationKind.TANH), dense(5, 2)), 5));
    c.add(new Case(
        "cnn-conv-relu-maxpool-dense-ce",
        spec(img, CE, conv(2, 3, 3, 1, 0), act(ActivationKind.RELU), pool(PoolKind.MAX, 2, 2),
            flatten(), dense(12, 3)), 4));
    c.add(new Case(
        "cnn-stride2-pad1-tanh-bce",
        spec(new int[] {2, 5, 5}, BCE, conv(2, 3, 3, 2, 1), act(ActivationKind.TANH), flatten(),
            dense(27, 2)), 4));
    c.add(new Case(
        "cnn-softplus-avgpool-mse",
        spec(img, MSE, conv(2, 2, 3, 1, 0), act(ActivationKind.SOFTPLUS),
            pool(PoolKind.AVG, 2, 2), flatten(), dense(8, 3)), 4));
    c.add(new Case(
        "cnn-bn-train-sigmoid-ce",
        spec(img, CE, conv(2, 2, 3, 1, 1), bn(2, Mode.TRAIN), act(ActivationKind.SIGMOID),
            pool(PoolKind.AVG, 3, 3), flatten(), dense(8, 3)), 3));
    return c;
  }

  /**
   * Graph models (issue 16), tiny enough for dense matrices: residual adds with identity and
   * projection shortcuts, fan-out (a node read by two or three nodes, and twice by one add),
   * global average pooling, batch norm in both modes, every loss.
   */
  static List<Case> graphCases() {
    List<Case> c = new ArrayList<>();
    c.add(new Case("graph-residual-mlp-fanout-ce", ModelSpec.graph(new int[] {4}, List.of(
        Node.of("fc1", dense(4, 4), "input"),
        Node.of("act", act(ActivationKind.TANH)),
        Node.of("sum", new LayerSpec.Add(), "act", "fc1", "input"),
        Node.of("fc2", dense(4, 3))), CE), 5));
    c.add(new Case("graph-x-plus-x-softplus-mse", ModelSpec.graph(new int[] {3}, List.of(
        Node.of("h", dense(3, 3), "input"),
        Node.of("twice", new LayerSpec.Add(), "h", "h"),
        Node.of("sp", act(ActivationKind.SOFTPLUS)),
        Node.of("skip", new LayerSpec.Identity(), "h"),
        Node.of("sum", new LayerSpec.Add(), "sp", "skip"),
        Node.of("out", dense(3, 2))), MSE), 4));
    c.add(new Case("graph-bn-branches-sigmoid-bce", ModelSpec.graph(new int[] {4}, List.of(
        Node.of("fc", dense(4, 3), "input"),
        Node.of("bn.a", bn(3, Mode.TRAIN), "fc"),
        Node.of("sig", act(ActivationKind.SIGMOID)),
        Node.of("bn.b", bn(3, Mode.EVAL), "fc"),
        Node.of("sum", new LayerSpec.Add(), "sig", "bn.b"),
        Node.of("head", dense(3, 2))), BCE), 5));
    c.add(new Case("graph-resnet-bn-train-ce",
        io.github.sgdph.model.ResNets.twoBlocks(new int[] {1, 4, 4}, 2, 3, Mode.TRAIN), 3));
    c.add(new Case("graph-resnet-bn-eval-ce",
        io.github.sgdph.model.ResNets.twoBlocks(new int[] {2, 3, 3}, 1, 2, Mode.EVAL), 3));
    c.add(new Case("graph-conv-gap-shortcut-mse", ModelSpec.graph(new int[] {2, 5, 5}, List.of(
        Node.of("c1", conv(2, 2, 3, 1, 1), "input"),
        Node.of("t", act(ActivationKind.TANH)),
        Node.of("res", new LayerSpec.Add(), "t", "input"),
        Node.of("proj", conv(2, 3, 1, 2, 0), "res"),
        Node.of("c2", conv(2, 3, 3, 2, 1), "res"),
        Node.of("sum", new LayerSpec.Add(), "proj", "c2"),
        Node.of("gap", new LayerSpec.GlobalAvgPool()),
        Node.of("fc", dense(3, 2))), MSE), 3));
    return c;
  }

  /**
   * LSTM models (issue 20), tiny enough for dense matrices: two stacked layers returning the
   * last hidden state, one layer returning the sequence, an LSTM node in a graph with a residual
   * add over the sequence, every loss; {@code T = 1} (no recurrence) included.
   */
  static List<Case> recurrentCases() {
    List<Case> c = new ArrayList<>();
    c.add(new Case("lstm-2layers-last-ce",
        spec(new int[] {4, 3}, CE, new LayerSpec.Lstm(3, 2, 2, false), dense(2, 3)), 3));
    c.add(new Case("lstm-sequence-flatten-mse",
        spec(new int[] {3, 2}, MSE, new LayerSpec.Lstm(2, 3, 1, true), flatten(), dense(9, 2)),
        3));
    c.add(new Case("lstm-one-step-bce",
        spec(new int[] {1, 2}, BCE, new LayerSpec.Lstm(2, 2, 1, false)), 3));
    c.add(new Case("graph-lstm-residual-tanh-ce", ModelSpec.graph(new int[] {3, 2}, List.of(
        Node.of("rnn", new LayerSpec.Lstm(2, 2, 2, true), "input"),
        Node.of("sum", new LayerSpec.Add(), "rnn", "input"),
        Node.of("t", act(ActivationKind.TANH)),
        Node.of("flat", flatten()),
        Node.of("fc", dense(6, 3))), CE), 3));
    return c;
  }

  /**
   * Default-initialised parameters with batch-norm entries moved away from their special
   * values (weight 1, bias 0, mean 0, var 1) so that no term vanishes by accident.
   */
  static List<NamedArray> parameters(ModelSpec spec, long seed) {
    RandomGenerator r = new SplittableRandom(seed);
    List<NamedArray> p = DefaultInitializer.initialize(spec, r);
    List<NamedArray> out = new ArrayList<>();
    for (int i = 0; i < p.size(); i++) {
      NamedArray a = p.get(i);
      ModelSpec.Entry e = spec.entries().get(i);
      double[] v = a.values();
      if (spec.layers().get(e.layerIndex()) instanceof LayerSpec.BatchNorm) {
        for (int j = 0; j < v.length; j++) {
          v[j] +=
              a.name().endsWith("running_var")
                  ? 0.5 * r.nextDouble()
                  : 0.3 * r.nextGaussian();
        }
      } else {
        // larger than PyTorch's default so that nonlinearities are exercised
        for (int j = 0; j < v.length; j++) {
          v[j] *= 2.0;
        }
      }
      out.add(new NamedArray(a.name(), a.shape(), v, a.trainable()));
    }
    return out;
  }

  static ReferenceModel model(Case c, long seed) {
    return BACKEND.build(c.spec(), parameters(c.spec(), seed), DType.FLOAT64);
  }

  static ArrayBatch batch(Case c, long seed) {
    return RandomBatches.forSpec(c.spec(), c.batch(), new SplittableRandom(seed));
  }

  static ParameterVector random(ParameterLayout layout, long seed) {
    return ParameterVector.randomNormal(ReferenceAlgebra.INSTANCE, layout, new SplittableRandom(seed));
  }

  static ParameterVector unit(ParameterLayout layout, int index) {
    double[] v = new double[(int) layout.dimension()];
    v[index] = 1.0;
    return ParameterVector.fromArray(ReferenceAlgebra.INSTANCE, layout, v);
  }

  static ParameterVector vector(ParameterLayout layout, double[] v) {
    return ParameterVector.fromArray(ReferenceAlgebra.INSTANCE, layout, v);
  }

  /** {@code ‖a − b‖ / max(‖b‖, tiny)}. */
  static double relErr(double[] a, double[] b) {
    double d = 0;
    double nb = 0;
    for (int i = 0; i < a.length; i++) {
      d += (a[i] - b[i]) * (a[i] - b[i]);
      nb += b[i] * b[i];
    }
    return Math.sqrt(d) / Math.max(Math.sqrt(nb), 1e-300);
  }

  static double[] axpy(double[] x, double alpha, double[] d) {
    double[] r = x.clone();
    for (int i = 0; i < r.length; i++) {
      r[i] += alpha * d[i];
    }
    return r;
  }

  /** The gradient at {@code theta} (the model's parameters are restored afterwards). */
  static double[] gradientAt(ReferenceModel m, ArrayBatch b, double[] theta) {
    ParameterVector saved = m.parameters();
    m.setParameters(vector(m.layout(), theta));
    try (Curvature c = m.objective(b).curvature()) {
      return c.gradient().toDoubleArray();
    } finally {
      m.setParameters(saved);
    }
  }

  /** The outputs at {@code theta} (the model's parameters are restored afterwards). */
  static double[] outputsAt(ReferenceModel m, ArrayBatch b, double[] theta) {
    ParameterVector saved = m.parameters();
    m.setParameters(vector(m.layout(), theta));
    try {
      return m.outputs(b);
    } finally {
      m.setParameters(saved);
    }
  }

  /** The dense matrix of a product, column by column with unit vectors. */
  static double[][] dense(Curvature c, boolean hessian) {
    int p = (int) c.layout().dimension();
    double[][] a = new double[p][p];
    for (int j = 0; j < p; j++) {
      ParameterVector e = unit(c.layout(), j);
      double[] col = (hessian ? c.hvp(e) : c.ggnvp(e)).toDoubleArray();
      for (int i = 0; i < p; i++) {
        a[i][j] = col[i];
      }
    }
    return a;
  }

  static double maxAbs(double[][] a) {
    double m = 0;
    for (double[] r : a) {
      for (double v : r) {
        m = Math.max(m, Math.abs(v));
      }
    }
    return m;
  }

  /** The eigenvalues of a symmetric matrix by cyclic Jacobi rotations (Golub and Van Loan 8.5). */
  static double[] symmetricEigenvalues(double[][] input) {
    return io.github.sgdph.dense.DenseSymmetricEigen.of(input).values();
  }
}
