package io.github.sgdph.model;

import io.github.sgdph.param.ParameterBlock;
import io.github.sgdph.param.ParameterLayout;
import io.github.sgdph.tensor.Shapes;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Objects;

/**
 * The neutral, framework-independent description of a sequential network and its loss
 * ({@code model} in a case file, CASES.md): every backend builds the same function from it.
 *
 * <p>Construction validates the whole chain of shapes, so a spec that exists is buildable.
 * Parameter entries follow PyTorch's naming and order: {@code "<layer index>.weight"} before
 * {@code ".bias"}, layer by layer, and for an eval-mode batch norm the non-trainable
 * {@code running_mean} and {@code running_var} after them.
 */
public final class ModelSpec {
  private final int[] inputShape;
  private final List<LayerSpec> layers;
  private final LossKind loss;
  private final List<int[]> shapes; // shapes.get(i) = input of layer i; last = output
  private final List<Entry> entries;
  private final List<Entry> runningStatistics;

  /**
   * The expected shape and role of one parameter entry.
   *
   * @param name the entry's PyTorch-style name, e.g. {@code 0.weight} or {@code 1.running_mean}
   * @param shape the tensor's dimensions
   * @param trainable whether the entry is a trainable parameter (running statistics are not)
   * @param layerIndex the index in {@link ModelSpec#layers()} of the layer the entry belongs to
   */
  public record Entry(String name, int[] shape, boolean trainable, int layerIndex) {
    /**
     * Copies {@code shape}.
     *
     * @param name the entry's PyTorch-style name, e.g. {@code 0.weight} or {@code 1.running_mean}
     * @param shape the tensor's dimensions; copied
     * @param trainable whether the entry is a trainable parameter (running statistics are not)
     * @param layerIndex the index in {@link ModelSpec#layers()} of the layer the entry belongs to
     */
    public Entry {
      shape = shape.clone();
    }

    /**
     * The tensor's dimensions.
     *
     * @return a new array on each call
     */
    @Override
    public int[] shape() {
      return shape.clone();
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Entry e
          && name.equals(e.name)
          && Arrays.equals(shape, e.shape)
          && trainable == e.trainable
          && layerIndex == e.layerIndex;
    }

    @Override
    public int hashCode() {
      return Objects.hash(name, Arrays.hashCode(shape), trainable, layerIndex);
    }
  }

  /**
   * Validates and creates a model spec.
   *
   * @param inputShape the per-sample input shape ({@code [features]} or {@code [C, H, W]})
   * @param layers the layers in order, at least one; copied
   * @param loss the loss applied to the network output
   * @throws IllegalArgumentException naming the layer ({@code layers[i]}) whose input does not
   *     fit, or a loss that does not fit the output
   */
  public ModelSpec(int[] inputShape, List<LayerSpec> layers, LossKind loss) {
    Objects.requireNonNull(inputShape, "input_shape");
    Objects.requireNonNull(layers, "layers");
    Objects.requireNonNull(loss, "loss");
    if (inputShape.length == 0) {
      throw new IllegalArgumentException("input_shape: must have at least one dimension");
    }
    for (int d : inputShape) {
      if (d <= 0) {
        throw new IllegalArgumentException(
            "input_shape: dimensions must be positive but was " + Arrays.toString(inputShape));
      }
    }
    if (layers.isEmpty()) {
      throw new IllegalArgumentException("layers: a model needs at least one layer");
    }
    this.inputShape = inputShape.clone();
    this.layers = List.copyOf(layers);
    this.loss = loss;
    List<int[]> s = new ArrayList<>();
    int[] cur = this.inputShape;
    s.add(cur);
    List<Entry> e = new ArrayList<>();
    for (int i = 0; i < this.layers.size(); i++) {
      LayerSpec l = Objects.requireNonNull(this.layers.get(i), "layers[" + i + "]");
      cur = l.outputShape(cur, "layers[" + i + "]");
      s.add(cur);
      addEntries(i, l, e);
    }
    if (cur.length != 1) {
      throw new IllegalArgumentException(
          "layers: the network output must be 1-D per sample but is " + Arrays.toString(cur)
              + " (add a flatten layer)");
    }
    this.shapes = Collections.unmodifiableList(s);
    this.entries = List.copyOf(e);
    List<Entry> r = new ArrayList<>();
    for (int i = 0; i < layers.size(); i++) {
      if (layers.get(i) instanceof LayerSpec.BatchNorm b && b.mode() == LayerSpec.Mode.TRAIN) {
        r.add(new Entry(i + ".running_mean", new int[] {b.features()}, false, i));
        r.add(new Entry(i + ".running_var", new int[] {b.features()}, false, i));
      }
    }
    this.runningStatistics = List.copyOf(r);
  }

