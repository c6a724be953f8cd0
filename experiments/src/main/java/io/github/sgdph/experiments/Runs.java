package io.github.sgdph.experiments;

import io.github.sgdph.data.Dataset;
import io.github.sgdph.model.DefaultInitializer;
import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.model.SpecBackend;
import io.github.sgdph.model.SpecModel;
import io.github.sgdph.optim.Optimizer;
import io.github.sgdph.optim.OptimizerSpec;
import io.github.sgdph.optim.Optimizers;
import io.github.sgdph.tensor.DType;
import io.github.sgdph.train.EpochResult;
import io.github.sgdph.train.Evaluation;
import io.github.sgdph.train.StepEvent;
import io.github.sgdph.train.Training;
import io.github.sgdph.train.TrainingListener;
import io.github.sgdph.train.TrainingReport;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Training runs of one experiment, each recorded epoch by epoch (and step by step). */
final class Runs {
  private static final Logger LOG = LoggerFactory.getLogger(Runs.class);

  private Runs() {}

  /**
   * A method under comparison: an optimizer with fixed hyper-parameters, and whether its
   * learning rate is chosen from the experiment's grid.
   *
   * @param label the name in tables and plots
   * @param optimizer the optimizer's name ({@link Optimizers})
   * @param hyperParameters fixed hyper-parameters (without {@code lr} when tuned)
   * @param tuned whether {@code lr} comes from the grid; else the optimizer's own default
   */
  record Method(String label, String optimizer, Map<String, Object> hyperParameters,
      boolean tuned) {
    Method {
      hyperParameters = Map.copyOf(hyperParameters);
    }

    /** The optimizer with learning rate {@code lr} (NaN: the method's own). */
    Optimizer create(double lr) {
      Map<String, Object> hp = new LinkedHashMap<>(hyperParameters);
      if (!Double.isNaN(lr)) {
        hp.put("lr", lr);
      }
      return Optimizers.create(new OptimizerSpec(optimizer, hp));
    }

    /** The hyper-parameters as {@code k=v} for the tables, with {@code lr} when given. */
    String describe(double lr) {
      Map<String, Object> hp = new java.util.TreeMap<>(hyperParameters);
      if (!Double.isNaN(lr)) {
        hp.put("lr", lr);
      }
      StringBuilder sb = new StringBuilder();
      hp.forEach((k, v) -> sb.append(sb.isEmpty() ? "" : " ").append(k).append('=').append(v));
      return sb.isEmpty() ? "defaults" : sb.toString();
    }
  }

  /**
   * What every run of an experiment shares.
   *
   * @param spec the model
   * @param backend where it runs
   * @param dtype its precision
   * @param splits the data
   * @param epochs epochs per run
   * @param batchSize mini-batch size
   * @param curvatureBatchSize curvature sub-batch (0: the optimizer's own choice)
   * @param recordSteps whether every step's loss and time is kept
   */
  record Setting(ModelSpec spec, SpecBackend backend, DType dtype, Splits splits, int epochs,
      int batchSize, int curvatureBatchSize, boolean recordSteps) {}

  /**
   * One epoch of a run.
   *
   * @param epoch 1-based
   * @param step steps taken so far
   * @param seconds training time so far (without evaluations)
   * @param trainLoss mean mini-batch loss of the epoch (train mode, before each step)
   * @param validation on the validation split
   * @param test on the test split
   */
  record EpochRow(int epoch, long step, double seconds, double trainLoss, Evaluation validation,
      Evaluation test) {}

  /**
   * One step of a run.
   *
   * @param step 1-based
   * @param seconds training time so far
   * @param loss the mini-batch loss before the step
   */
  record StepRow(long step, double seconds, double loss) {}

  /**
   * A finished (or stopped) run.
   *
   * @param method the method
   * @param lr the learning rate from the grid, NaN for an untuned method
   * @param seed the seed of initial parameters and data order
   * @param epochs its epochs
   * @param steps its steps, when recorded
   * @param stopReason why it stopped early (a non-finite step), or null
   */
  record Run(Method method, double lr, long seed, List<EpochRow> epochs, List<StepRow> steps,
      String stopReason) {
    boolean completed() {
      return stopReason == null;
    }

    EpochRow last() {
      return epochs.isEmpty() ? null : epochs.get(epochs.size() - 1);
    }
  }

