package io.github.sgdph.reference;

import io.github.sgdph.model.BatchStatisticsReducer;
import io.github.sgdph.model.LayerSpec;
import io.github.sgdph.model.LossKind;
import io.github.sgdph.model.ModelSpec;
import java.util.List;

/**
 * The nodes of a {@link ModelSpec} as reference {@link Layer}s, and where each parameter entry
 * of the spec goes: entry {@code e} is slot {@code slot(e)} of layer {@code layer(e)}.
 *
 * <p>The model is a graph (a chain for a sequential spec): the input of layer {@code l} is the
 * <em>sum</em> of the outputs of its {@link #inputs} (index -1: the network's input), so an
 * {@code add} node is an identity layer over that sum. Passes run the layers in their
 * (topological) order forwards and in reverse order backwards; a layer's output read by
 * several layers (fan-out) receives the <em>sum</em> of their input gradients, and an add
 * hands its output gradient to each of its inputs: the chain rule on a DAG, in every mode
 * (gradient, {@code Jᵀu}, R-forward, R-backward).
 */
final class Network {
  static final int WEIGHT = 0;
  static final int BIAS = 1;
  static final int RUNNING_MEAN = 2;
  static final int RUNNING_VAR = 3;

  final ModelSpec spec;
  final Layer[] layers;
  final LossKind loss;
  /** {@code inputs[l]}: the layers whose outputs sum to layer {@code l}'s input (-1: the input). */
  final int[][] inputs;
  /** The number of outputs per sample. */
  final int outputs;
  /** {@code slotEntry[layer][slot]}: the spec entry in that slot, or -1. */
  final int[][] slotEntry;
  /** For each trainable block (layout order): its layer, slot and spec entry. */
  final int[] blockLayer;

  final int[] blockSlot;
  final int[] blockEntry;

  /**
   * Where the train-mode batch norms form their batch sums ({@link
   * io.github.sgdph.model.SpecModel#setBatchStatisticsReducer}); read at every reduction.
   */
  private BatchStatisticsReducer reducer = BatchStatisticsReducer.LOCAL;

