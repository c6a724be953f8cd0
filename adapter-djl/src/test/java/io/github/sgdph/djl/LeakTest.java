package io.github.sgdph.djl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.training.loss.Loss;
import io.github.sgdph.curvature.Curvature;
import io.github.sgdph.curvature.Objective;
import io.github.sgdph.data.ArrayBatch;
import io.github.sgdph.data.RandomBatches;
import io.github.sgdph.model.DefaultInitializer;
import io.github.sgdph.model.LayerSpec;
import io.github.sgdph.model.LossKind;
import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.model.SpecModel;
import io.github.sgdph.param.ParameterVector;
import io.github.sgdph.tensor.DType;
import io.github.sgdph.tensor.Tensor;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Memory stays flat over 1000 curvature products (within 50 MB of process RSS, measured from
 * {@code /proc/self/status} after a warm-up, Java heap growth excluded), on a spec model and on a
 * user's block with a DJL loss (there also the per-term gradients of the batch, one backward pass
 * per sample, every round). DJL's {@code backward(create_graph=true)} route leaks about
 * 3 MB per product on such models (FRAMEWORKS.md); a leaked graph per product here would be
 * hundreds of MB. The loop also forces garbage collections and checks that repeated products
 * stay bit-identical (no graph may read memory Java has freed).
 */
class LeakTest {
  private static final Logger LOG = LoggerFactory.getLogger(LeakTest.class);
  private static final long LIMIT_MB = 50;

  private static long rssKb() {
    try {
      for (String l : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (l.startsWith("VmRSS:")) {
          return Long.parseLong(l.replaceAll("\\D", ""));
        }
      }
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    throw new IllegalStateException("no VmRSS in /proc/self/status");
  }

  /** Resident memory outside the Java heap, in MB. */
  private static double offHeapMb() {
    System.gc();
    long heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getCommitted();
    return (rssKb() * 1024.0 - heap) / (1 << 20);
  }

  /**
   * 1000 products in rounds of 11 per curvature: gradient, 4 HVPs, 3 GGN, 2 JVP, {@code ∂L/∂z}
   * and its {@code Jᵀ}, a lossAt; with {@code perTerm} also the per-term gradients.
   */
  private static void products(
      Objective o, ParameterVector v, int count, double[][] firstHv, boolean perTerm) {
    int done = 0;
    int rounds = 0;
    while (done < count) {
      try (Curvature c = o.curvature(); ParameterVector g = c.gradient()) {
        assertTrue(g.allFinite());
        for (int k = 0; k < 4; k++) {
          try (ParameterVector h = c.hvp(v)) {
            double[] a = h.toDoubleArray();
            if (firstHv[0] == null) {
              firstHv[0] = a;
            } else if (k == 0) {
              assertArrayEquals(firstHv[0], a, 0.0, "Hv changed after " + done + " products");
            }
          }
        }
        for (int k = 0; k < 3; k++) {
          try (ParameterVector gv = c.ggnvp(v)) {
            assertTrue(gv.allFinite());
          }
        }
        for (int k = 0; k < 2; k++) {
          try (Tensor jv = c.jvp(v)) {
            assertTrue(jv.allFinite());
          }
        }
        try (Tensor dz = c.outputGradient(); ParameterVector jtdz = c.vjp(dz)) {
          assertTrue(jtdz.allFinite());
        }
        if (perTerm) {
          List<ParameterVector> terms = c.perTermGradients();
          terms.forEach(ParameterVector::close);
        }
        assertTrue(Double.isFinite(o.lossAt(v, 1e-3)));
      }
      done += 11;
      if (++rounds % 20 == 0) {
        System.gc();
      }
    }
  }

  private static void assertFlat(String what, Objective o, ParameterVector v, boolean perTerm) {
    double[][] first = new double[1][];
    products(o, v, 200, first, perTerm);
    double before = offHeapMb();
    long t0 = System.nanoTime();
    products(o, v, 1000, first, perTerm);
    double ms = (System.nanoTime() - t0) / 1e6;
    double after = offHeapMb();
    LOG.info("{}: off-heap RSS {} MB before and {} MB after 1000 products ({} ms)",
        what, Math.round(before), Math.round(after), Math.round(ms));
    assertTrue(after - before < LIMIT_MB,
        what + ": memory grew by " + (after - before) + " MB over 1000 products");
  }

  @Test
  void aSpecModelsProductsDoNotAccumulateMemory() {
    ModelSpec spec = new ModelSpec(new int[] {784},
        List.of(new LayerSpec.Dense(784, 128, true),
            new LayerSpec.Activation(LayerSpec.ActivationKind.RELU),
            new LayerSpec.Dense(128, 10, true)),
        LossKind.SOFTMAX_CROSS_ENTROPY);
    SplittableRandom r = new SplittableRandom(1);
    try (SpecModel m = new DjlBackend().build(spec, DefaultInitializer.initialize(spec, r),
        DType.FLOAT32)) {
      ArrayBatch batch = RandomBatches.forSpec(spec, 64, r);
      try (ParameterVector v = ParameterVector.randomNormal(m.algebra(), m.layout(), r)) {
        assertFlat("784-128-10 spec MLP", m.objective(batch), v, false);
      }
    }
  }

  @Test
  void aUserBlocksProductsDoNotAccumulateMemory() {
    try (NDManager manager = NDManager.newBaseManager(Device.cpu(), "PyTorch")) {
      var block = UserBlocks.withBatchNorm(manager, DataType.FLOAT32);
      NDList[] d = UserBlocks.data(manager, DataType.FLOAT32, 64, 2);
      try (BlockCurvatureModel m = BlockCurvatureModel.builder(block)
              .loss(Loss.softmaxCrossEntropyLoss()).build();
          ParameterVector v = ParameterVector.randomNormal(m.algebra(), m.layout(),
              new SplittableRandom(3))) {
        assertFlat("user block with batch norm and DJL's loss", m.objective(d[0], d[1]), v,
            true);
      }
    }
  }
}
