package io.github.sgdph.optim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.sgdph.analysis.DatasetCurvature;
import io.github.sgdph.analysis.PartialHessianPremise;
import io.github.sgdph.cases.CaseFile;
import io.github.sgdph.cases.json.BundledCases;
import io.github.sgdph.curvature.Curvature;
import io.github.sgdph.curvature.Objective;
import io.github.sgdph.model.BuiltInModels;
import io.github.sgdph.model.LayerSpec;
import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.model.SpecBackend;
import io.github.sgdph.model.SpecModel;
import io.github.sgdph.param.ParameterLayout;
import io.github.sgdph.param.ParameterVector;
import io.github.sgdph.tensor.DType;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * SGD-PH on a ResNet (issue 16), the setting of its paper (Sun, Yong, Zhang), on the bundled
 * case {@code resnet-batchnorm-sgdph.json} and the reference backend: the channel-wise tensors
 * are every batch norm's weight and bias — the projection shortcut's included — and the head's
 * bias, in parameter order, exactly the 1-D tensors the authors' code iterates over; its first
 * step is ALGORITHMS.md §1 written out by hand; and the premise check runs on the ResNet.
 */
class SgdPhOnResNetTest {
  private static final String CASE = "resnet-batchnorm-sgdph.json";

  private static final List<String> BATCH_NORM_TENSORS = List.of(
      "bn1.weight", "bn1.bias", "layer1.0.bn1.weight", "layer1.0.bn1.bias",
      "layer1.0.bn2.weight", "layer1.0.bn2.bias", "layer2.0.bn1.weight", "layer2.0.bn1.bias",
      "layer2.0.bn2.weight", "layer2.0.bn2.bias", "layer2.0.downsample.1.weight",
      "layer2.0.downsample.1.bias");

  @Test
  void everyBatchNormsChannelWiseTensorsTakeTheSecondOrderBranch() {
    CaseFile c = BundledCases.load(CASE);
    ParameterLayout layout = c.model().layout();
    List<String> channelWise = new ArrayList<>();
    for (int i : layout.channelWiseIndices()) {
      channelWise.add(layout.block(i).name());
    }
    List<String> expected = new ArrayList<>(BATCH_NORM_TENSORS);
    expected.add("fc.bias");
    assertEquals(expected, channelWise);
    // reference mode: the last 1-D tensor (fc.bias) takes the SGD branch, as the authors' code
    SgdPh opt = (SgdPh) Optimizers.create(c.optimizer());
    assertEquals(BATCH_NORM_TENSORS, opt.secondOrderTensors(layout));
  }

  /**
   * The built-in ResNet-8 of {@code sgdph train --model resnet}: the channel-wise tensors are
   * the weight and bias of each of its 9 batch norms (the stem's, two per basic block, the two
   * projection shortcuts') — found here from the spec's batch-norm nodes, independently of the
   * 1-D rule — then the head's bias; SGD-PH in the authors' reference mode puts exactly the
   * batch norms' 18 on the second-order branch.
   */
  @Test
  void everyBatchNormOfTheBuiltInResNetIsFound() {
    ModelSpec spec = BuiltInModels.RESNET.spec();
    List<String> batchNorms = new ArrayList<>();
    for (ModelSpec.Node n : spec.nodes()) {
      if (n.op() instanceof LayerSpec.BatchNorm) {
        batchNorms.add(n.name() + ".weight");
        batchNorms.add(n.name() + ".bias");
      }
    }
    assertEquals(18, batchNorms.size(), batchNorms.toString());
    assertTrue(batchNorms.containsAll(List.of("layer2.0.downsample.1.weight",
        "layer3.0.downsample.1.bias")), batchNorms.toString());
    ParameterLayout layout = spec.layout();
    List<String> channelWise = new ArrayList<>();
    for (int i : layout.channelWiseIndices()) {
      channelWise.add(layout.block(i).name());
    }
    List<String> expected = new ArrayList<>(batchNorms);
    expected.add("fc.bias");
    assertEquals(expected, channelWise);
    SgdPh opt = (SgdPh) Optimizers.create(new OptimizerSpec("sgdph", java.util.Map.of()));
    assertEquals(batchNorms, opt.secondOrderTensors(layout));
  }

