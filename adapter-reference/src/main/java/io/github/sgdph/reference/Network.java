package io.github.sgdph.reference;

import io.github.sgdph.model.LayerSpec;
import io.github.sgdph.model.LossKind;
import io.github.sgdph.model.ModelSpec;
import java.util.List;

/**
 * The layers of a {@link ModelSpec} as reference {@link Layer}s, and where each parameter entry
 * of the spec goes: entry {@code e} is slot {@code slot(e)} of layer {@code layer(e)}.
 */
final class Network {
  static final int WEIGHT = 0;
  static final int BIAS = 1;
  static final int RUNNING_MEAN = 2;
  static final int RUNNING_VAR = 3;

  final ModelSpec spec;
  final Layer[] layers;
  final LossKind loss;
  /** The number of outputs per sample. */
  final int outputs;
  /** {@code slotEntry[layer][slot]}: the spec entry in that slot, or -1. */
  final int[][] slotEntry;
  /** For each trainable block (layout order): its layer, slot and spec entry. */
  final int[] blockLayer;

  final int[] blockSlot;
  final int[] blockEntry;

  Network(ModelSpec spec) {
    this.spec = spec;
    List<LayerSpec> specs = spec.layers();
    this.layers = new Layer[specs.size()];
    for (int i = 0; i < layers.length; i++) {
      layers[i] = build(specs.get(i), spec.shapeBefore(i), spec.shapeBefore(i + 1));
    }
    this.loss = spec.loss();
    this.outputs = spec.outputShape()[0];
    this.slotEntry = new int[layers.length][4];
    for (int[] s : slotEntry) {
      java.util.Arrays.fill(s, -1);
    }
    List<ModelSpec.Entry> entries = spec.entries();
    int trainable = (int) entries.stream().filter(ModelSpec.Entry::trainable).count();
    this.blockLayer = new int[trainable];
    this.blockSlot = new int[trainable];
    this.blockEntry = new int[trainable];
    int b = 0;
    for (int e = 0; e < entries.size(); e++) {
      ModelSpec.Entry en = entries.get(e);
      String role = en.name().substring(en.name().indexOf('.') + 1);
      int slot =
          switch (role) {
            case "weight" -> WEIGHT;
            case "bias" -> BIAS;
            case "running_mean" -> RUNNING_MEAN;
            case "running_var" -> RUNNING_VAR;
            default -> throw new IllegalArgumentException(
                "parameters: unknown entry role '" + en.name() + "'");
          };
      slotEntry[en.layerIndex()][slot] = e;
      if (en.trainable()) {
        blockLayer[b] = en.layerIndex();
        blockSlot[b] = slot;
        blockEntry[b] = e;
        b++;
      }
    }
  }

  private static int size(int[] shape) {
    int n = 1;
    for (int d : shape) {
      n *= d;
    }
    return n;
  }

  private static Layer build(LayerSpec l, int[] in, int[] out) {
    if (l instanceof LayerSpec.Dense d) {
      return new DenseLayer(d.in(), d.out(), d.bias());
    }
    if (l instanceof LayerSpec.Conv2d c) {
      return new Conv2dLayer(
          new Kernels.Geometry(
              c.in(), in[1], in[2], c.kernelH(), c.kernelW(), c.strideH(), c.strideW(), c.padH(),
              c.padW(), out[1], out[2]),
          c.out(),
          c.bias());
    }
    if (l instanceof LayerSpec.BatchNorm bn) {
      int spatial = in.length == 3 ? in[1] * in[2] : 1;
      return new BatchNormLayer(
          bn.features(), spatial, bn.eps(), bn.mode() == LayerSpec.Mode.TRAIN);
    }
    if (l instanceof LayerSpec.Activation a) {
      return new ActivationLayer(a.kind(), size(in));
    }
    if (l instanceof LayerSpec.Flatten) {
      return new FlattenLayer(size(in));
    }
    if (l instanceof LayerSpec.Pool2d p) {
      return new PoolLayer(
          p.kind(),
          new Kernels.Geometry(
              in[0], in[1], in[2], p.kernelH(), p.kernelW(), p.strideH(), p.strideW(), 0, 0,
              out[1], out[2]));
    }
    throw new IllegalArgumentException("layers: unsupported layer type " + l.type());
  }

  /** The parameter slots of layer {@code l} from the per-entry arrays. */
  double[][] slots(double[][] entries, int l) {
    double[][] p = new double[4][];
    for (int s = 0; s < 4; s++) {
      int e = slotEntry[l][s];
      if (e >= 0) {
        p[s] = entries[e];
      }
    }
    return p;
  }

  /** The forward pass on {@code n} samples with the per-entry parameter arrays. */
  Layer.Node[] forward(double[][] entries, double[] x, int n) {
    Layer.Node[] nodes = new Layer.Node[layers.length];
    double[] a = x;
    for (int l = 0; l < layers.length; l++) {
      nodes[l] = layers[l].forward(slots(entries, l), a, n);
      a = nodes[l].out;
    }
    return nodes;
  }

  /** The first layer that has trainable parameters (layers.length if none). */
  /**
   * The forward pass in evaluation mode: train-mode batch norms normalise with {@code
   * running[l]} ({@code {mean, variance}} of layer {@code l}) instead of batch statistics.
   */
  Layer.Node[] forwardEval(double[][] entries, double[][][] running, double[] x, int n) {
    Layer.Node[] nodes = new Layer.Node[layers.length];
    double[] a = x;
    for (int l = 0; l < layers.length; l++) {
      if (layers[l] instanceof BatchNormLayer bn && bn.train()) {
        double[][] p = slots(entries, l);
        p[RUNNING_MEAN] = running[l][0];
        p[RUNNING_VAR] = running[l][1];
        nodes[l] = bn.forward(p, a, n, true);
      } else {
        nodes[l] = layers[l].forward(slots(entries, l), a, n);
      }
      a = nodes[l].out;
    }
    return nodes;
  }

  int firstTrainableLayer() {
    int m = layers.length;
    for (int l : blockLayer) {
      m = Math.min(m, l);
    }
    return m;
  }
}
