package io.github.sgdph.djl;

import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import io.github.sgdph.cases.CaseFile;
import io.github.sgdph.cases.TrajectoryComparison;
import io.github.sgdph.cases.json.BundledCases;
import io.github.sgdph.curvature.Curvature;
import io.github.sgdph.model.SpecModel;
import io.github.sgdph.param.ParameterVector;
import io.github.sgdph.tensor.DType;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * On a CUDA device the products equal the CPU's (float64, 1e-9). Skipped, visibly, where the
 * PyTorch natives on the classpath see no GPU (the CPU build, or no device).
 */
class GpuTest {

  @Test
  void productsOnTheGpuEqualTheCpus() {
    Assumptions.assumeTrue(PyTorchRuntime.gpuAvailable(),
        "no GPU: the PyTorch natives on the classpath see no CUDA device (swap "
            + "pytorch-native-cpu for a CUDA build to run this test)");
    CaseFile c = BundledCases.load("cnn-batchnorm-avgpool-adam.json");
    DjlBackend gpu = new DjlBackend(DjlOptions.builder().device(Device.gpu()).build());
    DjlBackend cpu = new DjlBackend(DjlOptions.builder().device(Device.cpu()).build());
    try (SpecModel g = gpu.build(c.model(), c.parameters(), DType.FLOAT64);
        SpecModel h = cpu.build(c.model(), c.parameters(), DType.FLOAT64);
        Curvature cg = g.objective(c.batches().get(0)).curvature();
        Curvature ch = h.objective(c.batches().get(0)).curvature()) {
      ParameterVector vh =
          ParameterVector.randomNormal(h.algebra(), h.layout(), new SplittableRandom(1));
      ParameterVector vg = ParameterVector.fromArray(g.algebra(), g.layout(), vh.toDoubleArray());
      check("gradient", cg.gradient().toDoubleArray(), ch.gradient().toDoubleArray());
      check("hvp", cg.hvp(vg).toDoubleArray(), ch.hvp(vh).toDoubleArray());
      check("ggnvp", cg.ggnvp(vg).toDoubleArray(), ch.ggnvp(vh).toDoubleArray());
    }
  }

  private static void check(String what, double[] a, double[] e) {
    double err = TrajectoryComparison.relative(a, e);
    assertTrue(err <= 1e-9, what + " on the GPU deviates " + err + " from the CPU");
  }
}
