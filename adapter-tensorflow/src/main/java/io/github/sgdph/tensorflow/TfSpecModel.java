package io.github.sgdph.tensorflow;

import io.github.sgdph.cases.CaseFile;
import io.github.sgdph.data.ArrayBatch;
import io.github.sgdph.model.LayerSpec;
import io.github.sgdph.model.LossKind;
import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.model.NamedArray;
import io.github.sgdph.model.SpecModel;
import io.github.sgdph.param.ParameterLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.tensorflow.Output;
import org.tensorflow.Session;
import org.tensorflow.Tensor;

/**
 * A network of the neutral spec computed by TensorFlow Java in graph mode (see {@link
 * SpecGraph} for how each layer and loss is written), with exact gradients and curvature
 * products from the subgraphs of {@link CurvatureGraph}. Built by {@link TfBackend}.
 *
 * <p>Trainable parameters are TensorFlow tensors in PyTorch layout; the running statistics of
 * an eval-mode batch norm are constants of the graph, exported unchanged. The running statistics
 * of the train-mode batch norms ({@link #runningStatistics()}) are tensors of the model's dtype,
 * fed to placeholders of the graph: {@link #predict} runs the graph's evaluation-mode output op
 * (a second forward chain built once with the graph, without gradients) and {@link
 * TfObjective#updateRunningStatistics()} fetches their PyTorch update from the training-mode
 * forward pass; no other run changes them. Not thread-safe.
 */
public final class TfSpecModel extends TfModelBase<ArrayBatch> implements SpecModel {
  private final ModelSpec spec;
  private final List<NamedArray> entries;
  private final int[] blockEntry;
  private final SpecGraph graph;
  /** The tracked running statistics, in {@link ModelSpec#runningStatistics()} order. */
  private TfTensor[] running;

  private TfSpecModel(
      ModelSpec spec, List<NamedArray> entries, TfAlgebra algebra, ParameterLayout layout,
      SpecGraph g, TfTensor[] initial, int[] blockEntry, TfDevice device) {
    super(algebra, layout, g.graph, g.program, g.inputs, initial, device);
    this.spec = spec;
    this.entries = List.copyOf(entries);
    this.blockEntry = blockEntry;
    this.graph = g;
    this.running = upload(algebra, spec.initialRunningStatistics());
  }

  @Override
  SpecGraph specGraph() {
    return graph;
  }

  private static TfTensor[] upload(TfAlgebra algebra, List<NamedArray> values) {
    TfTensor[] out = new TfTensor[values.size()];
    try {
      for (int i = 0; i < out.length; i++) {
        out[i] = algebra.fromArray(values.get(i).valuesView(), values.get(i).shape());
      }
    } catch (RuntimeException | Error e) {
      closeAll(out);
      throw e;
    }
    return out;
  }

  /** Builds the model; {@code parameters} have been validated against {@code spec}. */
  static TfSpecModel build(
      ModelSpec spec, List<NamedArray> parameters, TfAlgebra algebra, TfDevice device) {
    ParameterLayout layout = spec.layout();
    int[] blockEntry = new int[layout.blockCount()];
    TfTensor[] initial = new TfTensor[layout.blockCount()];
    int b = 0;
    for (int e = 0; e < parameters.size(); e++) {
      NamedArray p = parameters.get(e);
      if (p.trainable()) {
        blockEntry[b] = e;
        initial[b++] = algebra.fromArray(p.valuesView(), p.shape());
      }
    }
    SpecGraph g;
    try {
      g = SpecGraph.build(spec, parameters, algebra);
    } catch (RuntimeException | Error ex) {
      closeAll(initial);
      throw ex;
    }
    try {
      return new TfSpecModel(spec, parameters, algebra, layout, g, initial, blockEntry, device);
    } catch (RuntimeException | Error ex) {
      closeAll(initial);
      g.graph.close();
      throw ex;
    }
  }

  @Override
  public ModelSpec spec() {
    return spec;
  }

