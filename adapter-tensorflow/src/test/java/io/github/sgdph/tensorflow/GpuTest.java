package io.github.sgdph.tensorflow;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.sgdph.cases.CaseFile;
import io.github.sgdph.cases.CaseReplay;
import io.github.sgdph.cases.ProbeResult;
import io.github.sgdph.cases.TrajectoryComparison;
import io.github.sgdph.cases.json.BundledCases;
import io.github.sgdph.model.SpecModel;
import io.github.sgdph.tensor.DType;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * On a GPU (the {@code linux-x86_64-gpu} native artifact and a CUDA device), the products agree
 * with the CPU's. Skipped, visibly, where there is none.
 */
class GpuTest {

  @Test
  void optional_gpuProductsAgreeWithTheCpu() {
    Assumptions.assumeTrue(TfDevice.gpuAvailable(),
        "no GPU: TensorFlow's native library sees no CUDA device (the CPU-only linux-x86_64"
            + " natives are on the test classpath)");
    for (String name : new String[] {"mlp-tanh-sgd.json", "cnn-relu-maxpool-sgd.json"}) {
      CaseFile c = BundledCases.load(name);
      try (SpecModel gpu = new TfBackend(TfDevice.gpu(0))
              .build(c.model(), c.parameters(), DType.FLOAT32);
          SpecModel cpu = new TfBackend(TfDevice.CPU)
              .build(c.model(), c.parameters(), DType.FLOAT32)) {
        ProbeResult a = CaseReplay.probe(gpu, c);
        ProbeResult e = CaseReplay.probe(cpu, c);
        assertTrue(TrajectoryComparison.relative(a.hvp(), e.hvp()) <= 1e-4, name + ": Hv");
        assertTrue(TrajectoryComparison.relative(a.ggnvp(), e.ggnvp()) <= 1e-4, name + ": Gv");
        assertTrue(TrajectoryComparison.relative(a.gradient(), e.gradient()) <= 1e-4,
            name + ": gradient");
      }
    }
  }

  @Test
  void required_deviceNamesParse() {
    assertTrue(TfDevice.parse("GPU:1").equals(TfDevice.gpu(1)));
    assertTrue(TfDevice.parse("cpu").equals(TfDevice.CPU));
    assertTrue(TfDevice.parse("auto").equals(TfDevice.AUTO));
    org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
        () -> TfDevice.parse("tpu"));
  }
}