  /**
   * Step 1 refreshes the first channel-wise tensor ({@code bn1.weight}, k = 1): {@code d =
   * |(H e)_k|}, {@code D = (1 − μ) d}, {@code u = τ (1 − μ) g / (D + ε)} on it, plain {@code g}
   * on every other tensor ({@code buf = g} on the first step, {@code D = 0} elsewhere), {@code
   * p ← p − lr·u}; to 1e-13 relative per tensor (the same products on both sides).
   */
  @Test
  void theFirstStepIsAlgorithm1OnTheResNet() {
    CaseFile c = BundledCases.load(CASE);
    double lr = 0.1;
    double mu = 0.9;
    double tau = 1e-3;
    double eps = 1e-4;
    try (SpecModel m = SpecBackend.find("reference").build(c.model(), c.parameters(),
        DType.FLOAT64)) {
      ParameterLayout layout = m.layout();
      Objective o = m.objective(c.batches().get(0));
      double[] before = m.parameters().toDoubleArray();
      double[] g;
      double[] h;
      int k = layout.channelWiseIndices()[0];
      ParameterLayout kth = layout.select(k);
      try (Curvature cur = o.curvature()) {
        g = cur.gradient().toDoubleArray();
        h = cur.hvp(ParameterVector.zeros(m.algebra(), kth).fill(1)).toDoubleArray();
      }
      double[] expected = new double[before.length];
      int offset = 0;
      for (int b = 0; b < layout.blockCount(); b++) {
        int size = layout.block(b).size();
        for (int i = 0; i < size; i++) {
          int j = offset + i;
          double u = g[j];
          if (b == k) {
            double d = (1 - mu) * Math.abs(h[i]);
            u = tau * (1 - mu) * g[j] / (d + eps);
          } else if (BATCH_NORM_TENSORS.contains(layout.block(b).name())) {
            u = tau * (1 - mu) * g[j] / eps; // D = 0 until refreshed
          }
          expected[j] = before[j] - lr * u;
        }
        offset += size;
      }
      Optimizers.create(c.optimizer()).step(o);
      double[] after = m.parameters().toDoubleArray();
      offset = 0;
      for (int b = 0; b < layout.blockCount(); b++) {
        int size = layout.block(b).size();
        double d = 0;
        double n = 0;
        for (int i = offset; i < offset + size; i++) {
          d += (after[i] - expected[i]) * (after[i] - expected[i]);
          n += (expected[i] - before[i]) * (expected[i] - before[i]);
        }
        assertTrue(Math.sqrt(d) <= 1e-13 * Math.sqrt(n),
            layout.block(b).name() + ": step deviates " + Math.sqrt(d / n));
        offset += size;
      }
    }
  }

  /**
   * The premise check on the ResNet: one block per channel-wise tensor; its measures agree
   * with the block {@code H_SS} built column by column from restricted products.
   */
  @Test
  void thePremiseCheckRunsOnTheResNet() {
    CaseFile c = BundledCases.load(CASE);
    try (SpecModel m = SpecBackend.find("reference").build(c.model(), c.parameters(),
        DType.FLOAT64);
        DatasetCurvature data = DatasetCurvature.of(List.of(m.objective(c.batches().get(0))))) {
      PartialHessianPremise p = PartialHessianPremise.check(data);
      List<String> names = p.blocks().stream().map(PartialHessianPremise.Block::name).toList();
      List<String> expected = new ArrayList<>(BATCH_NORM_TENSORS);
      expected.add("fc.bias");
      assertEquals(expected, names);
      for (PartialHessianPremise.Block b : p.blocks()) {
        assertTrue(b.evaluated() && Double.isFinite(b.offDiagonalMass()), b.toString());
      }
      // the shortcut's batch-norm scale, by hand
      PartialHessianPremise.Block ds = p.blocks().get(10);
      ParameterLayout sub = m.layout().select(ds.rootIndex());
      int n = ds.size();
      double frob = 0;
      double diag = 0;
      try (Curvature cur = m.objective(c.batches().get(0)).curvature()) {
        for (int j = 0; j < n; j++) {
          double[] e = new double[n];
          e[j] = 1;
          double[] col = cur.hvp(ParameterVector.fromArray(m.algebra(), sub, e)).toDoubleArray();
          for (int i = 0; i < n; i++) {
            frob += col[i] * col[i];
            if (i == j) {
              diag += col[i] * col[i];
            }
          }
        }
      }
      assertEquals("layer2.0.downsample.1.weight", ds.name());
      assertEquals((frob - diag) / frob, ds.offDiagonalMass(), 1e-10);
    }
  }
}