  @Override
  HostBatch hostBatch(ArrayBatch batch) {
    CaseFile.validateBatch(spec, batch, "batch");
    int n = batch.size();
    int k = spec.outputShape()[0];
    double[] y;
    if (spec.loss() == LossKind.SOFTMAX_CROSS_ENTROPY) {
      y = new double[n * k];
      double[] labels = batch.yView();
      for (int i = 0; i < n; i++) {
        y[i * k + (int) labels[i]] = 1.0;
      }
    } else {
      y = batch.yView();
    }
    return new HostBatch(List.of(batch.xView(), y), List.of(batch.xShape(), new int[] {n, k}));
  }

  /** A runner fed with the batch, the parameters and the running statistics. */
  private Session.Runner runner(Tensor[] in) {
    Session.Runner r = runner(in, null, null);
    for (int i = 0; i < running.length; i++) {
      r.feed(graph.running.get(i), running[i].tensorflowTensor());
    }
    return r;
  }

  @Override
  public double[] predict(ArrayBatch batch) {
    ensureOpen();
    Objects.requireNonNull(batch, "batch");
    Tensor[] in = hostBatch(batch).upload(algebra());
    try (TfTensor z = adoptAll(runner(in).fetch(graph.evalOutputs).run(), 0)[0]) {
      return z.toDoubleArray();
    } finally {
      HostBatch.close(in);
    }
  }

  @Override
  public List<NamedArray> runningStatistics() {
    ensureOpen();
    List<ModelSpec.Entry> es = spec.runningStatistics();
    List<NamedArray> out = new ArrayList<>(es.size());
    for (int i = 0; i < es.size(); i++) {
      out.add(new NamedArray(es.get(i).name(), es.get(i).shape(), running[i].toDoubleArray(),
          false));
    }
    return out;
  }

  @Override
  public void setRunningStatistics(List<NamedArray> values) {
    ensureOpen();
    spec.validateRunningStatistics(values);
    TfTensor[] next = upload(algebra(), values);
    closeAll(running);
    running = next;
  }

  @Override
  void updateRunningStatistics(HostBatch batch) {
    if (running.length == 0) {
      return;
    }
    int n = batch.size();
    for (int l = 0; l < spec.layers().size(); l++) {
      if (spec.layers().get(l) instanceof LayerSpec.BatchNorm b
          && b.mode() == LayerSpec.Mode.TRAIN && valuesPerChannel(l, n) < 2) {
        throw new IllegalArgumentException(
            "batch: layer " + spec.nodes().get(l).name()
                + " (batchnorm) sees one value per channel; the running"
                + " variance needs at least two (use a batch of at least 2 samples)");
      }
    }
    Tensor[] in = batch.upload(algebra());
    TfTensor[] next;
    try {
      Session.Runner r = runner(in);
      for (Output<?> u : graph.updated) {
        r.fetch(u);
      }
      next = adoptAll(r.run(), 0);
    } finally {
      HostBatch.close(in);
    }
    closeAll(running);
    running = next;
  }

  /** {@code M = N·H·W}: the values per channel a batch norm at layer {@code l} sees. */
  private int valuesPerChannel(int l, int n) {
    int[] s = spec.shapeBefore(l);
    int spatial = 1;
    for (int i = 1; i < s.length; i++) {
      spatial *= s[i];
    }
    return n * spatial;
  }

  @Override
  public void close() {
    if (!isClosed()) {
      closeAll(running);
    }
    super.close();
  }

  @Override
  public List<NamedArray> exportParameters() {
    ensureOpen();
    List<NamedArray> out = new ArrayList<>(entries);
    try (var p = parameters()) {
      for (int b = 0; b < blockEntry.length; b++) {
        NamedArray e = entries.get(blockEntry[b]);
        out.set(blockEntry[b],
            new NamedArray(e.name(), e.shape(), p.block(b).toDoubleArray(), true));
      }
    }
    return out;
  }

  @Override
  public String toString() {
    return "TfSpecModel[" + algebra().dtype().jsonName() + ", " + spec + "]";
  }
}
