package io.github.sgdph.experiments;

import io.github.sgdph.analysis.DatasetCurvature;
import io.github.sgdph.analysis.EigenspaceAlignment;
import io.github.sgdph.analysis.Lanczos;
import io.github.sgdph.analysis.ScaleInvariantSharpness;
import io.github.sgdph.data.ArrayBatch;
import io.github.sgdph.data.ArrayDataset;
import io.github.sgdph.experiments.Report.Band;
import io.github.sgdph.experiments.Report.Panel;
import io.github.sgdph.model.DefaultInitializer;
import io.github.sgdph.model.LayerSpec;
import io.github.sgdph.model.LossKind;
import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.model.SpecBackend;
import io.github.sgdph.model.SpecModel;
import io.github.sgdph.optim.OptimizerSpec;
import io.github.sgdph.optim.Optimizers;
import io.github.sgdph.param.ParameterVector;
import io.github.sgdph.tensor.DType;
import io.github.sgdph.train.EpochResult;
import io.github.sgdph.train.Evaluation;
import io.github.sgdph.train.Training;
import io.github.sgdph.train.TrainingListener;
import io.github.sgdph.train.TrainingReport;
import io.github.sgdph.train.TrainingState;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Experiment 4 of EXPERIMENTS.md, after Li, Gu, Zhou, Chen and Banerjee ("Hessian based analysis
 * of SGD for deep nets: dynamics and generalization", SDM 2020): SGD with momentum trains a
 * ReLU MLP (no batch norm, so that per-sample gradients and the Hessian are those of independent
 * samples) on Fashion-MNIST images of which a fraction carries random labels, until it fits the
 * training set; during training, the top Hessian eigenvalue, the top eigenvalue of the gradient
 * second moment {@code M = (1/N) Σ g_i g_iᵀ} and the overlap of their top-{@code k}
 * eigenspaces on a fixed analysis batch; at the end, on the whole training set, the plain
 * sharpness {@code λ_max(H)} and the scale-invariant one {@code λ_max(diag|θ| H diag|θ|)}
 * ({@link ScaleInvariantSharpness}), against the fraction of random labels.
 */
final class HessianAnalysis {

  /**
   * The experiment's configuration.
   *
   * @param backend the backend
   * @param dtype its precision
   * @param hidden the widths of the hidden ReLU layers
   * @param trainSize training images
   * @param testSize test images
   * @param batchSize SGD's mini-batch
   * @param lr SGD's learning rate
   * @param decayAt the fraction of {@code maxEpochs} after which the learning rate is divided
   *     by 10 (a run that has not fitted its training set by then continues at {@code lr / 10})
   * @param momentum SGD's momentum
   * @param maxEpochs the most epochs of a run
   * @param targetAccuracy a run stops once its training accuracy (evaluation mode) reaches this
   * @param fractions the fractions of random labels
   * @param analysisEvery analysis every this many epochs (and before training)
   * @param analysisBatch the first this many training samples form the analysis batch
   * @param k the dimension of the compared eigenspaces
   * @param lanczosSteps Lanczos's step cap
   * @param seeds the seeds (initial parameters, data order, which labels are random)
   */
  record Config(String backend, DType dtype, int[] hidden, int trainSize, int testSize,
      int batchSize, double lr, double decayAt, double momentum, int maxEpochs, double targetAccuracy,
      List<Double> fractions, int analysisEvery, int analysisBatch, int k, int lanczosSteps,
      List<Long> seeds) {}

  /** One analysis point of a run. */
  private record Point(int epoch, double trainLoss, double trainAccuracy, double testAccuracy,
      double lambdaH, double lambdaM, double overlap) {}

  /** A run's end. */
  private record End(double fraction, long seed, int epochs, boolean fitted, double trainLoss,
      double trainAccuracy, double testAccuracy, double lambdaMax, double scaleInvariant,
      List<Point> points) {}

  /** Stops a run that has fitted its training set. */
  private static final class Fitted extends RuntimeException {
    Fitted() {
      super(null, null, false, false);
    }
  }

  private HessianAnalysis() {}

  static ModelSpec spec(int[] hidden) {
    List<LayerSpec> layers = new ArrayList<>();
    int in = 784;
    for (int h : hidden) {
      layers.add(new LayerSpec.Dense(in, h, true));
      layers.add(new LayerSpec.Activation(LayerSpec.ActivationKind.RELU));
      in = h;
    }
    layers.add(new LayerSpec.Dense(in, 10, true));
    return new ModelSpec(new int[] {784}, layers, LossKind.SOFTMAX_CROSS_ENTROPY);
  }

  /**
   * Runs the experiment and writes {@code OUT/dynamics.csv}, {@code OUT/final.csv}, {@code
   * OUT/summary.md} and the plots.
   *
   * @param c the configuration
   * @param dataDir Fashion-MNIST's directory
   * @param out the output directory
   * @param log progress lines
   * @return the summary's Markdown
   * @throws IOException if an output cannot be written
   */
  static String run(Config c, Path dataDir, Path out, PrintWriter log) throws IOException {
    long start = System.nanoTime();
    if (!(c.decayAt() > 0 && c.decayAt() <= 1)) {
      throw new IllegalArgumentException(
          "--lr-decay-at: must be in (0, 1] but was " + c.decayAt());
    }
    ModelSpec spec = spec(c.hidden());
    Splits splits = Splits.load(dataDir, spec, c.trainSize(), 1, c.testSize());
    SpecBackend backend = SpecBackend.find(c.backend());
    Lanczos lanczos = Lanczos.builder().maxIterations(c.lanczosSteps())
        .tolerance(c.dtype() == DType.FLOAT64 ? 1e-6 : 1e-4).build();
    List<End> ends = new ArrayList<>();
    for (double f : c.fractions()) {
      for (long seed : c.seeds()) {
        ArrayDataset train = Splits.randomLabels(splits.train(), f, 10, 7919 * seed + 17);
        ends.add(one(c, spec, backend, lanczos, train, splits.test(), f, seed, log));
      }
    }
    double minutes = (System.nanoTime() - start) / 60e9;
    write(c, ends, out);
    String summary = summary(c, spec, ends, minutes);
    Report.write(out.resolve("summary.md"), summary);
    return summary;
  }

  private static End one(Config c, ModelSpec spec, SpecBackend backend, Lanczos lanczos,
      ArrayDataset train, ArrayDataset test, double fraction, long seed, PrintWriter log) {
    List<Point> points = new ArrayList<>();
    ArrayBatch analysis = train.head(Math.min(c.analysisBatch(), train.size()))
        .range(0, Math.min(c.analysisBatch(), train.size()));
    try (SpecModel m = backend.build(spec,
        DefaultInitializer.initialize(spec, new SplittableRandom(seed)), c.dtype())) {
      points.add(analyse(c, m, lanczos, analysis, Evaluation.of(m, train, 500), test, 0,
          Double.NaN, seed));
      int[] epochs = {0};
      boolean[] fitted = {false};
      TrainingListener l = new TrainingListener() {
        @Override
        public void epochEnded(EpochResult r) {
          epochs[0] = r.epoch() + 1;
          Evaluation tr = Evaluation.of(m, train, 500);
          boolean done = tr.accuracy() >= c.targetAccuracy();
          if (done || epochs[0] % c.analysisEvery() == 0 || epochs[0] == c.maxEpochs()) {
            Point p = analyse(c, m, lanczos, analysis, tr, test, epochs[0], r.trainLoss(), seed);
            points.add(p);
            log.printf(Locale.ROOT, "random labels %.0f%% seed %d epoch %d: train acc %.4f,"
                    + " test acc %.4f, λ_max(H) %.4g, λ_max(M) %.4g, overlap %.3f%n",
                fraction * 100, seed, p.epoch(), p.trainAccuracy(), p.testAccuracy(),
                p.lambdaH(), p.lambdaM(), p.overlap());
            log.flush();
          }
          if (done) {
            fitted[0] = true;
            throw new Fitted();
          }
        }
      };
      // A step decay: lr for the first decayEpoch epochs, then lr / 10 from the state at that
      // epoch's end (momentum buffer kept), as a resumed run with another learning rate.
      TrainingState[] last = {null};
      int decayEpoch = decayEpoch(c);
      try {
        for (int phase = 0; phase < 2; phase++) {
          double lr = phase == 0 ? c.lr() : c.lr() / 10;
          Training.Builder tb = Training.builder().model(m)
              .optimizer(Optimizers.create(new OptimizerSpec("sgd",
                  Map.of("lr", lr, "momentum", c.momentum()))))
              .trainingData(train).epochs(phase == 0 ? decayEpoch : c.maxEpochs())
              .batchSize(c.batchSize()).seed(seed).listener(l)
              .checkpoints(st -> last[0] = st, 0);
          if (phase == 1) {
            if (decayEpoch >= c.maxEpochs()) {
              break;
            }
            tb.resume(last[0]);
          }
          TrainingReport r = tb.build().run();
          if (!r.completed()) {
            throw new IllegalStateException("random labels " + fraction + ", seed " + seed
                + ": training stopped: " + r.stopReason());
          }
        }
      } catch (Fitted done) {
        // the training set is fitted: the run ends here
      }
      Evaluation tr = Evaluation.of(m, train, 500);
      Evaluation te = Evaluation.of(m, test, 500);
      List<ArrayBatch> batches = new ArrayList<>();
      for (int from = 0; from < train.size(); from += 250) {
        batches.add(train.range(from, Math.min(train.size(), from + 250)));
      }
      ScaleInvariantSharpness s;
      try (DatasetCurvature dc = DatasetCurvature.of(m, batches);
          ParameterVector theta = dc.parameters()) {
        s = ScaleInvariantSharpness.compute(dc.hessian(), theta, m.algebra(), lanczos,
            new SplittableRandom(seed + 1_000_003));
      }
      log.printf(Locale.ROOT, "random labels %.0f%% seed %d: %s after %d epochs; train loss"
              + " %.4g, train acc %.4f, test acc %.4f; λ_max(H) %.4g, scale-invariant %.4g%n",
          fraction * 100, seed, fitted[0] ? "fitted" : "not fitted", epochs[0], tr.loss(),
          tr.accuracy(), te.accuracy(), s.topEigenvalue(), s.scaleInvariant());
      log.flush();
      return new End(fraction, seed, epochs[0], fitted[0], tr.loss(), tr.accuracy(),
          te.accuracy(), s.topEigenvalue(), s.scaleInvariant(), points);
    }
  }

  private static int decayEpoch(Config c) {
    return Math.max(1, (int) Math.round(c.maxEpochs() * c.decayAt()));
  }

  /** The analysis at the current parameters; {@code tr} is the training set's evaluation there. */
  private static Point analyse(Config c, SpecModel m, Lanczos lanczos, ArrayBatch analysis,
      Evaluation tr, ArrayDataset test, int epoch, double trainLoss, long seed) {
    Evaluation te = Evaluation.of(m, test, 500);
    try (DatasetCurvature dc = DatasetCurvature.of(m, List.of(analysis))) {
      EigenspaceAlignment a = EigenspaceAlignment.compute(dc.hessian(), dc.gradientMoment(),
          m.algebra(), c.k(), lanczos, new SplittableRandom(seed * 1_000 + epoch));
      return new Point(epoch, trainLoss, tr.accuracy(), te.accuracy(), a.eigenvaluesA()[0],
          a.eigenvaluesB()[0], a.overlap());
    }
  }

  private static void write(Config c, List<End> ends, Path out) throws IOException {
    List<String[]> dyn = new ArrayList<>();
    List<String[]> fin = new ArrayList<>();
    for (End e : ends) {
      for (Point p : e.points()) {
        dyn.add(new String[] {Report.cell(e.fraction()), Long.toString(e.seed()),
          Integer.toString(p.epoch()), Report.cell(p.trainLoss()), Report.cell(p.trainAccuracy()),
          Report.cell(p.testAccuracy()), Report.cell(p.lambdaH()), Report.cell(p.lambdaM()),
          Report.cell(p.overlap())});
      }
      fin.add(new String[] {Report.cell(e.fraction()), Long.toString(e.seed()),
        Integer.toString(e.epochs()), Boolean.toString(e.fitted()), Report.cell(e.trainLoss()),
        Report.cell(e.trainAccuracy()), Report.cell(e.testAccuracy()),
        Report.cell(e.lambdaMax()), Report.cell(e.scaleInvariant())});
    }
    Report.write(out.resolve("dynamics.csv"), Report.csv("random_fraction,seed,epoch,"
        + "train_loss_epoch_mean,train_accuracy,test_accuracy,lambda_max_h,lambda_max_m,"
        + "overlap_top" + c.k(), dyn));
    Report.write(out.resolve("final.csv"), Report.csv("random_fraction,seed,epochs,fitted,"
        + "train_loss,train_accuracy,test_accuracy,lambda_max_h,scale_invariant_sharpness",
        fin));
    List<Band> lh = new ArrayList<>();
    List<Band> ov = new ArrayList<>();
    List<Band> lm = new ArrayList<>();
    for (double f : c.fractions()) {
      List<End> runs = ends.stream().filter(e -> e.fraction() == f).toList();
      String name = Math.round(f * 100) + "% random labels";
      List<double[]> x = Report.perRun(runs,
          e -> e.points().stream().mapToDouble(Point::epoch).toArray());
      lh.add(Report.band(name, x, Report.perRun(runs,
          e -> e.points().stream().mapToDouble(Point::lambdaH).toArray())));
      lm.add(Report.band(name, x, Report.perRun(runs,
          e -> e.points().stream().mapToDouble(Point::lambdaM).toArray())));
      ov.add(Report.band(name, x, Report.perRun(runs,
          e -> e.points().stream().mapToDouble(Point::overlap).toArray())));
    }
    String title = "SGD on an MLP, Fashion-MNIST — mean ± std over " + c.seeds().size()
        + " seeds (up to the shortest run)";
    Report.plot(title, "epoch", List.of(
        new Panel("λ_max(H), analysis batch", true, lh),
        new Panel("λ_max(M), gradient second moment", true, lm),
        new Panel("overlap of top-" + c.k() + " eigenspaces of H and M", false, ov)),
        out.resolve("hessian-dynamics.png"));
    double[] xs = c.fractions().stream().mapToDouble(f -> f * 100).toArray();
    Report.plot("Sharpness at the end of training vs random labels — mean ± std over "
            + c.seeds().size() + " seeds",
        "random labels (% of training images)", List.of(
            new Panel("λ_max(H), training set", true, List.of(byFraction(c, ends, xs,
                "λ_max(H)", End::lambdaMax))),
            new Panel("λ_max(diag|θ| H diag|θ|)", true, List.of(byFraction(c, ends, xs,
                "scale-invariant sharpness", End::scaleInvariant))),
            new Panel("test accuracy", false, List.of(byFraction(c, ends, xs,
                "test accuracy", End::testAccuracy)))),
        out.resolve("sharpness-vs-random-labels.png"));
  }

  private static Band byFraction(Config c, List<End> ends, double[] xs, String name,
      java.util.function.ToDoubleFunction<End> f) {
    double[] mean = new double[xs.length];
    double[] std = new double[xs.length];
    for (int i = 0; i < xs.length; i++) {
      double fr = c.fractions().get(i);
      double[] v = ends.stream().filter(e -> e.fraction() == fr).mapToDouble(f).toArray();
      mean[i] = Report.mean(v);
      std[i] = Report.std(v);
    }
    return new Band(name, xs, mean, std);
  }

  private static String summary(Config c, ModelSpec spec, List<End> ends, double minutes) {
    StringBuilder sb = new StringBuilder();
    sb.append("### Hessian-based analysis of SGD: sharpness vs random labels\n\n");
    sb.append(String.format(Locale.ROOT, "MLP 784-%s-10 (ReLU, no batch norm, %d parameters),"
            + " backend %s (%s); %d training images (a fraction relabelled at random), %d test"
            + " images; SGD lr %s (%s) momentum %s, batch %d, until the"
            + " training accuracy reaches %.2f or %d epochs; analysis batch %d, top-%d eigenspaces, Lanczos ≤ %d steps;"
            + " seeds %s. Took %.1f minutes.%n%n",
        String.join("-", java.util.Arrays.stream(c.hidden()).mapToObj(Integer::toString)
            .toList()), spec.layout().dimension(), c.backend(), c.dtype().jsonName(),
        c.trainSize(), c.testSize(), c.lr(),
        decayEpoch(c) >= c.maxEpochs() ? "constant" : "÷10 after epoch " + decayEpoch(c),
        c.momentum(), c.batchSize(),
        c.targetAccuracy(),
        c.maxEpochs(), c.analysisBatch(), c.k(), c.lanczosSteps(), c.seeds(), minutes));
    List<List<String>> rows = new ArrayList<>();
    for (double f : c.fractions()) {
      List<End> runs = ends.stream().filter(e -> e.fraction() == f).toList();
      rows.add(List.of(Math.round(f * 100) + " %",
          runs.stream().filter(End::fitted).count() + " of " + runs.size(),
          Report.pm(runs.stream().mapToDouble(End::epochs).toArray(), 1),
          Report.pm(runs.stream().mapToDouble(End::trainAccuracy).toArray(), 4),
          Report.pm(runs.stream().mapToDouble(End::testAccuracy).toArray(), 4),
          Report.pm(runs.stream().mapToDouble(End::lambdaMax).toArray(), 3),
          Report.pm(runs.stream().mapToDouble(End::scaleInvariant).toArray(), 4)));
    }
    sb.append(Report.table(List.of("random labels", "fitted", "epochs", "train accuracy",
        "test accuracy", "λ_max(H)", "scale-invariant sharpness"), rows)).append('\n');
    List<List<String>> dyn = new ArrayList<>();
    for (double f : c.fractions()) {
      List<End> runs = ends.stream().filter(e -> e.fraction() == f).toList();
      dyn.add(List.of(Math.round(f * 100) + " %",
          Report.pm(runs.stream().mapToDouble(e -> e.points().get(0).lambdaH()).toArray(), 3),
          Report.pm(runs.stream().mapToDouble(e -> e.points().get(0).overlap()).toArray(), 3),
          Report.pm(runs.stream().mapToDouble(e -> last(e).lambdaH()).toArray(), 3),
          Report.pm(runs.stream().mapToDouble(e -> last(e).lambdaM()).toArray(), 4),
          Report.pm(runs.stream().mapToDouble(e -> last(e).overlap()).toArray(), 3)));
    }
    sb.append("On the analysis batch, before training and at the end:\n\n");
    sb.append(Report.table(List.of("random labels", "λ_max(H) at init",
        "top-" + c.k() + " overlap at init", "λ_max(H) at end", "λ_max(M) at end",
        "top-" + c.k() + " overlap at end"), dyn)).append('\n');
    return sb.toString();
  }

  private static Point last(End e) {
    return e.points().get(e.points().size() - 1);
  }
}
