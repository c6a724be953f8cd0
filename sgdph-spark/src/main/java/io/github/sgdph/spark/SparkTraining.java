package io.github.sgdph.spark;

import io.github.sgdph.curvature.Objective;
import io.github.sgdph.data.Dataset;
import io.github.sgdph.data.EpochOrder;
import io.github.sgdph.optim.Optimizer;
import io.github.sgdph.optim.StepReport;
import io.github.sgdph.train.EpochResult;
import io.github.sgdph.train.Evaluation;
import io.github.sgdph.train.StepEvent;
import io.github.sgdph.train.TrainingListener;
import io.github.sgdph.train.TrainingReport;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Mini-batch training of a {@link SparkModel}: the loop of {@link io.github.sgdph.train.Training}
 * (docs/TRAINING.md) with the samples on the executors. Epoch {@code e} visits the dataset in
 * {@link EpochOrder#shuffled}{@code (N, seed, e)}; each mini-batch is a set of global indices, so
 * a partition computes on the samples of the batch it holds. One step: the batch's objective,
 * then (train-mode batch norm) {@link Objective#updateRunningStatistics()}, then the optimizer's
 * step, on the objective and, with {@link Builder#curvatureBatchSize}, the sub-batch of its first
 * samples. After every epoch the driver's replica is evaluated in evaluation mode on the test
 * set (on the driver). Without batch norm a run equals {@code Training} on one machine with the
 * same seed and batch size (to rounding: the sums are taken per partition).
 *
 * <p>No checkpoints here: save {@link SparkModel#driverModel()}'s parameters and the optimizer's
 * state as {@code Training} does if a run must survive the driver.
 */
public final class SparkTraining {
  private static final Logger LOG = LoggerFactory.getLogger(SparkTraining.class);

  private final SparkModel model;
  private final Optimizer optimizer;
  private final Dataset test;
  private final int epochs;
  private final int batchSize;
  private final int curvatureBatchSize;
  private final long seed;
  private final boolean dropLast;
  private final int evaluationBatchSize;
  private final List<TrainingListener> listeners;

  private SparkTraining(Builder b) {
    this.model = b.model;
    this.optimizer = b.optimizer;
    this.test = b.test;
    this.epochs = b.epochs;
    this.batchSize = b.batchSize;
    this.curvatureBatchSize = b.curvatureBatchSize;
    this.seed = b.seed;
    this.dropLast = b.dropLast;
    this.evaluationBatchSize = b.evaluationBatchSize;
    this.listeners = List.copyOf(b.listeners);
  }

  /**
   * A builder; the model and the optimizer are required.
   *
   * @return a new builder
   */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * The number of steps per epoch.
   *
   * @return {@code ⌈N / batch⌉}, or {@code ⌊N / batch⌋} with {@code dropLast}
   */
  public int batchesPerEpoch() {
    int n = model.dataset().size();
    return dropLast ? n / batchSize : (n + batchSize - 1) / batchSize;
  }

  /**
   * Runs every epoch.
   *
   * @return the epochs' results; stopped early (not completed) on a non-finite step, with the
   *     parameters of the last good step
   */
  public TrainingReport run() {
    int n = model.dataset().size();
    boolean tracksStatistics = !model.driverModel().spec().runningStatistics().isEmpty();
    int batches = batchesPerEpoch();
    long step = 0;
    List<EpochResult> done = new ArrayList<>();
    for (int epoch = 0; epoch < epochs; epoch++) {
      int[] order = EpochOrder.shuffled(n, seed, epoch);
      for (TrainingListener l : listeners) {
        l.epochStarted(epoch, batches, 0);
      }
      long epochStart = System.nanoTime();
      double lossSum = 0;
      for (int b = 0; b < batches; b++) {
        long t0 = System.nanoTime();
        int from = b * batchSize;
        int[] idx = Arrays.copyOfRange(order, from, Math.min(n, from + batchSize));
        StepReport r;
        try {
          Objective o = model.objective(idx);
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
        StepEvent ev = new StepEvent(epoch, b, batches, step, idx.length, r,
            (System.nanoTime() - t0) * 1e-9);
        for (TrainingListener l : listeners) {
          l.stepped(ev);
        }
      }
      double seconds = (System.nanoTime() - epochStart) * 1e-9;
      long evalStart = System.nanoTime();
      Evaluation ev = test == null
          ? null : Evaluation.of(model.driverModel(), test, evaluationBatchSize);
      EpochResult res = new EpochResult(epoch, step, lossSum / batches, ev, seconds,
          (System.nanoTime() - evalStart) * 1e-9);
      done.add(res);
      LOG.debug("epoch {}: train loss {}, test {}", epoch, res.trainLoss(), ev);
      for (TrainingListener l : listeners) {
        l.epochEnded(res);
      }
    }
    return new TrainingReport(done, step, true, null);
  }

  private static int[] firstIndices(int k) {
    int[] p = new int[k];
    for (int i = 0; i < k; i++) {
      p[i] = i;
    }
    return p;
  }

  /** Configures a {@link SparkTraining}. */
  public static final class Builder {
    private SparkModel model;
    private Optimizer optimizer;
    private Dataset test;
    private int epochs = 1;
    private int batchSize = 128;
    private int curvatureBatchSize;
    private long seed;
    private boolean dropLast;
    private int evaluationBatchSize = 1000;
    private final List<TrainingListener> listeners = new ArrayList<>();

    private Builder() {}

    /**
     * The distributed model (its dataset is the training set).
     *
     * @param model the model
     * @return this builder
     */
    public Builder model(SparkModel model) {
      this.model = Objects.requireNonNull(model, "model");
      return this;
    }

    /**
     * The optimizer.
     *
     * @param optimizer any optimizer
     * @return this builder
     */
    public Builder optimizer(Optimizer optimizer) {
      this.optimizer = Objects.requireNonNull(optimizer, "optimizer");
      return this;
    }

    /**
     * The held-out set, evaluated on the driver after every epoch.
     *
     * @param test the test set, or null for none
     * @return this builder
     */
    public Builder testData(Dataset test) {
      this.test = test;
      return this;
    }

    /**
     * The number of epochs.
     *
     * @param epochs at least 1
     * @return this builder
     */
    public Builder epochs(int epochs) {
      this.epochs = positive(epochs, "epochs");
      return this;
    }

    /**
     * The global mini-batch size (over all partitions).
     *
     * @param batchSize at least 1
     * @return this builder
     */
    public Builder batchSize(int batchSize) {
      this.batchSize = positive(batchSize, "batchSize");
      return this;
    }

    /**
     * The curvature mini-batch: the first {@code n} samples of each batch; 0 for the optimizer's
     * own choice.
     *
     * @param n at least 0
     * @return this builder
     */
    public Builder curvatureBatchSize(int n) {
      if (n < 0) {
        throw new IllegalArgumentException("curvatureBatchSize: must be >= 0 but was " + n);
      }
      this.curvatureBatchSize = n;
      return this;
    }

    /**
     * The seed of the epochs' sample orders.
     *
     * @param seed any value
     * @return this builder
     */
    public Builder seed(long seed) {
      this.seed = seed;
      return this;
    }

    /**
     * Whether an epoch's last, smaller mini-batch is skipped.
     *
     * @param dropLast true to skip it
     * @return this builder
     */
    public Builder dropLast(boolean dropLast) {
      this.dropLast = dropLast;
      return this;
    }

    /**
     * The batch size of the evaluation.
     *
     * @param n at least 1
     * @return this builder
     */
    public Builder evaluationBatchSize(int n) {
      this.evaluationBatchSize = positive(n, "evaluationBatchSize");
      return this;
    }

    /**
     * Adds a listener.
     *
     * @param l the listener
     * @return this builder
     */
    public Builder listener(TrainingListener l) {
      listeners.add(Objects.requireNonNull(l, "listener"));
      return this;
    }

    /**
     * Validates the settings.
     *
     * @return the training run
     * @throws IllegalArgumentException naming the missing or inconsistent setting
     */
    public SparkTraining build() {
      if (model == null) {
        throw new IllegalArgumentException("model: not set");
      }
      if (optimizer == null) {
        throw new IllegalArgumentException("optimizer: not set");
      }
      int n = model.dataset().size();
      if (dropLast && batchSize > n) {
        throw new IllegalArgumentException("batchSize: " + batchSize + " exceeds the "
            + n + " samples with dropLast: no batch would run");
      }
      return new SparkTraining(this);
    }

    private static int positive(int v, String name) {
      if (v < 1) {
        throw new IllegalArgumentException(name + ": must be at least 1 but was " + v);
      }
      return v;
    }
  }
}