  Network(ModelSpec spec) {
    this.spec = spec;
    List<LayerSpec> specs = spec.layers();
    this.layers = new Layer[specs.size()];
    this.inputs = new int[specs.size()][];
    for (int i = 0; i < layers.length; i++) {
      layers[i] = build(specs.get(i), spec.shapeBefore(i), spec.outputShapeOf(i), this::reducer);
      inputs[i] = spec.inputsOf(i);
    }
    this.loss = spec.loss();
    this.outputs = spec.outputShape()[0];
    this.slotEntry = new int[layers.length][];
    for (int l = 0; l < layers.length; l++) {
      slotEntry[l] = new int[Math.max(4, layers[l].trainableSlots())];
      java.util.Arrays.fill(slotEntry[l], -1);
    }
    List<ModelSpec.Entry> entries = spec.entries();
    int trainable = (int) entries.stream().filter(ModelSpec.Entry::trainable).count();
    this.blockLayer = new int[trainable];
    this.blockSlot = new int[trainable];
    this.blockEntry = new int[trainable];
    int b = 0;
    for (int e = 0; e < entries.size(); e++) {
      ModelSpec.Entry en = entries.get(e);
      String role = en.role();
      int slot =
          layers[en.layerIndex()] instanceof LstmLayer
              ? LstmLayer.slotOf(role)
              : switch (role) {
                case "weight" -> WEIGHT;
                case "bias" -> BIAS;
                case "running_mean" -> RUNNING_MEAN;
                case "running_var" -> RUNNING_VAR;
                default -> -1;
              };
      if (slot < 0) {
        throw new IllegalArgumentException("parameters: unknown entry role '" + en.name() + "'");
      }
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

  /** The hook the train-mode batch norms reduce through ({@link BatchStatisticsReducer#LOCAL}). */
  BatchStatisticsReducer reducer() {
    return reducer;
  }

  void setReducer(BatchStatisticsReducer reducer) {
    this.reducer = java.util.Objects.requireNonNull(reducer, "reducer");
  }

  private static Layer build(LayerSpec l, int[] in, int[] out,
      java.util.function.Supplier<BatchStatisticsReducer> reducer) {
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
          bn.features(), spatial, bn.eps(), bn.mode() == LayerSpec.Mode.TRAIN, reducer);
    }
    if (l instanceof LayerSpec.Activation a) {
      return new ActivationLayer(a.kind(), size(in));
    }
    if (l instanceof LayerSpec.Flatten
        || l instanceof LayerSpec.Identity
        || l instanceof LayerSpec.Add) {
      return new FlattenLayer(size(in));
    }
    if (l instanceof LayerSpec.GlobalAvgPool) {
      return new GlobalAvgPoolLayer(in[0], in[1] * in[2]);
    }
    if (l instanceof LayerSpec.Lstm r) {
      return new LstmLayer(r, in[0]);
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

  /** New, empty gradient or direction slots for layer {@code l}'s trainable entries. */
  double[][] newTrainableSlots(int l) {
    return new double[layers[l].trainableSlots()][];
  }

  /** The parameter slots of layer {@code l} from the per-entry arrays. */
  double[][] slots(double[][] entries, int l) {
    double[][] p = new double[slotEntry[l].length][];
    for (int s = 0; s < p.length; s++) {
      int e = slotEntry[l][s];
      if (e >= 0) {
        p[s] = entries[e];
      }
    }
    return p;
  }

  /**
   * The input of layer {@code l}: the output of its input (shared, not copied), or a new array
   * with the sum of its inputs' outputs.
   */
  double[] inputOf(Layer.Node[] nodes, double[] x, int l) {
    int[] in = inputs[l];
    double[] first = in[0] < 0 ? x : nodes[in[0]].out;
    if (in.length == 1) {
      return first;
    }
    double[] sum = first.clone();
    for (int k = 1; k < in.length; k++) {
      double[] a = in[k] < 0 ? x : nodes[in[k]].out;
      for (int i = 0; i < sum.length; i++) {
        sum[i] += a[i];
      }
    }
    return sum;
  }

  /**
   * The R-input of layer {@code l}: the sum of its inputs' {@code R{out}} ({@code rOut[j]} null
   * where zero; the network input's is zero), null if all are zero. Never one of the arrays of
   * {@code rOut} modified in place.
   */
  double[] rInputOf(double[][] rOut, int l) {
    double[] sum = null;
    boolean shared = false;
    for (int j : inputs[l]) {
      double[] a = j < 0 ? null : rOut[j];
      if (a == null) {
        continue;
      }
      if (sum == null) {
        sum = a;
        shared = true;
      } else {
        if (shared) {
          sum = sum.clone();
          shared = false;
        }
        for (int i = 0; i < sum.length; i++) {
          sum[i] += a[i];
        }
      }
    }
    return sum;
  }

  /**
   * Hands {@code gIn}, the gradient with respect to layer {@code l}'s input, to each of its
   * inputs at or after layer {@code first}: {@code acc[j] += gIn} (a new array when {@code
   * acc[j]} already holds one, so no array is changed in place).
   */
  void accumulate(double[][] acc, double[] gIn, int l, int first) {
    if (gIn == null) {
      return;
    }
    for (int j : inputs[l]) {
      if (j < first) {
        continue;
      }
      if (acc[j] == null) {
        acc[j] = gIn;
      } else {
        double[] sum = acc[j].clone();
        for (int i = 0; i < sum.length; i++) {
          sum[i] += gIn[i];
        }
        acc[j] = sum;
      }
    }
  }

  /** Whether layer {@code l} reads the output of a layer at or after {@code first}. */
  boolean needsInputGradient(int l, int first) {
    for (int j : inputs[l]) {
      if (j >= first) {
        return true;
      }
    }
    return false;
  }

  /** The forward pass on {@code n} samples with the per-entry parameter arrays. */
  Layer.Node[] forward(double[][] entries, double[] x, int n) {
    Layer.Node[] nodes = new Layer.Node[layers.length];
    for (int l = 0; l < layers.length; l++) {
      nodes[l] = layers[l].forward(slots(entries, l), inputOf(nodes, x, l), n);
    }
    return nodes;
  }

  /**
   * The forward pass in evaluation mode: train-mode batch norms normalise with {@code
   * running[l]} ({@code {mean, variance}} of layer {@code l}) instead of batch statistics.
   */
  Layer.Node[] forwardEval(double[][] entries, double[][][] running, double[] x, int n) {
    Layer.Node[] nodes = new Layer.Node[layers.length];
    for (int l = 0; l < layers.length; l++) {
      double[] a = inputOf(nodes, x, l);
      if (layers[l] instanceof BatchNormLayer bn && bn.train()) {
        double[][] p = slots(entries, l);
        p[RUNNING_MEAN] = running[l][0];
        p[RUNNING_VAR] = running[l][1];
        nodes[l] = bn.forward(p, a, n, true);
      } else {
        nodes[l] = layers[l].forward(slots(entries, l), a, n);
      }
    }
    return nodes;
  }

  /** The first layer that has trainable parameters (layers.length if none). */
  int firstTrainableLayer() {
    int m = layers.length;
    for (int l : blockLayer) {
      m = Math.min(m, l);
    }
    return m;
  }
}
