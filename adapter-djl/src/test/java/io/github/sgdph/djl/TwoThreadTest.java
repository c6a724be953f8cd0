package io.github.sgdph.djl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.pytorch.jni.JniUtils;
import io.github.sgdph.cases.CaseFile;
import io.github.sgdph.cases.json.BundledCases;
import io.github.sgdph.curvature.Curvature;
import io.github.sgdph.curvature.Objective;
import io.github.sgdph.model.SpecModel;
import io.github.sgdph.param.ParameterVector;
import io.github.sgdph.tensor.DType;
import io.github.sgdph.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Products on two threads at once do not interfere: two threads share one model, each with its
 * own batch, directions and curvatures, and get bit for bit what one thread gets alone. PyTorch's
 * grad mode is per thread: each product sets it on its own thread and restores it.
 */
class TwoThreadTest {

  /** Gradient, Hv, Gv and Jv of 40 products, flattened. */
  private static List<double[]> work(SpecModel m, CaseFile c, int batch, long seed) {
    Objective o = m.objective(c.batches().get(batch));
    List<double[]> out = new ArrayList<>();
    try (ParameterVector v =
        ParameterVector.randomNormal(m.algebra(), m.layout(), new SplittableRandom(seed))) {
      for (int round = 0; round < 10; round++) {
        try (Curvature cur = o.curvature();
            ParameterVector g = cur.gradient();
            ParameterVector h = cur.hvp(v);
            ParameterVector gv = cur.ggnvp(v);
            Tensor jv = cur.jvp(v)) {
          out.add(g.toDoubleArray());
          out.add(h.toDoubleArray());
          out.add(gv.toDoubleArray());
          out.add(jv.toDoubleArray());
        }
      }
    }
    return out;
  }

  @Test
  void productsOnTwoThreadsMatchProductsOnOne() throws Exception {
    CaseFile c = BundledCases.load("mlp-batchnorm-sgdph.json");
    int b2 = c.batches().size() > 1 ? 1 : 0;
    try (SpecModel m = new DjlBackend().build(c.model(), c.parameters(), DType.FLOAT64)) {
      List<double[]> alone1 = work(m, c, 0, 1);
      List<double[]> alone2 = work(m, c, b2, 2);
      ExecutorService pool = Executors.newFixedThreadPool(2);
      try {
        CyclicBarrier start = new CyclicBarrier(2);
        Future<List<double[]>> f1 = pool.submit(() -> {
          start.await();
          return work(m, c, 0, 1);
        });
        Future<List<double[]>> f2 = pool.submit(() -> {
          start.await();
          // this thread has grad mode on, as inside a user's GradientCollector
          JniUtils.setGradMode(true);
          try {
            return work(m, c, b2, 2);
          } finally {
            assertEquals(true, JniUtils.isGradMode(), "grad mode restored");
            JniUtils.setGradMode(false);
          }
        });
        List<double[]> par1 = f1.get(60, TimeUnit.SECONDS);
        List<double[]> par2 = f2.get(60, TimeUnit.SECONDS);
        for (int i = 0; i < alone1.size(); i++) {
          assertArrayEquals(alone1.get(i), par1.get(i), 0.0, "thread 1, result " + i);
          assertArrayEquals(alone2.get(i), par2.get(i), 0.0, "thread 2, result " + i);
        }
      } finally {
        pool.shutdownNow();
      }
    }
    assertEquals(false, JniUtils.isGradMode(), "the test thread's grad mode is untouched");
  }
}
