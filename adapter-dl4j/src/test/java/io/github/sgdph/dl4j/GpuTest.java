package io.github.sgdph.dl4j;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.sgdph.cases.CaseFile;
import io.github.sgdph.cases.CaseReplay;
import io.github.sgdph.cases.ProbeResult;
import io.github.sgdph.cases.TrajectoryComparison;
import io.github.sgdph.cases.json.BundledCases;
import io.github.sgdph.model.SpecBackend;
import io.github.sgdph.model.SpecModel;
import io.github.sgdph.tensor.DType;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.factory.Nd4j;

/**
 * On ND4J's CUDA backend ({@code nd4j-cuda-*} instead of {@code nd4j-native}, README), the
 * products of a CNN with batch norm agree with the float64 reference within 1e-4 in float32.
 * Skipped, visibly, on the CPU backend (the whole suite then runs on the GPU too).
 */
class GpuTest {

  static boolean gpuAvailable() {
    return Nd4j.getBackend().getClass().getSimpleName().toLowerCase().contains("cu");
  }

  @Test
  void productsOnTheGpuAgreeWithTheReference() {
    Assumptions.assumeTrue(gpuAvailable(), "no GPU: ND4J runs on "
        + Nd4j.getBackend().getClass().getSimpleName()
        + "; put nd4j-cuda-11.6 (and its natives) on the classpath instead of nd4j-native");
    CaseFile c = BundledCases.load("cnn-batchnorm-avgpool-adam.json");
    try (SpecModel m = new Dl4jBackend().build(c.model(), c.parameters(), DType.FLOAT32);
        SpecModel ref =
            SpecBackend.find("reference").build(c.model(), c.parameters(), DType.FLOAT64)) {
      ProbeResult a = CaseReplay.probe(m, c);
      ProbeResult e = CaseReplay.probe(ref, c);
      assertTrue(TrajectoryComparison.relative(a.hvp(), e.hvp()) <= 1e-4, "hvp");
      assertTrue(TrajectoryComparison.relative(a.ggnvp(), e.ggnvp()) <= 1e-4, "ggnvp");
      assertTrue(TrajectoryComparison.relative(a.gradient(), e.gradient()) <= 1e-4, "gradient");
    }
  }
}
