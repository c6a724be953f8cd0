package io.github.sgdph.conformance;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.sgdph.cases.CaseFile;
import io.github.sgdph.cases.json.BundledCases;
import io.github.sgdph.model.LayerSpec;
import io.github.sgdph.model.LossKind;
import java.util.EnumSet;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/** The kit runs on the bundled cases, so they must cover every layer type, mode and loss. */
class BundledCasesCoverageTest {

  @Test
  void bundledCasesUseEveryLayerTypeBatchNormModeAndLoss() {
    Set<String> types = new TreeSet<>();
    Set<LayerSpec.Mode> modes = EnumSet.noneOf(LayerSpec.Mode.class);
    Set<LossKind> losses = EnumSet.noneOf(LossKind.class);
    boolean bn4d = false;
    boolean strided = false;
    for (String n : BundledCases.names()) {
      CaseFile c = BundledCases.load(n);
      losses.add(c.model().loss());
      for (int i = 0; i < c.model().layers().size(); i++) {
        LayerSpec l = c.model().layers().get(i);
        types.add(l.type());
        if (l instanceof LayerSpec.BatchNorm b) {
          modes.add(b.mode());
          bn4d |= c.model().shapeBefore(i).length == 3;
        }
        if (l instanceof LayerSpec.Conv2d cv) {
          strided |= cv.strideH() > 1 && cv.padH() > 0;
        }
      }
    }
    Set<String> all =
        Set.of("dense", "conv2d", "batchnorm", "relu", "tanh", "sigmoid", "softplus", "flatten",
            "maxpool2d", "avgpool2d");
    assertTrue(types.containsAll(all), "missing layer types: " + diff(all, types));
    assertTrue(modes.containsAll(EnumSet.allOf(LayerSpec.Mode.class)), "batch-norm modes " + modes);
    assertTrue(losses.containsAll(EnumSet.allOf(LossKind.class)), "losses " + losses);
    assertTrue(bn4d, "a batch norm over NCHW channels");
    assertTrue(strided, "a strided, padded convolution");
  }

  /**
   * Graph models (issue 16): a ResNet with each batch-norm mode, a projection shortcut (a 1×1
   * convolution of stride 2), global average pooling, an explicit identity node, and the three
   * optimizers the issue names (SGD-PH, SGN, and a probe-only case).
   */
  @Test
  void bundledCasesIncludeResidualNetworks() {
    Set<String> types = new TreeSet<>();
    Set<LayerSpec.Mode> modes = EnumSet.noneOf(LayerSpec.Mode.class);
    Set<String> optimizers = new TreeSet<>();
    boolean projection = false;
    boolean probeOnly = false;
    for (String n : BundledCases.names()) {
      CaseFile c = BundledCases.load(n);
      if (c.model().isSequential()) {
        continue;
      }
      optimizers.add(c.optimizer().name());
      probeOnly |= c.steps() == 0 && c.probeVector() != null;
      for (LayerSpec l : c.model().layers()) {
        types.add(l.type());
        if (l instanceof LayerSpec.BatchNorm b) {
          modes.add(b.mode());
        }
        if (l instanceof LayerSpec.Conv2d cv) {
          projection |= cv.kernelH() == 1 && cv.strideH() == 2;
        }
      }
    }
    assertTrue(types.containsAll(Set.of("add", "identity", "global_avgpool2d", "conv2d",
        "batchnorm", "relu", "dense")), "graph cases' types: " + types);
    assertTrue(modes.containsAll(EnumSet.allOf(LayerSpec.Mode.class)), "modes " + modes);
    assertTrue(optimizers.containsAll(Set.of("sgdph", "sgn")), "optimizers " + optimizers);
    assertTrue(projection, "a 1x1 projection shortcut of stride 2");
    assertTrue(probeOnly, "a probe-only graph case");
  }

  private static Set<String> diff(Set<String> a, Set<String> b) {
    Set<String> d = new TreeSet<>(a);
    d.removeAll(b);
    return d;
  }
}