  private static void addEntries(int i, LayerSpec l, List<Entry> e) {
    if (l instanceof LayerSpec.Dense d) {
      e.add(new Entry(i + ".weight", new int[] {d.out(), d.in()}, true, i));
      if (d.bias()) {
        e.add(new Entry(i + ".bias", new int[] {d.out()}, true, i));
      }
    } else if (l instanceof LayerSpec.Conv2d c) {
      e.add(
          new Entry(
              i + ".weight", new int[] {c.out(), c.in(), c.kernelH(), c.kernelW()}, true, i));
      if (c.bias()) {
        e.add(new Entry(i + ".bias", new int[] {c.out()}, true, i));
      }
    } else if (l instanceof LayerSpec.BatchNorm b) {
      e.add(new Entry(i + ".weight", new int[] {b.features()}, true, i));
      e.add(new Entry(i + ".bias", new int[] {b.features()}, true, i));
      if (b.mode() == LayerSpec.Mode.EVAL) {
        e.add(new Entry(i + ".running_mean", new int[] {b.features()}, false, i));
        e.add(new Entry(i + ".running_var", new int[] {b.features()}, false, i));
      }
    }
  }

  /**
   * The per-sample input shape.
   *
   * @return a new array: {@code [features]} or {@code [C, H, W]}
   */
  public int[] inputShape() {
    return inputShape.clone();
  }

  /**
   * The layers, in order.
   *
   * @return an unmodifiable list of at least one layer
   */
  public List<LayerSpec> layers() {
    return layers;
  }

  /**
   * The loss applied to the network output.
   *
   * @return the loss kind
   */
  public LossKind loss() {
    return loss;
  }

  /**
   * The per-sample input shape of layer {@code i}; {@code i == layers().size()} gives the output.
   *
   * @param i a layer index, from 0 to {@code layers().size()} inclusive
   * @return a new array: the shape of the samples entering layer {@code i}
   * @throws IndexOutOfBoundsException if {@code i} is out of range
   */
  public int[] shapeBefore(int i) {
    return shapes.get(i).clone();
  }

  /**
   * The per-sample output shape ({@code [k]}).
   *
   * @return a new one-element array: the number of outputs per sample
   */
  public int[] outputShape() {
    return shapes.get(shapes.size() - 1).clone();
  }

  /**
   * Every parameter entry, trainable or not, in case-file order.
   *
   * @return an unmodifiable list of the entries the case file's {@code parameters} must list
   */
  public List<Entry> entries() {
    return entries;
  }

  /**
   * The layout of the trainable entries, channel-wise marked by the default rule (1-D tensors).
   *
   * @return a new root layout of the trainable entries, in entry order
   */
  public ParameterLayout layout() {
    List<ParameterBlock> blocks = new ArrayList<>();
    for (Entry e : entries) {
      if (e.trainable()) {
        blocks.add(ParameterBlock.of(e.name(), e.shape()));
      }
    }
    return ParameterLayout.of(blocks);
  }

