package io.github.sgdph.djl;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.BatchNorm;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import ai.djl.util.Pair;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * A manual timing harness (not a test): what sgdph's exact DJL operations cost against the
 * fused PyTorch kernels they replace, in one JVM, variants interleaved round by round, medians
 * over rounds. Each variant is one forward and backward pass (a {@link GradientCollector}) of
 * {@code 784 → 256 → X → 10} on a batch of 128, float32, where {@code X} is batch norm (DJL's
 * fused {@code BatchNorm} in train mode vs {@link SpecBlocks.ExactBatchNorm}) or softplus
 * (PyTorch's thresholded one vs {@link ExactActivations#softplus}). Run with the test classpath:
 * {@code java -cp ... io.github.sgdph.djl.ExactOpsTiming [rounds]}.
 */
public final class ExactOpsTiming {
  private ExactOpsTiming() {}

  public static void main(String[] args) {
    int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 200;
    try (NDManager manager = PyTorchRuntime.newManager(Device.cpu())) {
      NDArray x = manager.randomNormal(new Shape(128, 784));
      Map<String, Supplier<Block>> variants = new LinkedHashMap<>();
      variants.put("batch norm, DJL fused", () -> bn(new SpecBlocks.ExactBatchNorm(
          BatchNorm.builder().optAxis(1).build(), true, 1e-5), true));
      variants.put("batch norm, sgdph exact", () -> bn(new SpecBlocks.ExactBatchNorm(
          BatchNorm.builder().optAxis(1).build(), true, 1e-5), false));
      variants.put("softplus, PyTorch's", () -> act(Activation.softPlusBlock()));
      variants.put("softplus, sgdph exact", () -> act(ExactActivations.softplusBlock()));
      Map<String, Block> blocks = new LinkedHashMap<>();
      for (Map.Entry<String, Supplier<Block>> v : variants.entrySet()) {
        Block b = v.getValue().get();
        b.initialize(manager, DataType.FLOAT32, x.getShape());
        for (Pair<String, Parameter> p : b.getParameters()) {
          if (p.getValue().requiresGradient()) { // not the running statistics
            p.getValue().getArray().setRequiresGradient(true);
          }
        }
        blocks.put(v.getKey(), b);
      }
      Map<String, List<Double>> times = new LinkedHashMap<>();
      blocks.keySet().forEach(k -> times.put(k, new ArrayList<>()));
      for (int r = -rounds / 5; r < rounds; r++) {
        for (Map.Entry<String, Block> e : blocks.entrySet()) {
          long t0 = System.nanoTime();
          step(manager, e.getValue(), x);
          double ms = (System.nanoTime() - t0) / 1e6;
          if (r >= 0) {
            times.get(e.getKey()).add(ms);
          }
        }
      }
      System.out.printf("%-26s %10s%n", "variant (fwd+bwd, f32)", "median ms");
      for (Map.Entry<String, List<Double>> e : times.entrySet()) {
        System.out.printf("%-26s %10.3f%n", e.getKey(), median(e.getValue()));
      }
      System.out.printf("ratio batch norm exact/fused: %.3f; softplus exact/PyTorch: %.3f%n",
          median(times.get("batch norm, sgdph exact")) / median(times.get("batch norm, DJL fused")),
          median(times.get("softplus, sgdph exact")) / median(times.get("softplus, PyTorch's")));
    }
  }

  /** With {@code fused}, the DJL block that {@code exact} wraps, itself (its fused kernel). */
  private static Block bn(SpecBlocks.ExactBatchNorm exact, boolean fused) {
    Block middle = fused ? exact.getChildren().get(0).getValue() : exact;
    return new SequentialBlock().add(Linear.builder().setUnits(256).build()).add(middle)
        .add(Linear.builder().setUnits(10).build());
  }

  private static Block act(Block activation) {
    return new SequentialBlock().add(Linear.builder().setUnits(256).build()).add(activation)
        .add(Linear.builder().setUnits(10).build());
  }

  private static void step(NDManager parent, Block block, NDArray x) {
    try (NDManager scope = parent.newSubManager();
        GradientCollector gc = PyTorchRuntime.engine().newGradientCollector()) {
      NDArray in = x.duplicate();
      in.attach(scope);
      NDList out = block.forward(new ParameterStore(scope, false), new NDList(in), true);
      NDArray loss = out.singletonOrThrow().square().mean();
      gc.backward(loss);
    }
  }

  private static double median(List<Double> v) {
    double[] s = v.stream().mapToDouble(Double::doubleValue).toArray();
    Arrays.sort(s);
    return s.length % 2 == 1 ? s[s.length / 2] : 0.5 * (s[s.length / 2 - 1] + s[s.length / 2]);
  }
}
