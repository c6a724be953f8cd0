package io.github.sgdph.cli;

import io.github.sgdph.cases.CaseFile;
import io.github.sgdph.cases.CaseReplay;
import io.github.sgdph.cases.Trajectory;
import io.github.sgdph.cases.TrajectoryComparison;
import io.github.sgdph.data.ArrayBatch;
import io.github.sgdph.model.DefaultInitializer;
import io.github.sgdph.model.LayerSpec;
import io.github.sgdph.model.LayerSpec.ActivationKind;
import io.github.sgdph.model.LossKind;
import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.model.NamedArray;
import io.github.sgdph.model.RandomBatches;
import io.github.sgdph.model.ResNets;
import io.github.sgdph.model.SpecBackend;
import io.github.sgdph.optim.OptimizerSpec;
import io.github.sgdph.tensor.DType;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The bundled example cases, made by this code from fixed seeds: together they use every layer
 * type, both batch-norm modes and every loss of CASES.md, and every optimizer; two of them are
 * at realistic size, on real Fashion-MNIST images ({@link FashionMnist}), and three run a
 * two-layer LSTM over those images read row by row. Their expected
 * trajectories come from the reference backend, and each is written only if a second,
 * independent implementation — the DJL backend in float64, whose products are PyTorch's
 * autograd — reproduces it to {@link #CROSS_CHECK_TOLERANCE} ({@link #crossCheck}); a case whose
 * model DJL does not build, only if the reference's probe gradient and Hessian-vector
 * product match central differences ({@link #finiteDifferenceCheck}). {@code
 * sgdph generate-cases} rewrites {@code cases/}; a test checks that the committed files are
 * exactly what this code makes.
 */
final class ExampleCases {

  /**
   * The largest deviation of the DJL float64 replay from the reference's expectation, in {@link
   * TrajectoryComparison}'s normwise relative measure, over every field (losses, final
   * parameters, probe loss, gradient and products). The reference and PyTorch sum in different
   * orders, so they agree to rounding, amplified by the number of steps; 1e-10 leaves that room
   * (the bundled cases are checked not to amplify a 1e-15 perturbation beyond 1e-10) and is far
   * below any modelling difference (a wrong batch-norm variance or ε is ~1e-6).
   */
  static final double CROSS_CHECK_TOLERANCE = 1e-10;

  /**
   * A case, its file name, and how far the DJL float64 replay deviates from its expectation.
   *
   * @param fileName the file name in {@code cases/}
   * @param caseFile the case with its expected trajectory (the reference backend's)
   * @param djlDeviation the largest field deviation of the DJL float64 replay
   */
  record Example(String fileName, CaseFile caseFile, TrajectoryComparison.Deviation djlDeviation) {}

  private ExampleCases() {}

  static List<Example> all() {
    List<Example> out = new ArrayList<>();
    ModelSpec mlpTanh =
        new ModelSpec(new int[] {10},
            List.of(dense(10, 16), act(ActivationKind.TANH), dense(16, 3)),
            LossKind.SOFTMAX_CROSS_ENTROPY);
    ModelSpec mlpBn =
        new ModelSpec(new int[] {10},
            List.of(new LayerSpec.Dense(10, 16, false),
                new LayerSpec.BatchNorm(16, 1e-5, 0.1, LayerSpec.Mode.TRAIN),
                act(ActivationKind.TANH), dense(16, 3)),
            LossKind.SOFTMAX_CROSS_ENTROPY);
    ModelSpec mlpSigmoidMse =
        new ModelSpec(new int[] {6},
            List.of(dense(6, 8), act(ActivationKind.SIGMOID), dense(8, 2)), LossKind.MSE);
    ModelSpec mlpSoftplusBce =
        new ModelSpec(new int[] {5},
            List.of(dense(5, 7), act(ActivationKind.SOFTPLUS), dense(7, 3)),
            LossKind.SIGMOID_BINARY_CROSS_ENTROPY);
    ModelSpec cnnMaxpool =
        new ModelSpec(new int[] {1, 6, 6},
            List.of(new LayerSpec.Conv2d(1, 3, 3, 3, 1, 1, 1, 1, true), act(ActivationKind.RELU),
                new LayerSpec.Pool2d(LayerSpec.PoolKind.MAX, 2, 2, 2, 2), new LayerSpec.Flatten(),
                dense(27, 4)),
            LossKind.SOFTMAX_CROSS_ENTROPY);
    ModelSpec cnnBnAvg =
        new ModelSpec(new int[] {2, 7, 7},
            List.of(new LayerSpec.Conv2d(2, 4, 3, 3, 2, 2, 1, 1, false),
                new LayerSpec.BatchNorm(4, 1e-5, 0.1, LayerSpec.Mode.TRAIN),
                act(ActivationKind.TANH),
                new LayerSpec.Pool2d(LayerSpec.PoolKind.AVG, 2, 2, 2, 2), new LayerSpec.Flatten(),
                dense(16, 3)),
            LossKind.SOFTMAX_CROSS_ENTROPY);
    ModelSpec cnnBnEval =
        new ModelSpec(new int[] {2, 5, 5},
            List.of(new LayerSpec.Conv2d(2, 3, 2, 2, 1, 1, 0, 0, false),
                new LayerSpec.BatchNorm(3, 1e-5, 0.1, LayerSpec.Mode.EVAL),
                act(ActivationKind.SIGMOID),
                new LayerSpec.Pool2d(LayerSpec.PoolKind.MAX, 2, 2, 1, 1), new LayerSpec.Flatten(),
                dense(27, 2)),
            LossKind.MSE);
    ModelSpec linearMse =
        new ModelSpec(new int[] {4}, List.of(dense(4, 3)), LossKind.MSE);
    // realistic size: 28x28 Fashion-MNIST images
    ModelSpec fashionMlp =
        new ModelSpec(new int[] {784},
            List.of(dense(784, 64), act(ActivationKind.RELU), dense(64, 10)),
            LossKind.SOFTMAX_CROSS_ENTROPY);
    ModelSpec fashionCnn =
        new ModelSpec(new int[] {1, 28, 28},
            List.of(new LayerSpec.Conv2d(1, 8, 3, 3, 1, 1, 1, 1, false),
                new LayerSpec.BatchNorm(8, 1e-5, 0.1, LayerSpec.Mode.TRAIN),
                act(ActivationKind.RELU),
                new LayerSpec.Pool2d(LayerSpec.PoolKind.MAX, 2, 2, 2, 2),
                new LayerSpec.Conv2d(8, 16, 3, 3, 1, 1, 1, 1, false),
                new LayerSpec.BatchNorm(16, 1e-5, 0.1, LayerSpec.Mode.TRAIN),
                act(ActivationKind.RELU),
                new LayerSpec.Pool2d(LayerSpec.PoolKind.AVG, 2, 2, 2, 2), new LayerSpec.Flatten(),
                dense(784, 10)),
            LossKind.SOFTMAX_CROSS_ENTROPY);

    out.add(make("mlp-tanh-sgd.json", mlpTanh, 101, 2, 8, 10,
        opt("sgd", "lr", 0.1, "momentum", 0.9)));
    out.add(make("mlp-batchnorm-adam.json", mlpBn, 102, 2, 8, 10,
        opt("adam", "lr", 0.01)));
    out.add(make("mlp-sigmoid-mse-nesterov.json", mlpSigmoidMse, 103, 1, 12, 8,
        opt("sgd", "lr", 0.05, "momentum", 0.9, "nesterov", true, "weight_decay", 1e-3)));
    out.add(make("mlp-softplus-bce-adam.json", mlpSoftplusBce, 104, 2, 6, 8,
        opt("adam", "lr", 0.02, "weight_decay", 1e-4)));
    out.add(make("cnn-relu-maxpool-sgd.json", cnnMaxpool, 105, 1, 4, 6,
        opt("sgd", "lr", 0.05, "momentum", 0.9, "dampening", 0.1, "weight_decay", 1e-4)));
    out.add(make("cnn-batchnorm-avgpool-adam.json", cnnBnAvg, 106, 1, 5, 6,
        opt("adam", "lr", 0.01)));
    out.add(make("cnn-batchnorm-eval-mse-sgd.json", cnnBnEval, 107, 1, 4, 6,
        opt("sgd", "lr", 0.1)));
    out.add(make("linear-mse-probe.json", linearMse, 108, 1, 6, 0, opt("sgd")));
    // second-order methods (ALGORITHMS.md §1-3)
    out.add(make("mlp-batchnorm-sgdph.json", mlpBn, 109, 2, 8, 10,
        opt("sgdph", "lr", 0.1, "momentum", 0.9, "tau", 1e-3, "eps", 1e-4)));
    out.add(make("cnn-batchnorm-avgpool-sgdph-wd.json", cnnBnAvg, 110, 1, 6, 8,
        opt("sgdph", "lr", 0.05, "momentum", 0.9, "tau", 5e-3, "eps", 1e-4,
            "weight_decay", 3e-3)));
    out.add(make("mlp-tanh-sgn.json", mlpTanh, 111, 1, 32, 6, opt("sgn", "rho", 1e-2)));
    out.add(make("mlp-sigmoid-mse-sgn-trust-region.json", mlpSigmoidMse, 112, 1, 16, 6,
        opt("sgn", "rho", 1e-2, "rho_min", 1e-6, "trust_region", true, "line_search", false,
            "k_cg", 2.0, "min_cg_iters", 3.0, "max_cg_iters", 6.0)));
    out.add(make("mlp-softplus-bce-bdhf.json", mlpSoftplusBce, 113, 2, 12, 5,
        opt("bdhf", "partition", "layer", "lambda", 1.0, "cg_max_iter", 10.0,
            "curvature_batch_size", 6.0)));
    out.add(make("cnn-relu-maxpool-hf.json", cnnMaxpool, 114, 1, 8, 4,
        // the whole batch as the curvature batch, set explicitly (the default is 1/10 of it)
        opt("hf", "lambda", 1.0, "cg_max_iter", 8.0, "curvature_batch_fraction", 1.0)));
    // realistic size (issue 12): real 28x28 images, tens of thousands of parameters, small
    // batches (the parameter count is what the products' sums run over)
    // (5 CG iterations at damping 0.1: with 10, or damping 0.01, CG on this rank-deficient
    // Gauss-Newton matrix amplifies rounding so that DJL and the reference part by 1e-12 to
    // 1e-5 within 3 steps; a yardstick must not do that)
    out.add(makeFashion("fashion-mlp-relu-sgn.json", fashionMlp, 115, 0, 8, 3,
        opt("sgn", "rho", 0.1, "max_cg_iters", 5.0)));
    out.add(makeFashion("fashion-cnn-batchnorm-sgdph.json", fashionCnn, 116, 8, 4, 3,
        opt("sgdph", "lr", 0.05, "momentum", 0.9, "tau", 1e-3, "eps", 1e-4)));
    // residual networks (issue 16, sgdph-case/2): a stem, an identity-shortcut block, a
    // downsampling block with a 1x1 projection shortcut, global average pooling, a dense head
    ModelSpec resnet = ResNets.twoBlocks(new int[] {1, 8, 8}, 4, 3, LayerSpec.Mode.TRAIN);
    out.add(make("resnet-batchnorm-sgdph.json", resnet, 117, 1, 6, 6,
        opt("sgdph", "lr", 0.1, "momentum", 0.9, "tau", 1e-3, "eps", 1e-4)));
    out.add(make("resnet-batchnorm-sgn.json", resnet, 118, 1, 8, 3,
        opt("sgn", "rho", 0.1, "max_cg_iters", 5.0)));
    out.add(make("resnet-eval-identity-probe.json",
        withIdentityShortcut(ResNets.twoBlocks(new int[] {2, 12, 12}, 3, 4, LayerSpec.Mode.EVAL)),
        119, 1, 4, 0, opt("sgdph")));
    // recurrent networks (issue 20, sgdph-case/2): a two-layer LSTM over Fashion-MNIST images
    // read row by row (T = 6 steps of 7 pooled pixels), its last hidden state into a dense head
    ModelSpec lstm =
        new ModelSpec(new int[] {SEQUENCE_STEPS, SEQUENCE_FEATURES},
            List.of(new LayerSpec.Lstm(SEQUENCE_FEATURES, 8, 2, false), dense(8, 10)),
            LossKind.SOFTMAX_CROSS_ENTROPY);
    out.add(makeSequences("lstm-fashion-rows-sgn.json", lstm, 120, 16, 8, 3,
        opt("sgn", "rho", 0.1, "max_cg_iters", 5.0)));
    out.add(makeSequences("lstm-fashion-rows-bdhf.json", lstm, 121, 24, 8, 3,
        // one block per stacked LSTM layer and one for the head (partition "layer")
        opt("bdhf", "partition", "layer", "lambda", 1.0, "cg_max_iter", 10.0,
            "curvature_batch_fraction", 1.0)));
    out.add(makeSequences("lstm-fashion-rows-sgdph.json", lstm, 122, 32, 8, 3,
        opt("sgdph", "lr", 0.1, "momentum", 0.9, "tau", 1e-3, "eps", 1e-4)));
    return out;
  }

  /** Time steps of the LSTM cases: image rows 2..25 pooled by four. */
  static final int SEQUENCE_STEPS = 6;

  /** Features per time step of the LSTM cases: the 28 columns pooled by four. */
  static final int SEQUENCE_FEATURES = 7;

  /**
   * A case on Fashion-MNIST training images {@code first .. first + n − 1} read as sequences:
   * the 24 rows 2..25 and the 28 columns of each image averaged over 4×4 squares, row by row,
   * give {@link #SEQUENCE_STEPS} steps of {@link #SEQUENCE_FEATURES} features (the
   * sequential-image reading of recurrent-network benchmarks, at a size where dense products
   * stay cheap). Each value is a multiple of 1/4096 below 1, exact in float32, and the initial
   * parameters and probe are rounded to float32 as in {@link #makeFashion}.
   */
  private static Example makeSequences(
      String file, ModelSpec spec, long seed, int first, int n, int steps,
      OptimizerSpec optimizer) {
    SplittableRandom rnd = new SplittableRandom(seed);
    List<NamedArray> params = new ArrayList<>();
    for (NamedArray a : DefaultInitializer.initialize(spec, rnd)) {
      params.add(new NamedArray(a.name(), a.shape(), toFloat32(a.values()), a.trainable()));
    }
    ArrayBatch images = FashionMnist.trainingSet().batch(first, n, true);
    double[] px = images.xView();
    double[] x = new double[n * SEQUENCE_STEPS * SEQUENCE_FEATURES];
    for (int s = 0; s < n; s++) {
      for (int t = 0; t < SEQUENCE_STEPS; t++) {
        for (int f = 0; f < SEQUENCE_FEATURES; f++) {
          double sum = 0;
          for (int r = 0; r < 4; r++) {
            for (int c = 0; c < 4; c++) {
              sum += px[s * 784 + (2 + 4 * t + r) * 28 + 4 * f + c];
            }
          }
          x[(s * SEQUENCE_STEPS + t) * SEQUENCE_FEATURES + f] = sum / 16;
        }
      }
    }
    ArrayBatch batch = new ArrayBatch(x, new int[] {n, SEQUENCE_STEPS, SEQUENCE_FEATURES},
        images.y(), images.yShape());
    double[] probe = new double[Math.toIntExact(spec.layout().dimension())];
    for (int i = 0; i < probe.length; i++) {
      probe[i] = (float) rnd.nextGaussian();
    }
    return expect(file,
        new CaseFile(DType.FLOAT64, spec, params, List.of(batch), optimizer, steps, probe, null));
  }

  /** The ResNet with its first block's identity shortcut as a node of its own. */
  private static ModelSpec withIdentityShortcut(ModelSpec resnet) {
    List<ModelSpec.Node> nodes = new ArrayList<>();
    for (ModelSpec.Node n : resnet.nodes()) {
      if (n.name().equals("layer1.0.add")) {
        nodes.add(ModelSpec.Node.of("layer1.0.shortcut", new LayerSpec.Identity(),
            n.inputs().get(1)));
        nodes.add(ModelSpec.Node.of(n.name(), n.op(), n.inputs().get(0), "layer1.0.shortcut"));
      } else {
        nodes.add(n);
      }
    }
    return ModelSpec.graph(resnet.inputShape(), nodes, resnet.loss());
  }

  private static LayerSpec dense(int in, int out) {
    return new LayerSpec.Dense(in, out, true);
  }

  private static LayerSpec act(ActivationKind k) {
    return new LayerSpec.Activation(k);
  }

  private static OptimizerSpec opt(String name, Object... kv) {
    Map<String, Object> m = new LinkedHashMap<>();
    for (int i = 0; i < kv.length; i += 2) {
      m.put((String) kv[i], kv[i + 1]);
    }
    return new OptimizerSpec(name, m);
  }

  private static Example make(
      String file, ModelSpec spec, long seed, int nBatches, int batchSize, int steps,
      OptimizerSpec optimizer) {
    SplittableRandom rnd = new SplittableRandom(seed);
    List<NamedArray> params = new ArrayList<>();
    for (NamedArray a : DefaultInitializer.initialize(spec, rnd)) {
      if (a.trainable()) {
        params.add(a);
      } else {
        // non-trivial running statistics, so that eval mode is really exercised
        double[] v = new double[a.valuesView().length];
        for (int i = 0; i < v.length; i++) {
          v[i] = a.name().endsWith("running_var") ? 0.5 + rnd.nextDouble() : rnd.nextGaussian() * 0.3;
        }
        params.add(new NamedArray(a.name(), a.shape(), v, false));
      }
    }
    List<ArrayBatch> batches = new ArrayList<>();
    for (int b = 0; b < nBatches; b++) {
      batches.add(RandomBatches.forSpec(spec, batchSize, rnd));
    }
    double[] probe = new double[Math.toIntExact(spec.layout().dimension())];
    for (int i = 0; i < probe.length; i++) {
      probe[i] = rnd.nextGaussian();
    }
    return expect(file,
        new CaseFile(DType.FLOAT64, spec, params, batches, optimizer, steps, probe, null));
  }

  /**
   * A case on Fashion-MNIST training images {@code first .. first + n − 1} (one batch), with
   * initial parameters and probe vector rounded to float32: a float32 backend then starts from
   * exactly the case's parameters and inputs ({@link FashionMnist} scales pixels by 1/256), so
   * its deviations measure its arithmetic only.
   */
  private static Example makeFashion(
      String file, ModelSpec spec, long seed, int first, int n, int steps,
      OptimizerSpec optimizer) {
    SplittableRandom rnd = new SplittableRandom(seed);
    List<NamedArray> params = new ArrayList<>();
    for (NamedArray a : DefaultInitializer.initialize(spec, rnd)) {
      params.add(new NamedArray(a.name(), a.shape(), toFloat32(a.values()), a.trainable()));
    }
    ArrayBatch batch = FashionMnist.trainingSet().batch(first, n, spec.inputShape().length == 1);
    double[] probe = new double[Math.toIntExact(spec.layout().dimension())];
    for (int i = 0; i < probe.length; i++) {
      probe[i] = (float) rnd.nextGaussian();
    }
    return expect(file,
        new CaseFile(DType.FLOAT64, spec, params, List.of(batch), optimizer, steps, probe, null));
  }

  /** The prefix of a deviation's field when the check was by finite differences. */
  static final String FINITE_DIFFERENCES = "finite differences: ";

  /**
   * The relative error allowed between the reference's probe products and central differences
   * with {@code ε = 1e-5} along the unit probe direction: truncation {@code O(ε²)} and rounding
   * {@code O(u/ε)} are about 1e-10 relative; a missing second-order term is of order 1e-2
   * (measured on the LSTM test models).
   */
  static final double FINITE_DIFFERENCE_TOLERANCE = 1e-6;

  /**
   * Until a second backend builds a case's model, the reference's derivatives are checked
   * against its own loss: along the unit probe direction {@code v}, {@code gᵀv} against the
   * central difference of the loss, and {@code H v} against the central difference of the
   * gradient (step 1e-5), to {@link #FINITE_DIFFERENCE_TOLERANCE}. The Gauss-Newton product and
   * the forward pass itself have tests of their own (the reference backend's).
   *
   * @return the larger relative error, in a field named {@code "finite differences: probe.…"}
   * @throws IllegalStateException naming the case if an error exceeds the tolerance
   */
  static TrajectoryComparison.Deviation finiteDifferenceCheck(String file, CaseFile c) {
    double eps = 1e-5;
    SpecBackend ref = SpecBackend.find("reference");
    try (io.github.sgdph.model.SpecModel m = ref.build(c.model(), c.parameters(), DType.FLOAT64);
        io.github.sgdph.param.ParameterVector v = io.github.sgdph.param.ParameterVector.fromArray(
            m.algebra(), m.layout(), c.probeVector())) {
      v.scale(1 / v.norm());
      ArrayBatch b = c.batches().get(0);
      io.github.sgdph.curvature.Objective o = m.objective(b);
      double[] g;
      double[] hv;
      try (io.github.sgdph.curvature.Curvature cur = o.curvature();
          io.github.sgdph.param.ParameterVector gv = cur.gradient();
          io.github.sgdph.param.ParameterVector h = cur.hvp(v)) {
        g = gv.toDoubleArray();
        hv = h.toDoubleArray();
      }
      double slope = (o.lossAt(v, eps) - o.lossAt(v, -eps)) / (2 * eps);
      double[] vv = v.toDoubleArray();
      double gTv = 0;
      for (int i = 0; i < g.length; i++) {
        gTv += g[i] * vv[i];
      }
      o.applyUpdate(v, eps);
      double[] plus = gradientOf(m, b);
      o.applyUpdate(v, -2 * eps);
      double[] minus = gradientOf(m, b);
      double[] fd = new double[plus.length];
      for (int i = 0; i < fd.length; i++) {
        fd[i] = (plus[i] - minus[i]) / (2 * eps);
      }
      TrajectoryComparison.Deviation gradient = new TrajectoryComparison.Deviation(
          FINITE_DIFFERENCES + "probe.gradient",
          Math.abs(gTv - slope) / Math.max(Math.abs(slope), Double.MIN_NORMAL));
      TrajectoryComparison.Deviation hessian = new TrajectoryComparison.Deviation(
          FINITE_DIFFERENCES + "probe.hvp", TrajectoryComparison.relative(hv, fd));
      TrajectoryComparison.Deviation worst =
          gradient.relative() >= hessian.relative() ? gradient : hessian;
      if (!(worst.relative() <= FINITE_DIFFERENCE_TOLERANCE)) {
        throw new IllegalStateException(
            file + ": the reference's " + worst.field() + " deviates from central differences"
                + " by " + worst.relative() + " (> " + FINITE_DIFFERENCE_TOLERANCE
                + "): no expectation written");
      }
      return worst;
    }
  }

  private static double[] gradientOf(io.github.sgdph.model.SpecModel m, ArrayBatch b) {
    try (io.github.sgdph.curvature.Curvature cur = m.objective(b).curvature();
        io.github.sgdph.param.ParameterVector g = cur.gradient()) {
      return g.toDoubleArray();
    }
  }

  private static double[] toFloat32(double[] v) {
    double[] out = new double[v.length];
    for (int i = 0; i < v.length; i++) {
      out[i] = (float) v[i];
    }
    return out;
  }

  /** The case with the reference's trajectory as its expectation, once DJL reproduces it. */
  private static Example expect(String file, CaseFile c) {
    Trajectory expected = CaseReplay.replay(c, SpecBackend.find("reference"), null);
    return new Example(file, c.withExpected(expected), crossCheck(file, c, expected));
  }

  /**
   * Replays {@code c} on the DJL backend in float64 (PyTorch's autograd: an implementation that
   * shares no numerical code with the reference backend) and refuses the expectation unless
   * every field agrees with it to {@link #CROSS_CHECK_TOLERANCE}. A case whose model the DJL
   * backend does not build (one with LSTMs before issue 20) is checked by {@link
   * #finiteDifferenceCheck} instead, and its deviation's field says so.
   *
   * @return the largest field deviation
   * @throws IllegalStateException naming the case, the field and the deviation if it exceeds the
   *     tolerance, or if the DJL backend is not on the classpath
   */
  static TrajectoryComparison.Deviation crossCheck(String file, CaseFile c, Trajectory expected) {
    SpecBackend djl;
    try {
      djl = SpecBackend.find("djl");
    } catch (IllegalArgumentException e) {
      throw new IllegalStateException(
          "generate-cases writes an expectation only when the DJL backend (float64) reproduces"
              + " it, and DJL is not on the classpath: run `./sgdph generate-cases` (every"
              + " backend) instead of the self-contained sgdph.jar", e);
    }
    if (djl.unsupportedReason(c.model()) != null) {
      return finiteDifferenceCheck(file, c);
    }
    Trajectory t = CaseReplay.replay(c, djl, DType.FLOAT64, null);
    TrajectoryComparison.Deviation worst = TrajectoryComparison.compare(t, expected).worst();
    if (!(worst.relative() <= CROSS_CHECK_TOLERANCE)) {
      throw new IllegalStateException(
          file + ": DJL float64 deviates from the reference's expectation by "
              + worst.relative() + " in " + worst.field() + " (> " + CROSS_CHECK_TOLERANCE
              + "): no expectation written");
    }
    return worst;
  }
}