  /**
   * The running statistics a model tracks while it trains: {@code running_mean} and
   * {@code running_var} of every <em>train-mode</em> batch norm, which normalises with batch
   * statistics but, as PyTorch's {@code BatchNorm} in {@code train()} mode, keeps exponential
   * moving averages of them for evaluation ({@link SpecModel#predict}). They are model state,
   * not case-file parameters (an eval-mode batch norm's running statistics are
   * {@linkplain #entries() entries} instead, fixed while training).
   *
   * @return an unmodifiable list, in layer order, mean before variance; empty without
   *     train-mode batch norm
   */
  public List<Entry> runningStatistics() {
    return runningStatistics;
  }

  /**
   * The running statistics of a freshly built model, as PyTorch initialises them: means 0,
   * variances 1.
   *
   * @return new arrays, one per {@link #runningStatistics()} entry
   */
  public List<NamedArray> initialRunningStatistics() {
    List<NamedArray> out = new ArrayList<>(runningStatistics.size());
    for (Entry e : runningStatistics) {
      double[] v = new double[Shapes.size(e.shape())];
      if (e.name().endsWith(".running_var")) {
        Arrays.fill(v, 1.0);
      }
      out.add(new NamedArray(e.name(), e.shape(), v, false));
    }
    return out;
  }

  /**
   * Checks that {@code params} are exactly this spec's entries (names, order, shapes,
   * trainable flags) and have finite values.
   *
   * @param params the parameter entries of a case file, in order
   * @throws IllegalArgumentException naming the first offending entry ({@code parameters[i]})
   */
  public void validateParameters(List<NamedArray> params) {
    validate(entries, params, "parameters");
  }

  /**
   * Checks that {@code stats} are exactly this spec's {@linkplain #runningStatistics() running
   * statistics} (names, order, shapes), finite, with non-negative variances.
   *
   * @param stats running statistics, e.g. from a checkpoint
   * @throws IllegalArgumentException naming the first offending entry ({@code
   *     runningStatistics[i]})
   */
  public void validateRunningStatistics(List<NamedArray> stats) {
    validate(runningStatistics, stats, "runningStatistics");
  }

  private static void validate(List<Entry> expected, List<NamedArray> params, String what) {
    Objects.requireNonNull(params, what);
    if (params.size() != expected.size()) {
      List<String> names = expected.stream().map(Entry::name).toList();
      throw new IllegalArgumentException(
          what + ": the model has " + expected.size() + " entries " + names + " but "
              + params.size() + " were given");
    }
    for (int i = 0; i < params.size(); i++) {
      Entry e = expected.get(i);
      NamedArray p = params.get(i);
      String where = what + "[" + i + "] (" + p.name() + ")";
      if (!e.name().equals(p.name())) {
        throw new IllegalArgumentException(where + ": expected the entry '" + e.name() + "'");
      }
      if (!Arrays.equals(e.shape(), p.shape())) {
        throw new IllegalArgumentException(
            where + ": shape " + Arrays.toString(p.shape()) + " but the model needs "
                + Arrays.toString(e.shape()));
      }
      if (e.trainable() != p.trainable()) {
        throw new IllegalArgumentException(
            where + ": must be " + (e.trainable() ? "trainable" : "\"trainable\": false"));
      }
      double[] v = p.valuesView();
      for (int k = 0; k < v.length; k++) {
        if (!Double.isFinite(v[k])) {
          throw new IllegalArgumentException(where + ": value " + k + " is " + v[k]);
        }
      }
      if (e.name().endsWith(".running_var")) {
        for (int k = 0; k < v.length; k++) {
          if (v[k] < 0) {
            throw new IllegalArgumentException(where + ": value " + k + " is negative");
          }
        }
      }
    }
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ModelSpec m
        && Arrays.equals(inputShape, m.inputShape)
        && layers.equals(m.layers)
        && loss == m.loss;
  }

  @Override
  public int hashCode() {
    return Objects.hash(Arrays.hashCode(inputShape), layers, loss);
  }

  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder("ModelSpec" + Arrays.toString(inputShape));
    for (LayerSpec l : layers) {
      sb.append(" -> ").append(l);
    }
    return sb.append(" | ").append(loss.jsonName()).toString();
  }
}
