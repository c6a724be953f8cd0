package io.github.sgdph.benchmarks;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.Block;
import ai.djl.nn.Blocks;
import ai.djl.nn.Parameter;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.BatchNorm;
import ai.djl.nn.pooling.Pool;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.GradientCollector;
import ai.djl.training.Trainer;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import io.github.sgdph.data.ArrayBatch;
import io.github.sgdph.model.LayerSpec;
import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.model.NamedArray;
import io.github.sgdph.tensor.DType;
import java.nio.Buffer;
import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * DJL's idiomatic training step: a {@link SequentialBlock} of DJL's own layers ({@code Linear},
 * {@code Conv2d}, {@code BatchNorm}, {@code Activation}, {@code Pool}, {@code batchFlatten}) in
 * a {@link Trainer} with {@link Loss#softmaxCrossEntropyLoss()} and {@link Optimizer#sgd()}
 * (fixed learning rate, momentum); each step is what {@code EasyTrain.trainBatch} does on one
 * device — {@link Trainer#forward}, the loss and its backward pass in a
 * {@link GradientCollector} — then {@link Trainer#step()}. The batch is in PyTorch memory once
 * (as sgdph's objective holds it), not copied per step as a {@code Dataset} would; its arrays
 * are attached to a sub-manager for each step, so that the step's intermediate arrays are freed
 * with it (what closing each {@code Batch} does in {@code EasyTrain.fit}).
 */
final class DjlNativeStep implements NativeStep {
  private final Model model;
  private final Trainer trainer;
  private final NDManager data;
  private final NDArray x;
  private final NDArray y;
  private final Map<String, Parameter> byEntry = new LinkedHashMap<>();
  private boolean closed;

  DjlNativeStep(ModelSpec spec, List<NamedArray> init, ArrayBatch batch, DType dtype, double lr,
      double momentum) {
    DataType dt = dtype == DType.FLOAT64 ? DataType.FLOAT64 : DataType.FLOAT32;
    SequentialBlock block = buildBlock(spec);
    Model m = Model.newInstance("sgdph-bench-native", Device.cpu(), "PyTorch");
    Trainer t = null;
    NDManager d = null;
    try {
      m.setDataType(dt);
      m.setBlock(block);
      Optimizer sgd = Optimizer.sgd()
          .setLearningRateTracker(Tracker.fixed((float) lr))
          .optMomentum((float) momentum)
          .build();
      t = m.newTrainer(new DefaultTrainingConfig(Loss.softmaxCrossEntropyLoss())
          .optOptimizer(sgd)
          .optDevices(new Device[] {Device.cpu()}));
      int[] xs = batch.xShape();
      long[] inShape = new long[xs.length];
      for (int i = 0; i < xs.length; i++) {
        inShape[i] = xs[i];
      }
      t.initialize(new Shape(inShape));
      if (dt == DataType.FLOAT64) {
        skipGradientCheck(t);
      }
      for (NamedArray a : init) {
        Parameter p = byEntry.get(a.name());
        if (p != null) {
          p.getArray().set(buffer(a.valuesView(), dt));
        }
      }
      d = m.getNDManager().newSubManager();
      this.x = d.create(buffer(batch.xView(), dt), new Shape(inShape), dt);
      // class labels as DJL's datasets give them (MNIST: float labels); the loss picks by index
      this.y = d.create(buffer(batch.yView(), dt), new Shape(batch.size()), dt);
    } catch (RuntimeException | Error e) {
      if (d != null) {
        d.close();
      }
      if (t != null) {
        t.close();
      }
      m.close();
      throw e;
    }
    this.model = m;
    this.trainer = t;
    this.data = d;
  }

  /**
   * DJL 0.35's {@code Trainer.step()} first runs a one-time sanity check of the gradients that
   * reads their sum with {@code getFloat}, which throws for float64 arrays ("DataType mismatch,
   * Required float, Actual float64"), so a float64 {@code Trainer} cannot step at all. The check
   * changes nothing; marking it done (its private flag) lets the rest of {@code step()} — the
   * parameter update — run as in float32.
   */
  private static void skipGradientCheck(Trainer t) {
    try {
      java.lang.reflect.Field f = Trainer.class.getDeclaredField("gradientsChecked");
      f.setAccessible(true);
      f.setBoolean(t, true);
    } catch (ReflectiveOperationException | RuntimeException e) {
      throw new IllegalStateException("--dtype: DJL's Trainer cannot step in float64 (its"
          + " gradient check reads a float) and its check flag was not found: " + e, e);
    }
  }

  private SequentialBlock buildBlock(ModelSpec spec) {
    SequentialBlock seq = new SequentialBlock();
    List<LayerSpec> layers = spec.layers();
    for (int i = 0; i < layers.size(); i++) {
      LayerSpec l = layers.get(i);
      String p = i + ".";
      if (l instanceof LayerSpec.Dense dense) {
        Linear lin = Linear.builder().setUnits(dense.out()).optBias(dense.bias()).build();
        seq.add(lin);
        byEntry.put(p + "weight", lin.getParameters().get("weight"));
        if (dense.bias()) {
          byEntry.put(p + "bias", lin.getParameters().get("bias"));
        }
      } else if (l instanceof LayerSpec.Conv2d c) {
        Conv2d conv = Conv2d.builder()
            .setKernelShape(new Shape(c.kernelH(), c.kernelW()))
            .optStride(new Shape(c.strideH(), c.strideW()))
            .optPadding(new Shape(c.padH(), c.padW()))
            .setFilters(c.out())
            .optBias(c.bias())
            .build();
        seq.add(conv);
        byEntry.put(p + "weight", conv.getParameters().get("weight"));
        if (c.bias()) {
          byEntry.put(p + "bias", conv.getParameters().get("bias"));
        }
      } else if (l instanceof LayerSpec.BatchNorm b && b.mode() == LayerSpec.Mode.TRAIN) {
        BatchNorm bn = BatchNorm.builder()
            .optEpsilon((float) b.eps())
            .optMomentum((float) (1 - b.momentum())) // DJL's momentum is PyTorch's 1 - momentum
            .build();
        seq.add(bn);
        byEntry.put(p + "weight", bn.getParameters().get("gamma"));
        byEntry.put(p + "bias", bn.getParameters().get("beta"));
      } else if (l instanceof LayerSpec.Activation a && a.kind() != LayerSpec.ActivationKind.SOFTPLUS) {
        Block act = switch (a.kind()) {
          case RELU -> Activation.reluBlock();
          case TANH -> Activation.tanhBlock();
          default -> Activation.sigmoidBlock();
        };
        seq.add(act);
      } else if (l instanceof LayerSpec.Pool2d q && q.kind() == LayerSpec.PoolKind.MAX) {
        seq.add(Pool.maxPool2dBlock(new Shape(q.kernelH(), q.kernelW()),
            new Shape(q.strideH(), q.strideW())));
      } else if (l instanceof LayerSpec.Flatten) {
        seq.add(Blocks.batchFlattenBlock());
      } else {
        throw new IllegalArgumentException(
            "layers[" + i + "]: the DJL baseline does not build " + l);
      }
    }
    return seq;
  }

  private static Buffer buffer(double[] v, DataType dt) {
    if (dt == DataType.FLOAT64) {
      return DoubleBuffer.wrap(v);
    }
    float[] f = new float[v.length];
    for (int i = 0; i < f.length; i++) {
      f[i] = (float) v[i];
    }
    return FloatBuffer.wrap(f);
  }

  @Override
  public String description() {
    return "DJL Trainer + Optimizer.sgd(): forward, loss, backward in a GradientCollector,"
        + " Trainer.step";
  }

  @Override
  public boolean nesterov() {
    return false;
  }

  @Override
  public void step() {
    try (NDManager stepManager = data.newSubManager()) {
      // the step's intermediate arrays attach to the inputs' manager: free them with the step
      x.tempAttach(stepManager);
      y.tempAttach(stepManager);
      NDList labels = new NDList(y);
      try (GradientCollector collector = trainer.newGradientCollector()) {
        NDList predictions = trainer.forward(new NDList(x), labels);
        collector.backward(trainer.getLoss().evaluate(labels, predictions));
      }
      trainer.step();
    }
  }

  @Override
  public Map<String, double[]> trainableParameters() {
    Map<String, double[]> out = new LinkedHashMap<>();
    for (Map.Entry<String, Parameter> e : byEntry.entrySet()) {
      NDArray a = e.getValue().getArray();
      try (NDArray d = a.toType(DataType.FLOAT64, true)) {
        out.put(e.getKey(), d.toDoubleArray());
      }
    }
    return out;
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    try {
      data.close();
      trainer.close();
    } finally {
      model.close();
    }
  }
}
