package io.github.sgdph.djl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.training.loss.Loss;
import io.github.sgdph.cases.CaseFile;
import io.github.sgdph.cases.json.BundledCases;
import io.github.sgdph.curvature.Curvature;
import io.github.sgdph.data.ArrayBatch;
import io.github.sgdph.model.SpecBackend;
import io.github.sgdph.model.SpecModel;
import io.github.sgdph.tensor.DType;
import io.github.sgdph.tensor.Tensor;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * DJL's Kronecker-factor SPI beyond the kit's sequential models: a residual graph model (a
 * convolution read by two nodes, an add, global average pooling, batch norm) agrees with the
 * float64 reference, and a user's own block keeps the named refusal.
 */
class DjlKroneckerSpiTest {

  /** The kit's float64 tolerance of the SPI (KroneckerConformance: a few hundred ulps). */
  private static final double TOL = 1e-12;

  @Test
  void aResidualGraphModelsLayerInputsAndOutputGradientsAreTheReferences() {
    CaseFile c = BundledCases.load("resnet-batchnorm-sgn.json");
    ArrayBatch batch = c.batches().get(0);
    try (SpecModel m = new DjlBackend().build(c.model(), c.parameters(), DType.FLOAT64);
        SpecModel r = SpecBackend.find("reference").build(c.model(), c.parameters(),
            DType.FLOAT64);
        Curvature cm = m.objective(batch).curvature();
        Curvature cr = r.objective(batch).curvature()) {
      assertEquals(cr.factoredLayers(), cm.factoredLayers());
      assertTrue(cm.factoredLayers().size() >= 3, "the case has several convolutions");
      for (int l = 0; l < cm.factoredLayers().size(); l++) {
        try (Tensor a = cm.layerInputs(l); Tensor e = cr.layerInputs(l)) {
          assertClose(e.toDoubleArray(), a.toDoubleArray(), "layerInputs(" + l + ")");
        }
      }
      double[] dz;
      int[] shape;
      try (Tensor t = cr.outputGradient()) {
        dz = t.toDoubleArray();
        shape = t.shape();
      }
      try (Tensor um = m.algebra().fromArray(dz, shape);
          Tensor ur = r.algebra().fromArray(dz, shape)) {
        List<Tensor> a = cm.layerOutputGradients(um);
        List<Tensor> e = cr.layerOutputGradients(ur);
        try {
          for (int l = 0; l < a.size(); l++) {
            assertClose(e.get(l).toDoubleArray(), a.get(l).toDoubleArray(),
                "layerOutputGradients[" + l + "]");
          }
        } finally {
          a.forEach(Tensor::close);
          e.forEach(Tensor::close);
        }
      }
    }
  }

  @Test
  void aUsersOwnBlockRefusesTheSpiNamingTheReason() {
    try (NDManager manager = NDManager.newBaseManager(Device.cpu(), "PyTorch")) {
      var block = UserBlocks.withBatchNorm(manager, DataType.FLOAT64);
      NDList[] d = UserBlocks.data(manager, DataType.FLOAT64, 8, 2);
      try (BlockCurvatureModel m = BlockCurvatureModel.builder(block)
              .loss(Loss.softmaxCrossEntropyLoss()).build();
          Curvature c = m.objective(d[0], d[1]).curvature()) {
        UnsupportedOperationException e =
            assertThrows(UnsupportedOperationException.class, c::factoredLayers);
        assertTrue(e.getMessage().contains("BlockCurvatureModel"), e.getMessage());
        assertThrows(UnsupportedOperationException.class, () -> c.layerInputs(0));
        try (Tensor dz = c.outputGradient()) {
          assertThrows(UnsupportedOperationException.class, () -> c.layerOutputGradients(dz));
        }
      }
    }
  }

  private static void assertClose(double[] expected, double[] actual, String what) {
    assertEquals(expected.length, actual.length, what + ": length");
    double d = 0;
    double s = 0;
    for (int i = 0; i < expected.length; i++) {
      d += (expected[i] - actual[i]) * (expected[i] - actual[i]);
      s += expected[i] * expected[i];
    }
    double err = s == 0 ? Math.sqrt(d) : Math.sqrt(d / s);
    assertTrue(err <= TOL, what + ": relative error " + err + " > " + TOL);
  }
}
