package io.github.sgdph.kfac;

import io.github.sgdph.conformance.KroneckerNets;
import io.github.sgdph.curvature.Curvature;
import io.github.sgdph.curvature.FactoredLayer;
import io.github.sgdph.data.ArrayBatch;
import io.github.sgdph.model.DefaultInitializer;
import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.model.RandomBatches;
import io.github.sgdph.model.SpecModel;
import io.github.sgdph.reference.ReferenceAlgebra;
import io.github.sgdph.reference.ReferenceBackend;
import io.github.sgdph.tensor.DType;
import io.github.sgdph.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;

/**
 * Small reference-backend networks for the Kronecker-factor tests, and the dense definitions of
 * the factors built directly from the SPI's per-sample quantities (test-only).
 */
final class KfacFixtures {
  private KfacFixtures() {}

  /** A named network. */
  record Net(String name, ModelSpec spec) {
    @Override
    public String toString() {
      return name;
    }
  }

  static Net mlp() {
    return new Net("mlp-ce", KroneckerNets.denseMlp());
  }

  static Net cnn() {
    return new Net("cnn-mse", KroneckerNets.stridedPaddedCnn());
  }

  static Net batchNorm() {
    return new Net("batchnorm-bce", KroneckerNets.batchNormBce());
  }

  static Stream<Net> nets() {
    return Stream.of(mlp(), cnn(), batchNorm());
  }

  static SpecModel build(ModelSpec spec, long seed) {
    return new ReferenceBackend()
        .build(spec, DefaultInitializer.initialize(spec, new SplittableRandom(seed)),
            DType.FLOAT64);
  }

  static List<ArrayBatch> twoBatches(ModelSpec spec, long seed) {
    SplittableRandom rnd = new SplittableRandom(seed);
    return List.of(RandomBatches.forSpec(spec, 4, rnd), RandomBatches.forSpec(spec, 6, rnd));
  }

  /** The SPI's per-sample quantities of one batch: inputs per layer, output gradients per seed. */
  record PerSample(List<FactoredLayer> layers, int n, double[][] inputs, List<double[][]> deltas) {}

  /** Reads the SPI of {@code c} for the given seeds ({@code [n, k]} row-major each). */
  static PerSample read(Curvature c, List<double[]> seeds) {
    List<FactoredLayer> layers = c.factoredLayers();
    double[][] inputs = new double[layers.size()][];
    for (int l = 0; l < inputs.length; l++) {
      try (Tensor t = c.layerInputs(l)) {
        inputs[l] = t.toDoubleArray();
      }
    }
    int n = c.batchSize();
    List<double[][]> deltas = new ArrayList<>();
    for (double[] s : seeds) {
      try (Tensor u = ReferenceAlgebra.INSTANCE.fromArray(s, n, s.length / n)) {
        List<Tensor> out = c.layerOutputGradients(u);
        double[][] d = new double[layers.size()][];
        for (int l = 0; l < d.length; l++) {
          d[l] = out.get(l).toDoubleArray();
          out.get(l).close();
        }
        deltas.add(d);
      }
    }
    return new PerSample(layers, n, inputs, deltas);
  }

  /** {@code n ∂L/∂z}: the empirical seed. */
  static double[] empiricalSeed(Curvature c) {
    try (Tensor t = c.outputGradient()) {
      double[] d = t.toDoubleArray();
      for (int j = 0; j < d.length; j++) {
        d[j] *= c.batchSize();
      }
      return d;
    }
  }

  /** Component {@code j} of {@code ã_it} (1 at {@code j = inputDim} with a bias). */
  static double aTilde(FactoredLayer f, double[] in, int i, int j, int t) {
    return j == f.inputDim() ? 1 : in[(i * f.inputDim() + j) * f.positions() + t];
  }

  static double delta(FactoredLayer f, double[] d, int i, int o, int t) {
    return d[(i * f.outputDim() + o) * f.positions() + t];
  }

  /** The flattened index of entry {@code (o, col)} of {@code [W | b]}. */
  static int index(FactoredLayer f, int[] off, int o, int col) {
    return col < f.inputDim() ? off[f.weightBlock()] + o * f.inputDim() + col
        : off[f.biasBlock()] + o;
  }

  static double maxAbs(double[][] m) {
    double s = 0;
    for (double[] r : m) {
      for (double v : r) {
        s = Math.max(s, Math.abs(v));
      }
    }
    return s;
  }
}
