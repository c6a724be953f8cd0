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
 * The neutral, framework-independent description of a network and its loss ({@code model} in a
 * case file, CASES.md): every backend builds the same function from it.
 *
 * <p>A network is a directed acyclic graph of named {@linkplain Node nodes}, each an op
 * ({@link LayerSpec}) applied to the outputs of earlier nodes or to the network's input
 * ({@value #INPUT}); the last node is the output. A <em>sequential</em> model is the special
 * case built by {@link #ModelSpec(int[], List, LossKind)}: node {@code i} is named
 * {@code "i"} and takes the output of node {@code i − 1} (the input for node 0), exactly the
 * layer list of earlier versions. Residual networks (He, Zhang, Ren, Sun, CVPR 2016) are graphs
 * with {@link LayerSpec.Add} merges, built by {@link #graph(int[], List, LossKind)}.
 *
 * <p>Construction validates the whole graph and its shapes, so a spec that exists is buildable.
 * Parameter entries follow PyTorch's naming and order: {@code "<node name>.weight"} before
 * {@code ".bias"}, node by node, and for an eval-mode batch norm the non-trainable
 * {@code running_mean} and {@code running_var} after them; an {@link LayerSpec.Lstm}'s are
 * {@code weight_ih_lk}, {@code weight_hh_lk}, {@code bias_lk} for each stacked layer {@code k}
 * (PyTorch's {@code nn.LSTM} names, with its two biases as one).
 */
public final class ModelSpec {
  /** The name by which a node refers to the network's input. */
  public static final String INPUT = "input";

  private static final java.util.regex.Pattern NODE_NAME =
      java.util.regex.Pattern.compile("[A-Za-z0-9_]+(\\.[A-Za-z0-9_]+)*");

  private final int[] inputShape;
  private final List<Node> nodes;
  private final List<LayerSpec> layers;
  private final LossKind loss;
  private final boolean sequential;
  private final List<int[]> outputShapes; // outputShapes.get(i) = output of node i
  private final int[][] inputIndices; // -1 = the network input
  private final List<Entry> entries;
  private final List<Entry> runningStatistics;

  /**
   * One node of a graph model: an op applied to the outputs of earlier nodes (or of the
   * network's input, {@value ModelSpec#INPUT}). Its output is the sum of nothing: an op with
   * several inputs is an {@link LayerSpec.Add}.
   *
   * @param name the node's name, unique in the model: letters, digits and {@code _} in parts
   *     joined by dots (PyTorch module paths such as {@code layer1.0.conv1}); its parameter
   *     entries are {@code <name>.weight} and {@code <name>.bias}
   * @param op the operation
   * @param inputs the names of the nodes (or {@value ModelSpec#INPUT}) whose outputs the op
   *     takes, in order; empty means the previous node's output (the input for the first node)
   */
  public record Node(String name, LayerSpec op, List<String> inputs) {
    /**
     * Validates the name and copies the inputs.
     *
     * @param name the node's name
     * @param op the operation
     * @param inputs the names of its inputs; empty for the previous node
     * @throws IllegalArgumentException naming {@code name} if it is not a valid node name
     * @throws NullPointerException naming the null component
     */
    public Node {
      Objects.requireNonNull(name, "name");
      Objects.requireNonNull(op, "op");
      Objects.requireNonNull(inputs, "inputs");
      if (!NODE_NAME.matcher(name).matches() || name.equals(INPUT)) {
        throw new IllegalArgumentException(
            "name: '" + name + "' is not a node name (letters, digits and _ in parts joined by"
                + " dots, not '" + INPUT + "')");
      }
      inputs = List.copyOf(inputs);
    }

    /**
     * A node taking the named inputs.
     *
     * @param name the node's name
     * @param op the operation
     * @param inputs the names of its inputs; none for the previous node
     * @return the node
     */
    public static Node of(String name, LayerSpec op, String... inputs) {
      return new Node(name, op, List.of(inputs));
    }
  }

  /**
   * The expected shape and role of one parameter entry.
   *
   * @param name the entry's PyTorch-style name, e.g. {@code 0.weight} or {@code 1.running_mean}
   * @param shape the tensor's dimensions
   * @param trainable whether the entry is a trainable parameter (running statistics are not)
   * @param layerIndex the index in {@link ModelSpec#nodes()} (and {@link ModelSpec#layers()}) of
   *     the node the entry belongs to
   */
  public record Entry(String name, int[] shape, boolean trainable, int layerIndex) {
    /**
     * Copies {@code shape}.
     *
     * @param name the entry's PyTorch-style name, e.g. {@code 0.weight} or {@code 1.running_mean}
     * @param shape the tensor's dimensions; copied
     * @param trainable whether the entry is a trainable parameter (running statistics are not)
     * @param layerIndex the index in {@link ModelSpec#nodes()} of the node the entry belongs to
     */
    public Entry {
      shape = shape.clone();
    }

    /**
     * The entry's role in its node: the part of the name after the node's name.
     *
     * @return {@code weight}, {@code bias}, {@code running_mean} or {@code running_var}; for an
     *     LSTM {@code weight_ih_lk}, {@code weight_hh_lk} or {@code bias_lk} of stacked layer
     *     {@code k}
     */
    public String role() {
      return name.substring(name.lastIndexOf('.') + 1);
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
   * Validates and creates a sequential model spec: node {@code i} is named {@code "i"} and takes
   * the previous node's output.
   *
   * @param inputShape the per-sample input shape ({@code [features]}, {@code [C, H, W]}, or
   *     {@code [T, F]} sequences for an {@link LayerSpec.Lstm})
   * @param layers the layers in order, at least one; copied
   * @param loss the loss applied to the network output
   * @throws IllegalArgumentException naming the layer ({@code layers[i]}) whose input does not
   *     fit, or a loss that does not fit the output
   */
  public ModelSpec(int[] inputShape, List<LayerSpec> layers, LossKind loss) {
    this(inputShape, sequentialNodes(layers), loss, "layers");
  }

  /**
   * Validates and creates a graph model spec.
   *
   * @param inputShape the per-sample input shape ({@code [features]}, {@code [C, H, W]}, or
   *     {@code [T, F]} sequences for an {@link LayerSpec.Lstm})
   * @param nodes the nodes in a topological order (every input an earlier node or {@value
   *     #INPUT}), at least one; the last is the output, and every other node's output must be
   *     used; copied
   * @param loss the loss applied to the output
   * @return the spec; {@link #isSequential()} when the nodes are those of a sequential model
   * @throws IllegalArgumentException naming the node ({@code nodes[i] (name)}) that is invalid:
   *     a duplicate name, an input that is not an earlier node, inputs that do not fit its op, an
   *     unused output; or a loss that does not fit the output
   */
  public static ModelSpec graph(int[] inputShape, List<Node> nodes, LossKind loss) {
    return new ModelSpec(inputShape, nodes, loss, "nodes");
  }

  private static List<Node> sequentialNodes(List<LayerSpec> layers) {
    Objects.requireNonNull(layers, "layers");
    List<Node> out = new ArrayList<>(layers.size());
    for (int i = 0; i < layers.size(); i++) {
      out.add(
          new Node(
              Integer.toString(i),
              Objects.requireNonNull(layers.get(i), "layers[" + i + "]"),
              List.of(i == 0 ? INPUT : Integer.toString(i - 1))));
    }
    return out;
  }

  private ModelSpec(int[] inputShape, List<Node> nodeList, LossKind loss, String field) {
    Objects.requireNonNull(inputShape, "input_shape");
    Objects.requireNonNull(nodeList, field);
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
    if (nodeList.isEmpty()) {
      throw new IllegalArgumentException(field + ": a model needs at least one layer");
    }
    this.inputShape = inputShape.clone();
    this.loss = loss;
    int count = nodeList.size();
    java.util.Map<String, Integer> index = new java.util.HashMap<>();
    List<Node> resolved = new ArrayList<>(count);
    List<int[]> outs = new ArrayList<>(count);
    this.inputIndices = new int[count][];
    boolean[] used = new boolean[count];
    List<Entry> e = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      Node raw = Objects.requireNonNull(nodeList.get(i), field + "[" + i + "]");
      String where =
          field.equals("layers") ? "layers[" + i + "]" : "nodes[" + i + "] (" + raw.name() + ")";
      if (index.containsKey(raw.name())) {
        throw new IllegalArgumentException(
            where + ": the name is already that of nodes[" + index.get(raw.name()) + "]");
      }
      List<String> in = raw.inputs();
      if (in.isEmpty()) {
        in = List.of(i == 0 ? INPUT : resolved.get(i - 1).name());
      }
      int[] idx = new int[in.size()];
      List<int[]> inShapes = new ArrayList<>(in.size());
      for (int k = 0; k < idx.length; k++) {
        String name = in.get(k);
        if (name.equals(INPUT)) {
          idx[k] = -1;
          inShapes.add(this.inputShape);
          continue;
        }
        Integer j = index.get(name);
        if (j == null) {
          boolean later = nodeList.stream().anyMatch(n -> n != null && n.name().equals(name));
          throw new IllegalArgumentException(
              where + ": input '" + name + "' is "
                  + (later || name.equals(raw.name())
                      ? "not an earlier node (list the nodes in a topological order; no cycles)"
                      : "not a node of the model (nor '" + INPUT + "')"));
        }
        idx[k] = j;
        used[j] = true;
        inShapes.add(outs.get(j));
      }
      outs.add(raw.op().outputShape(inShapes, where));
      inputIndices[i] = idx;
      index.put(raw.name(), i);
      Node node = new Node(raw.name(), raw.op(), in);
      resolved.add(node);
      addEntries(i, node, e);
    }
    for (int i = 0; i + 1 < count; i++) {
      if (!used[i]) {
        throw new IllegalArgumentException(
            "nodes[" + i + "] (" + resolved.get(i).name() + "): its output is never used (the"
                + " last node, '" + resolved.get(count - 1).name() + "', is the model's output)");
      }
    }
    int[] cur = outs.get(count - 1);
    if (cur.length != 1) {
      throw new IllegalArgumentException(
          field + ": the network output must be 1-D per sample but is " + Arrays.toString(cur)
              + " (add a flatten layer)");
    }
    this.nodes = List.copyOf(resolved);
    this.layers = nodes.stream().map(Node::op).toList();
    boolean seq = true;
    for (int i = 0; i < count && seq; i++) {
      seq =
          nodes.get(i).name().equals(Integer.toString(i))
              && inputIndices[i].length == 1
              && inputIndices[i][0] == i - 1;
    }
    this.sequential = seq;
    this.outputShapes = Collections.unmodifiableList(outs);
    this.entries = List.copyOf(e);
    List<Entry> r = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      if (layers.get(i) instanceof LayerSpec.BatchNorm b && b.mode() == LayerSpec.Mode.TRAIN) {
        String n = nodes.get(i).name();
        r.add(new Entry(n + ".running_mean", new int[] {b.features()}, false, i));
        r.add(new Entry(n + ".running_var", new int[] {b.features()}, false, i));
      }
    }
    this.runningStatistics = List.copyOf(r);
  }

  private static void addEntries(int i, Node node, List<Entry> e) {
    LayerSpec l = node.op();
    String n = node.name();
    if (l instanceof LayerSpec.Dense d) {
      e.add(new Entry(n + ".weight", new int[] {d.out(), d.in()}, true, i));
      if (d.bias()) {
        e.add(new Entry(n + ".bias", new int[] {d.out()}, true, i));
      }
    } else if (l instanceof LayerSpec.Conv2d c) {
      e.add(
          new Entry(
              n + ".weight", new int[] {c.out(), c.in(), c.kernelH(), c.kernelW()}, true, i));
      if (c.bias()) {
        e.add(new Entry(n + ".bias", new int[] {c.out()}, true, i));
      }
    } else if (l instanceof LayerSpec.Lstm r) {
      int g = 4 * r.hidden();
      for (int k = 0; k < r.numLayers(); k++) {
        e.add(new Entry(n + ".weight_ih_l" + k, new int[] {g, r.inputSizeOf(k)}, true, i));
        e.add(new Entry(n + ".weight_hh_l" + k, new int[] {g, r.hidden()}, true, i));
        e.add(new Entry(n + ".bias_l" + k, new int[] {g}, true, i));
      }
    } else if (l instanceof LayerSpec.BatchNorm b) {
      e.add(new Entry(n + ".weight", new int[] {b.features()}, true, i));
      e.add(new Entry(n + ".bias", new int[] {b.features()}, true, i));
      if (b.mode() == LayerSpec.Mode.EVAL) {
        e.add(new Entry(n + ".running_mean", new int[] {b.features()}, false, i));
        e.add(new Entry(n + ".running_var", new int[] {b.features()}, false, i));
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
   * The op of every node, in node order: the layers of a sequential model. For a graph model
   * {@code layers().get(i)} is the op of {@code nodes().get(i)}, whose inputs are given by
   * {@link #inputsOf(int)}; a backend that builds a chain from this list must check {@link
   * #isSequential()} first.
   *
   * @return an unmodifiable list of at least one op
   */
  public List<LayerSpec> layers() {
    return layers;
  }

  /**
   * The nodes, in their topological order (the case file's); the last is the output. A
   * sequential model's nodes are named {@code "0"}, {@code "1"}, ... and each takes the previous
   * one's output.
   *
   * @return an unmodifiable list of at least one node, every input listed explicitly
   */
  public List<Node> nodes() {
    return nodes;
  }

  /**
   * Whether the model is a chain: node {@code i} named {@code "i"} taking node {@code i − 1}'s
   * output (or the input, for node 0). Such a spec is written as a {@code sgdph-case/1} layer
   * list.
   *
   * @return true for a sequential model
   */
  public boolean isSequential() {
    return sequential;
  }

  /**
   * The indices of node {@code i}'s inputs, in order; {@code -1} stands for the network's input.
   *
   * @param i a node index
   * @return a new array, each entry smaller than {@code i}
   * @throws IndexOutOfBoundsException if {@code i} is out of range
   */
  public int[] inputsOf(int i) {
    return inputIndices[i].clone();
  }

  /**
   * The per-sample output shape of node {@code i}.
   *
   * @param i a node index
   * @return a new array
   * @throws IndexOutOfBoundsException if {@code i} is out of range
   */
  public int[] outputShapeOf(int i) {
    return outputShapes.get(i).clone();
  }

  /**
   * The index of the node of a name.
   *
   * @param name a node's name
   * @return its index in {@link #nodes()}, or -1 if there is no such node
   */
  public int indexOf(String name) {
    for (int i = 0; i < nodes.size(); i++) {
      if (nodes.get(i).name().equals(name)) {
        return i;
      }
    }
    return -1;
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
   * The per-sample input shape of node {@code i} (of its first input; an add's inputs all have
   * this shape); {@code i == layers().size()} gives the output. For a sequential model this is
   * the shape between layers {@code i − 1} and {@code i}.
   *
   * @param i a node index, from 0 to {@code layers().size()} inclusive
   * @return a new array: the shape of the samples entering node {@code i}
   * @throws IndexOutOfBoundsException if {@code i} is out of range
   */
  public int[] shapeBefore(int i) {
    if (i == nodes.size()) {
      return outputShape();
    }
    int j = inputIndices[i][0];
    return (j < 0 ? inputShape : outputShapes.get(j)).clone();
  }

  /**
   * The per-sample output shape ({@code [k]}).
   *
   * @return a new one-element array: the number of outputs per sample
   */
  public int[] outputShape() {
    return outputShapes.get(outputShapes.size() - 1).clone();
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
   * @return an unmodifiable list, in node order, mean before variance; empty without
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
      if (e.role().equals("running_var")) {
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
        && nodes.equals(m.nodes)
        && loss == m.loss;
  }

  @Override
  public int hashCode() {
    return Objects.hash(Arrays.hashCode(inputShape), nodes, loss);
  }

  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder("ModelSpec" + Arrays.toString(inputShape));
    if (sequential) {
      for (LayerSpec l : layers) {
        sb.append(" -> ").append(l);
      }
    } else {
      for (Node n : nodes) {
        sb.append(" | ").append(n.name()).append(" = ").append(n.op()).append(n.inputs());
      }
    }
    return sb.append(" | ").append(loss.jsonName()).toString();
  }
}