  /**
   * Trains {@code method} at {@code lr} from the initial parameters of {@code seed}.
   *
   * @param s the shared setting
   * @param method the method
   * @param lr the learning rate, NaN for the method's own
   * @param seed initial parameters and data order
   * @param progress receives one line per epoch
   * @return the run
   */
  static Run train(Setting s, Method method, double lr, long seed, Consumer<String> progress) {
    List<EpochRow> rows = new ArrayList<>();
    List<StepRow> steps = new ArrayList<>();
    Optimizer opt = method.create(lr);
    try (SpecModel m = s.backend().build(s.spec(),
        DefaultInitializer.initialize(s.spec(), new SplittableRandom(seed)), s.dtype())) {
      double[] seconds = {0};
      TrainingListener recorder = new TrainingListener() {
        @Override
        public void stepped(StepEvent e) {
          seconds[0] += e.seconds();
          if (s.recordSteps()) {
            steps.add(new StepRow(e.step(), seconds[0], e.report().loss()));
          }
        }

        @Override
        public void epochEnded(EpochResult r) {
          Evaluation v = Evaluation.of(m, s.splits().validation(), 500);
          EpochRow row = new EpochRow(r.epoch() + 1, r.step(), seconds[0], r.trainLoss(), v,
              r.test());
          rows.add(row);
          progress.accept(String.format(Locale.ROOT,
              "%s %s seed %d epoch %d: train loss %.4f, validation %s, test %s, %.0f s",
              method.label(), Double.isNaN(lr) ? "" : "lr " + lr, seed, row.epoch(),
              row.trainLoss(), brief(v), brief(r.test()), row.seconds()));
        }
      };
      Training t = Training.builder().model(m).optimizer(opt)
          .trainingData(s.splits().train()).testData(s.splits().test())
          .evaluationBatchSize(500).epochs(s.epochs()).batchSize(s.batchSize()).seed(seed)
          .curvatureBatchSize(s.curvatureBatchSize()).listener(recorder).build();
      TrainingReport r = t.run();
      if (!r.completed()) {
        LOG.info("{} lr {} seed {} stopped: {}", method.label(), lr, seed, r.stopReason());
        progress.accept(method.label() + " lr " + lr + " seed " + seed + " stopped: "
            + r.stopReason());
      }
      return new Run(method, lr, seed, rows, steps, r.stopReason());
    }
  }

  /** Accuracy for a classifier, reconstruction error for an autoencoder. */
  static String brief(Evaluation e) {
    if (e == null) {
      return "-";
    }
    return Double.isNaN(e.reconstructionError())
        ? String.format(Locale.ROOT, "loss %.4f acc %.4f", e.loss(), e.accuracy())
        : String.format(Locale.ROOT, "loss %.4f error %.3f", e.loss(), e.reconstructionError());
  }

  /** Which figure of an evaluation chooses a learning rate and is reported. */
  enum Score {
    /** Classification accuracy, higher is better. */
    ACCURACY("accuracy", true),
    /** The evaluation loss, lower is better. */
    LOSS("loss", false),
    /** Squared reconstruction error per image, lower is better. */
    RECONSTRUCTION_ERROR("reconstruction error", false);

    final String label;
    final boolean higherIsBetter;

    Score(String label, boolean higherIsBetter) {
      this.label = label;
      this.higherIsBetter = higherIsBetter;
    }

    double of(Evaluation e) {
      return switch (this) {
        case ACCURACY -> e.accuracy();
        case LOSS -> e.loss();
        case RECONSTRUCTION_ERROR -> e.reconstructionError();
      };
    }

    /** The run's final validation score, or the worst value if it stopped or is not finite. */
    double validation(Run r) {
      double v = r.completed() && r.last() != null ? of(r.last().validation()) : Double.NaN;
      if (!Double.isFinite(v)) {
        return higherIsBetter ? Double.NEGATIVE_INFINITY : Double.POSITIVE_INFINITY;
      }
      return v;
    }

    boolean better(double a, double b) {
      return higherIsBetter ? a > b : a < b;
    }
  }
}
