package io.github.sgdph.cases.json;

import io.github.sgdph.cases.CaseFile;
import io.github.sgdph.cases.ProbeResult;
import io.github.sgdph.cases.Trajectory;
import io.github.sgdph.data.ArrayBatch;
import io.github.sgdph.model.LayerSpec;
import io.github.sgdph.model.LossKind;
import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.model.NamedArray;
import io.github.sgdph.optim.OptimizerSpec;
import io.github.sgdph.tensor.DType;
import io.github.sgdph.tensor.Shapes;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/** Test cases built directly from the model records. */
final class CaseFixtures {
  private CaseFixtures() {}

  /**
   * A model with every layer type: conv2d (square and rectangular kernel, padding, no bias),
   * eval- and train-mode batch norm, relu, maxpool2d, avgpool2d (rectangular stride), tanh,
   * flatten, dense (with and without bias), sigmoid, softplus.
   */
  static ModelSpec everyLayerModel() {
    List<LayerSpec> layers =
        List.of(
            new LayerSpec.Conv2d(1, 2, 3, 3, 1, 1, 1, 1, true), // [2, 6, 6]
            new LayerSpec.BatchNorm(2, 1e-5, 0.1, LayerSpec.Mode.EVAL),
            new LayerSpec.Activation(LayerSpec.ActivationKind.RELU),
            new LayerSpec.Pool2d(LayerSpec.PoolKind.MAX, 2, 2, 2, 2), // [2, 3, 3]
            new LayerSpec.Conv2d(2, 3, 2, 1, 1, 1, 0, 1, false), // [3, 2, 5]
            new LayerSpec.Pool2d(LayerSpec.PoolKind.AVG, 2, 2, 1, 2), // [3, 1, 2]
            new LayerSpec.Activation(LayerSpec.ActivationKind.TANH),
            new LayerSpec.Flatten(), // [6]
            new LayerSpec.Dense(6, 4, true),
            new LayerSpec.BatchNorm(4, 1e-3, 0.2, LayerSpec.Mode.TRAIN),
            new LayerSpec.Activation(LayerSpec.ActivationKind.SIGMOID),
            new LayerSpec.Activation(LayerSpec.ActivationKind.SOFTPLUS),
            new LayerSpec.Dense(4, 3, false));
    return new ModelSpec(new int[] {1, 6, 6}, layers, LossKind.SOFTMAX_CROSS_ENTROPY);
  }

  /** Random parameters for every entry of {@code m}; running variances are positive. */
  static List<NamedArray> parameters(ModelSpec m, Random rng) {
    List<NamedArray> out = new ArrayList<>();
    for (ModelSpec.Entry e : m.entries()) {
      double[] v = new double[Shapes.size(e.shape())];
      for (int i = 0; i < v.length; i++) {
        v[i] = e.name().endsWith("running_var") ? 0.5 + rng.nextDouble() : rng.nextGaussian();
      }
      out.add(new NamedArray(e.name(), e.shape(), v, e.trainable()));
    }
    return out;
  }

  static double[] gaussian(int n, Random rng) {
    double[] v = new double[n];
    for (int i = 0; i < n; i++) {
      v[i] = rng.nextGaussian();
    }
    return v;
  }

  /** Every layer type, eval batch norm statistics, two batches, a probe and an expectation. */
  static CaseFile everyLayerCase() {
    Random rng = new Random(7);
    ModelSpec m = everyLayerModel();
    List<NamedArray> params = parameters(m, rng);
    List<ArrayBatch> batches = new ArrayList<>();
    for (int b = 0; b < 2; b++) {
      double[] y = {0, 2, 1};
      batches.add(new ArrayBatch(gaussian(3 * 36, rng), new int[] {3, 1, 6, 6}, y, new int[] {3}));
    }
    Map<String, Object> hp = new LinkedHashMap<>();
    hp.put("lr", 0.05);
    hp.put("momentum", 0.9);
    hp.put("nesterov", true);
    hp.put("weight_decay", 1e-4);
    OptimizerSpec opt = new OptimizerSpec("sgd", hp);
    int dim = (int) m.layout().dimension();
    int steps = 3;
    List<NamedArray> after = parameters(m, rng);
    ProbeResult probe =
        new ProbeResult(1.0986, gaussian(dim, rng), gaussian(dim, rng), gaussian(dim, rng));
    Trajectory expected =
        new Trajectory("reference", DType.FLOAT64, new double[] {1.1, 1.05, 0.98}, after, probe);
    return new CaseFile(
        DType.FLOAT64, m, params, batches, opt, steps, gaussian(dim, rng), expected);
  }

  /** A small regression case (mse, non-integer targets), float32, Adam with betas, no probe. */
  static CaseFile mseCase() {
    Random rng = new Random(11);
    ModelSpec m =
        new ModelSpec(
            new int[] {3},
            List.of(
                new LayerSpec.Dense(3, 5, true),
                new LayerSpec.BatchNorm(5, 1e-5, 0.1, LayerSpec.Mode.TRAIN),
                new LayerSpec.Activation(LayerSpec.ActivationKind.TANH),
                new LayerSpec.Dense(5, 2, true)),
            LossKind.MSE);
    Map<String, Object> hp = new LinkedHashMap<>();
    hp.put("lr", 1e-3);
    hp.put("betas", List.of(0.9, 0.999));
    hp.put("eps", 1e-8);
    ArrayBatch b = new ArrayBatch(gaussian(12, rng), new int[] {4, 3}, gaussian(8, rng), new int[] {4, 2});
    return new CaseFile(
        DType.FLOAT32, m, parameters(m, rng), List.of(b), new OptimizerSpec("adam", hp), 0, null,
        null);
  }
}
