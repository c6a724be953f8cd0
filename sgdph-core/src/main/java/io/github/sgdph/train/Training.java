package io.github.sgdph.train;

import io.github.sgdph.curvature.CurvatureModel;
import io.github.sgdph.curvature.Objective;
import io.github.sgdph.data.ArrayBatch;
import io.github.sgdph.data.Dataset;
import io.github.sgdph.data.EpochOrder;
import io.github.sgdph.model.LayerSpec;
import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.model.NamedArray;
import io.github.sgdph.model.SpecModel;
import io.github.sgdph.optim.Optimizer;
import io.github.sgdph.optim.StepReport;
import io.github.sgdph.param.ParameterVector;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Mini-batch training of a {@link SpecModel} with any {@link Optimizer}: epochs over a {@link
 * Dataset} in a seeded random order ({@link EpochOrder}), one optimizer step per mini-batch,
 * evaluation on a held-out set after every epoch ({@link Evaluation}: loss and accuracy in
 * evaluation mode), listeners, checkpoints, and exact resumption.
 *
 * <p>One step, as PyTorch's {@code model.train(); loss = crit(model(x), y); opt.step(closure)}:
 * the mini-batch becomes an objective ({@link SpecModel#objective}); if the model has train-mode
 * batch norm, its running statistics absorb the batch's statistics at the step's starting
 * parameters ({@link Objective#updateRunningStatistics()}); the optimizer steps on the objective,
 * or on the objective and a curvature sub-batch of its first samples ({@link
 * Builder#curvatureBatchSize}) for the methods that take one.
 *
 * <p>A step whose loss, gradient or update is not finite (the optimizers refuse it with an
 * {@link ArithmeticException} before anything reaches the parameters) ends the run: the report
 * says where ({@link TrainingReport#stopReason()}), and the model keeps the parameters of the
 * last good step.
 *
 * <p>Resuming ({@link Builder#resume}) restores parameters, running statistics and optimizer
 * state and continues at the saved epoch and mini-batch; the data order depends only on the seed
 * and epoch, so the resumed run takes exactly the steps the uninterrupted one would have.
 *
 * <p>The mini-batches come from a {@link Dataset} ({@link Builder#trainingData}: each batch's
 * samples are gathered and handed to the model), or from a model that evaluates a batch of
 * sample indices where the samples are ({@link Builder#trainingObjectives}, e.g. {@code
 * sgdph-spark}'s {@code SparkModel}, whose samples sit on a cluster's executors): the loop,
 * checkpoints and resumption are the same.
 */
public final class Training {
  private static final Logger LOG = LoggerFactory.getLogger(Training.class);

  private final SpecModel model;
  private final Optimizer optimizer;
  private final Dataset train;
  private final CurvatureModel<int[]> indexed;
  private final int trainingSize;
  private final Dataset test;
  private final int epochs;
  private final int batchSize;
  private final int evaluationBatchSize;
  private final int curvatureBatchSize;
  private final boolean shuffle;
  private final boolean dropLast;
  private final long seed;
  private final List<TrainingListener> listeners;
  private final CheckpointSink sink;
  private final int checkpointEvery;
  private final TrainingState resume;

  private Training(Builder b) {
    this.model = b.model;
    this.optimizer = b.optimizer;
    this.train = b.train;
    this.indexed = b.indexed;
    this.trainingSize = b.train != null ? b.train.size() : b.indexedSize;
    this.test = b.test;
    this.epochs = b.epochs;
    this.batchSize = b.batchSize;
    this.evaluationBatchSize = b.evaluationBatchSize;
    this.curvatureBatchSize = b.curvatureBatchSize;
    this.shuffle = b.shuffle;
    this.dropLast = b.dropLast;
    this.seed = b.seed;
    this.listeners = List.copyOf(b.listeners);
    this.sink = b.sink;
    this.checkpointEvery = b.checkpointEvery;
    this.resume = b.resume;
  }

  /**
   * A builder; model, optimizer and training data are required.
   *
   * @return a new builder with the defaults listed on its setters
   */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * The number of mini-batches per epoch.
   *
   * @return {@code ⌈size / batchSize⌉}, or {@code ⌊size / batchSize⌋} when the last partial
   *     batch is dropped
   */
  public int batchesPerEpoch() {
    return batchesPerEpoch(trainingSize, batchSize, dropLast);
  }

  private static int batchesPerEpoch(int n, int batchSize, boolean dropLast) {
    return dropLast ? n / batchSize : (n + batchSize - 1) / batchSize;
  }

  /**
   * The run's complete state now (between steps): what a checkpoint holds.
   *
   * @param epoch the epoch of the next step
   * @param batch the mini-batch of the next step
   * @param step the steps taken
   * @param epochLossSum the current epoch's loss sum so far
   * @return the state
   */
  private TrainingState state(int epoch, int batch, long step, double epochLossSum) {
    return new TrainingState(
        model.spec(), model.algebra().backendName(), model.algebra().dtype(), seed, batchSize,
        trainingSize, epoch, batch, step, epochLossSum, model.exportParameters(),
        model.runningStatistics(), optimizer.saveState());
  }

  /**
   * Runs the remaining epochs.
   *
   * @return how the run ended
   * @throws RuntimeException from a listener, the checkpoint sink or the backend (other than a
   *     non-finite step, which ends the run with a report)
   */
  public TrainingReport run() {
    int epoch = 0;
    int firstBatch = 0;
    long step = 0;
    double lossSum = 0;
    if (resume != null) {
      restore(resume);
      epoch = resume.epoch();
      firstBatch = resume.batch();
      step = resume.step();
      lossSum = resume.epochLossSum();
      LOG.debug("resuming at epoch {}, batch {} (step {})", epoch, firstBatch, step);
    }
    boolean tracksStatistics = !model.spec().runningStatistics().isEmpty();
    int batches = batchesPerEpoch();
    List<EpochResult> done = new ArrayList<>();
    for (; epoch < epochs; epoch++, firstBatch = 0, lossSum = 0) {
      int[] order = shuffle ? EpochOrder.shuffled(trainingSize, seed, epoch)
          : firstIndices(trainingSize);
      for (TrainingListener l : listeners) {
        l.epochStarted(epoch, batches, firstBatch);
      }
      long epochStart = System.nanoTime();
      int counted = firstBatch;
      for (int b = firstBatch; b < batches; b++) {
        long t0 = System.nanoTime();
        int from = b * batchSize;
        int[] idx = Arrays.copyOfRange(order, from, Math.min(trainingSize, from + batchSize));
        StepReport r;
        try {
          Objective o = objective(idx);
          if (tracksStatistics) {
            o.updateRunningStatistics();
          }
          r = curvatureBatchSize > 0 && curvatureBatchSize < idx.length
              ? optimizer.step(o, o.subBatch(firstIndices(curvatureBatchSize)))
              : optimizer.step(o);
        } catch (ArithmeticException e) {
          String why = "epoch " + epoch + ", batch " + b + " (step " + (step + 1) + "): "
              + e.getMessage() + "; the parameters are those after step " + step;
          LOG.warn("training stopped: {}", why);
          return new TrainingReport(done, step, false, "non-finite step at " + why);
        }
        step++;
        lossSum += r.loss();
        counted++;
        StepEvent ev = new StepEvent(epoch, b, batches, step, idx.length, r,
            (System.nanoTime() - t0) * 1e-9);
        for (TrainingListener l : listeners) {
          l.stepped(ev);
        }
        if (sink != null && checkpointEvery > 0 && step % checkpointEvery == 0
            && b + 1 < batches) {
          checkpoint(state(epoch, b + 1, step, lossSum));
        }
      }
      double seconds = (System.nanoTime() - epochStart) * 1e-9;
      long evalStart = System.nanoTime();
      Evaluation ev = test == null ? null : Evaluation.of(model, test, evaluationBatchSize);
      double evalSeconds = (System.nanoTime() - evalStart) * 1e-9;
      EpochResult res = new EpochResult(epoch, step, lossSum / counted, ev, seconds, evalSeconds);
      done.add(res);
      LOG.debug("epoch {}: train loss {}, test {}", epoch, res.trainLoss(), ev);
      for (TrainingListener l : listeners) {
        l.epochEnded(res);
      }
      if (sink != null) {
        checkpoint(state(epoch + 1, 0, step, 0));
      }
    }
    return new TrainingReport(done, step, true, null);
  }

  private void checkpoint(TrainingState s) {
    sink.save(s);
    for (TrainingListener l : listeners) {
      l.checkpointed(s);
    }
  }

  /** The mini-batch of these training-sample indices as an objective. */
  private Objective objective(int[] indices) {
    if (indexed != null) {
      return indexed.objective(indices);
    }
    ArrayBatch batch = train.batch(indices);
    return model.objective(batch);
  }

  private static int[] firstIndices(int n) {
    int[] p = new int[n];
    for (int i = 0; i < n; i++) {
      p[i] = i;
    }
    return p;
  }

  private void restore(TrainingState s) {
    ModelSpec spec = model.spec();
    List<String> differences = new ArrayList<>();
    if (!s.spec().equals(spec)) {
      differences.add("model: saved " + s.spec() + ", this run's " + spec);
    }
    if (!s.backend().equals(model.algebra().backendName())) {
      differences.add(
          "backend: saved " + s.backend() + ", this run's " + model.algebra().backendName());
    }
    if (s.dtype() != model.algebra().dtype()) {
      differences.add("dtype: saved " + s.dtype() + ", this run's " + model.algebra().dtype());
    }
    if (!s.optimizer().optimizer().equals(optimizer.name())) {
      differences.add(
          "optimizer: saved " + s.optimizer().optimizer() + ", this run's " + optimizer.name());
    }
    if (s.seed() != seed) {
      differences.add("seed: saved " + s.seed() + ", this run's " + seed);
    }
    if (s.batchSize() != batchSize) {
      differences.add("batch size: saved " + s.batchSize() + ", this run's " + batchSize);
    }
    if (s.trainingSize() != trainingSize) {
      differences.add(
          "training samples: saved " + s.trainingSize() + ", this run's " + trainingSize);
    }
    if (s.batch() > batchesPerEpoch()) {
      differences.add("batch: saved " + s.batch() + " but an epoch has " + batchesPerEpoch());
    }
    if (!differences.isEmpty()) {
      throw new IllegalArgumentException(
          "resume: the checkpoint is of another run: " + String.join("; ", differences));
    }
    double[] flat = trainableValues(s.parameters());
    try (ParameterVector p = ParameterVector.fromArray(model.algebra(), model.layout(), flat)) {
      optimizer.restoreState(s.optimizer());
      if (indexed != null) {
        indexed.setParameters(p); // the indexed model's own bookkeeping sees the change
      } else {
        model.setParameters(p);
      }
      model.setRunningStatistics(s.runningStatistics());
    }
  }

  private static double[] trainableValues(List<NamedArray> params) {
    int n = 0;
    for (NamedArray a : params) {
      if (a.trainable()) {
        n += a.valuesView().length;
      }
    }
    double[] flat = new double[n];
    int o = 0;
    for (NamedArray a : params) {
      if (a.trainable()) {
        double[] v = a.valuesView();
        System.arraycopy(v, 0, flat, o, v.length);
        o += v.length;
      }
    }
    return flat;
  }

  /** The settings of a {@link Training} run, validated when set. */
  public static final class Builder {
    private SpecModel model;
    private Optimizer optimizer;
    private Dataset train;
    private CurvatureModel<int[]> indexed;
    private int indexedSize;
    private Dataset test;
    private int epochs = 1;
    private int batchSize = 128;
    private int evaluationBatchSize = 1000;
    private int curvatureBatchSize;
    private boolean shuffle = true;
    private boolean dropLast;
    private long seed = 42;
    private final List<TrainingListener> listeners = new ArrayList<>();
    private CheckpointSink sink;
    private int checkpointEvery;
    private TrainingState resume;

    private Builder() {}

    /**
     * The model to train (required).
     *
     * @param model a spec model of any backend
     * @return this builder
     */
    public Builder model(SpecModel model) {
      this.model = Objects.requireNonNull(model, "model");
      return this;
    }

    /**
     * The optimizer (required); a fresh one, or one whose state {@link #resume} restores.
     *
     * @param optimizer the optimizer
     * @return this builder
     */
    public Builder optimizer(Optimizer optimizer) {
      this.optimizer = Objects.requireNonNull(optimizer, "optimizer");
      return this;
    }

    /**
     * The training data (required).
     *
     * @param train samples fitting the model's input and label shapes
     * @return this builder
     */
    public Builder trainingData(Dataset train) {
      this.train = Objects.requireNonNull(train, "trainingData");
      return this;
    }

    /**
     * The training data as a model that evaluates batches of sample indices itself (instead of
     * {@link #trainingData}): each mini-batch is {@code objectives.objective(indices)}, indices
     * in {@code [0, size)}. The {@link #model} is then the one holding the parameters and
     * running statistics that {@code objectives} evaluates at (checkpoints read them from it and
     * the evaluation on the test set runs on it); a resumed run sets the parameters through
     * {@code objectives.setParameters}. Used by {@code sgdph-spark} (samples on executors).
     *
     * @param objectives the indexed model
     * @param size the number of training samples, positive
     * @return this builder
     * @throws IllegalArgumentException if {@code size} is not positive
     */
    public Builder trainingObjectives(CurvatureModel<int[]> objectives, int size) {
      this.indexed = Objects.requireNonNull(objectives, "trainingObjectives");
      this.indexedSize = positive(size, "size");
      return this;
    }

    /**
     * The held-out data evaluated after every epoch (default none).
     *
     * @param test samples fitting the model, or null for none
     * @return this builder
     */
    public Builder testData(Dataset test) {
      this.test = test;
      return this;
    }

    /**
     * The number of epochs the run ends after, counting epochs of a resumed run (default 1).
     *
     * @param epochs positive
     * @return this builder
     * @throws IllegalArgumentException if not positive
     */
    public Builder epochs(int epochs) {
      this.epochs = positive(epochs, "epochs");
      return this;
    }

    /**
     * Samples per mini-batch (default 128).
     *
     * @param batchSize positive
     * @return this builder
     * @throws IllegalArgumentException if not positive
     */
    public Builder batchSize(int batchSize) {
      this.batchSize = positive(batchSize, "batchSize");
      return this;
    }

    /**
     * Samples per forward pass of the evaluation (default 1000; memory, not results).
     *
     * @param n positive
     * @return this builder
     * @throws IllegalArgumentException if not positive
     */
    public Builder evaluationBatchSize(int n) {
      this.evaluationBatchSize = positive(n, "evaluationBatchSize");
      return this;
    }

    /**
     * A curvature sub-batch: the first {@code n} samples of each mini-batch, handed to {@link
     * Optimizer#step(Objective, Objective)} (default 0: the optimizer decides; block-diagonal HF
     * then takes its own fraction).
     *
     * @param n 0 or positive; a value not below the batch size means the whole batch
     * @return this builder
     * @throws IllegalArgumentException if negative
     */
    public Builder curvatureBatchSize(int n) {
      if (n < 0) {
        throw new IllegalArgumentException("curvatureBatchSize: must be >= 0 but was " + n);
      }
      this.curvatureBatchSize = n;
      return this;
    }

    /**
     * Whether each epoch visits the samples in a seeded random order (default true) or in
     * dataset order.
     *
     * @param shuffle the choice
     * @return this builder
     */
    public Builder shuffle(boolean shuffle) {
      this.shuffle = shuffle;
      return this;
    }

    /**
     * Whether the last mini-batch of an epoch is skipped when it has fewer than {@link
     * #batchSize} samples (default false).
     *
     * @param dropLast the choice
     * @return this builder
     */
    public Builder dropLast(boolean dropLast) {
      this.dropLast = dropLast;
      return this;
    }

    /**
     * The seed of the data order (default 42).
     *
     * @param seed any value
     * @return this builder
     */
    public Builder seed(long seed) {
      this.seed = seed;
      return this;
    }

    /**
     * Adds a listener.
     *
     * @param listener called on the run's thread
     * @return this builder
     */
    public Builder listener(TrainingListener listener) {
      listeners.add(Objects.requireNonNull(listener, "listener"));
      return this;
    }

    /**
     * Checkpoints: after every epoch, and every {@code everySteps} steps within an epoch.
     *
     * @param sink where checkpoints go
     * @param everySteps 0 for epoch ends only, else positive
     * @return this builder
     * @throws IllegalArgumentException if {@code everySteps} is negative
     */
    public Builder checkpoints(CheckpointSink sink, int everySteps) {
      if (everySteps < 0) {
        throw new IllegalArgumentException(
            "everySteps: must be >= 0 but was " + everySteps);
      }
      this.sink = Objects.requireNonNull(sink, "sink");
      this.checkpointEvery = everySteps;
      return this;
    }

    /**
     * Continues a run from a checkpoint: {@link #run()} first restores the model's parameters,
     * running statistics and the optimizer's state, after checking that the checkpoint is of
     * this model, backend, dtype, optimizer, seed, batch size and training-set size (an
     * {@link IllegalArgumentException} lists every difference, and nothing is changed).
     *
     * @param state the saved state
     * @return this builder
     */
    public Builder resume(TrainingState state) {
      this.resume = Objects.requireNonNull(state, "state");
      return this;
    }

    /**
     * Builds the run.
     *
     * @return the run
     * @throws IllegalStateException naming a missing required setting
     * @throws IllegalArgumentException if the data do not fit the model, or a mini-batch would
     *     give a train-mode batch norm a single value per channel
     */
    public Training build() {
      if (model == null) {
        throw new IllegalStateException("model: required");
      }
      if (optimizer == null) {
        throw new IllegalStateException("optimizer: required");
      }
      if ((train == null) == (indexed == null)) {
        throw new IllegalStateException(train == null
            ? "trainingData: required (or trainingObjectives)"
            : "trainingData: given with trainingObjectives; set one of them");
      }
      ModelSpec spec = model.spec();
      int size;
      if (train != null) {
        fits(spec, train, "trainingData");
        size = train.size();
      } else {
        if (!indexed.layout().sameBlocksAs(model.layout())) {
          throw new IllegalArgumentException("trainingObjectives: parameter layout "
              + indexed.layout() + " differs from the model's " + model.layout());
        }
        size = indexedSize;
      }
      if (test != null) {
        fits(spec, test, "testData");
      }
      if (batchesPerEpoch(size, batchSize, dropLast) == 0) {
        throw new IllegalArgumentException(
            "batchSize: " + batchSize + " exceeds the " + size
                + " training samples and the last partial batch is dropped");
      }
      int last = dropLast ? batchSize : size % batchSize;
      if (needsTwo(spec) && (last == 1 || batchSize == 1 || curvatureBatchSize == 1)) {
        throw new IllegalArgumentException(
            "batchSize: a mini-batch (or curvature batch) of one sample leaves a train-mode"
                + " batch norm one value per channel; choose another batch size or dropLast");
      }
      return new Training(this);
    }

    private static boolean needsTwo(ModelSpec spec) {
      for (int l = 0; l < spec.layers().size(); l++) {
        if (spec.layers().get(l) instanceof LayerSpec.BatchNorm b
            && b.mode() == LayerSpec.Mode.TRAIN && spec.shapeBefore(l).length == 1) {
          return true;
        }
      }
      return false;
    }

    private static void fits(ModelSpec spec, Dataset d, String what) {
      if (!Arrays.equals(spec.inputShape(), d.sampleShape())) {
        throw new IllegalArgumentException(
            what + ": samples of " + Arrays.toString(d.sampleShape()) + " but the model takes "
                + Arrays.toString(spec.inputShape()));
      }
      int[] label = spec.loss() == io.github.sgdph.model.LossKind.SOFTMAX_CROSS_ENTROPY
          ? new int[0] : spec.outputShape();
      if (!Arrays.equals(label, d.labelShape())) {
        throw new IllegalArgumentException(
            what + ": labels of " + Arrays.toString(d.labelShape()) + " but the "
                + spec.loss().jsonName() + " loss needs " + Arrays.toString(label));
      }
    }

    private static int positive(int v, String what) {
      if (v < 1) {
        throw new IllegalArgumentException(what + ": must be positive but was " + v);
      }
      return v;
    }
  }
}
