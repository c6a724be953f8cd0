package io.github.sgdph.experiments;

import io.github.sgdph.experiments.Report.Band;
import io.github.sgdph.experiments.Report.Panel;
import io.github.sgdph.experiments.Runs.EpochRow;
import io.github.sgdph.experiments.Runs.Method;
import io.github.sgdph.experiments.Runs.Run;
import io.github.sgdph.experiments.Runs.Score;
import io.github.sgdph.experiments.Runs.Setting;
import io.github.sgdph.experiments.Runs.StepRow;
import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.model.SpecBackend;
import io.github.sgdph.tensor.DType;
import io.github.sgdph.train.Evaluation;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The protocol of the optimizer comparisons (experiments 1–3 of EXPERIMENTS.md): every tuned
 * method tries every learning rate of one grid with the first seed, the rate with the best final
 * <em>validation</em> score is kept, and the method then runs with the remaining seeds at that
 * rate (the first seed's run is reused); untuned methods run at their defaults with every seed.
 * Reported: the final-epoch test figures as mean ± std over the seeds, curves per epoch (and per
 * second), and every run's every epoch in {@code runs.csv}.
 */
final class Comparison {

  /**
   * An experiment's configuration.
   *
   * @param name the output files' prefix
   * @param title the plots' title
   * @param spec the model
   * @param modelName the model's name for the tables
   * @param backend the backend's name
   * @param dtype the precision
   * @param trainSize training images
   * @param validationSize validation images (from the end of the training file)
   * @param testSize test images
   * @param epochs epochs per run
   * @param batchSize mini-batch size
   * @param curvatureBatchSize curvature sub-batch (0: the optimizer's own)
   * @param grid the learning rates every tuned method tries
   * @param methods the methods
   * @param score the figure that chooses the rate and is reported
   * @param recordSteps whether to plot loss against seconds step by step
   * @param seeds the seeds (the first one tunes)
   */
  record Config(String name, String title, ModelSpec spec, String modelName, String backend,
      DType dtype, int trainSize, int validationSize, int testSize, int epochs, int batchSize,
      int curvatureBatchSize, List<Double> grid, List<Method> methods, Score score,
      boolean recordSteps, List<Long> seeds) {}

  private Comparison() {}

  /**
   * Runs the experiment and writes {@code OUT/runs.csv}, {@code OUT/summary.md} and the plots.
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
    Splits splits = Splits.load(dataDir, c.spec(), c.trainSize(), c.validationSize(),
        c.testSize());
    SpecBackend backend = SpecBackend.find(c.backend());
    Setting s = new Setting(c.spec(), backend, c.dtype(), splits, c.epochs(), c.batchSize(),
        c.curvatureBatchSize(), c.recordSteps());
    List<Run> all = new ArrayList<>();
    Map<Method, List<Run>> finals = new LinkedHashMap<>();
    Map<Method, Double> chosen = new LinkedHashMap<>();
    Map<Method, List<Run>> tuning = new LinkedHashMap<>();
    long first = c.seeds().get(0);
    for (Method m : c.methods()) {
      Run best = null;
      double bestLr = Double.NaN;
      if (m.tuned()) {
        List<Run> tried = new ArrayList<>();
        for (double lr : c.grid()) {
          Run r = Runs.train(s, m, lr, first, line -> progress(log, line));
          all.add(r);
          tried.add(r);
          if (best == null
              || c.score().better(c.score().validation(r), c.score().validation(best))) {
            best = r;
            bestLr = lr;
          }
        }
        tuning.put(m, tried);
      } else {
        best = Runs.train(s, m, Double.NaN, first, line -> progress(log, line));
        all.add(best);
      }
      chosen.put(m, bestLr);
      List<Run> seeds = new ArrayList<>();
      seeds.add(best);
      for (int i = 1; i < c.seeds().size(); i++) {
        Run r = Runs.train(s, m, bestLr, c.seeds().get(i), line -> progress(log, line));
        all.add(r);
        seeds.add(r);
      }
      finals.put(m, seeds);
    }
    double minutes = (System.nanoTime() - start) / 60e9;
    writeRuns(c, all, finals, out);
    plots(c, finals, out);
    String summary = summary(c, splits, finals, chosen, tuning, minutes);
    Report.write(out.resolve("summary.md"), summary);
    return summary;
  }

  private static void progress(PrintWriter log, String line) {
    log.println(line);
    log.flush();
  }

  private static void writeRuns(Config c, List<Run> all, Map<Method, List<Run>> finals,
      Path out) throws IOException {
    List<String[]> rows = new ArrayList<>();
    List<String[]> steps = new ArrayList<>();
    for (Run r : all) {
      boolean reported = finals.get(r.method()).contains(r);
      for (EpochRow e : r.epochs()) {
        rows.add(new String[] {
          r.method().label(), Report.cell(r.lr()), Long.toString(r.seed()),
          Boolean.toString(reported), Integer.toString(e.epoch()), Long.toString(e.step()),
          Report.cell(e.seconds()), Report.cell(e.trainLoss()),
          Report.cell(e.validation().loss()), Report.cell(e.validation().accuracy()),
          Report.cell(e.validation().reconstructionError()), Report.cell(e.test().loss()),
          Report.cell(e.test().accuracy()), Report.cell(e.test().reconstructionError()),
          r.completed() ? "" : "stopped"});
      }
      if (r.epochs().isEmpty()) {
        rows.add(new String[] {r.method().label(), Report.cell(r.lr()),
          Long.toString(r.seed()), Boolean.toString(reported), "", "", "", "", "", "", "", "",
          "", "", "stopped"});
      }
      if (c.recordSteps() && reported) {
        for (StepRow st : r.steps()) {
          steps.add(new String[] {r.method().label(), Report.cell(r.lr()),
            Long.toString(r.seed()), Long.toString(st.step()), Report.cell(st.seconds()),
            Report.cell(st.loss())});
        }
      }
    }
    Report.write(out.resolve("runs.csv"), Report.csv("method,lr,seed,reported,epoch,step,"
        + "seconds,train_loss,validation_loss,validation_accuracy,validation_reconstruction,"
        + "test_loss,test_accuracy,test_reconstruction,status", rows));
    if (c.recordSteps()) {
      Report.write(out.resolve("steps.csv"),
          Report.csv("method,lr,seed,step,seconds,minibatch_loss", steps));
    }
  }

  private static String label(Method m, double lr) {
    return Double.isNaN(lr) ? m.label() : m.label() + " (lr " + fmt(lr) + ")";
  }

  private static String fmt(double v) {
    return String.format(Locale.ROOT, "%g", v).replaceAll("\\.?0+(e|$)", "$1");
  }

  private static void plots(Config c, Map<Method, List<Run>> finals, Path out)
      throws IOException {
    List<Band> train = new ArrayList<>();
    List<Band> test = new ArrayList<>();
    List<Band> testLoss = new ArrayList<>();
    List<Band> timeLoss = new ArrayList<>();
    List<Band> stepLoss = new ArrayList<>();
    for (Map.Entry<Method, List<Run>> e : finals.entrySet()) {
      List<Run> runs = e.getValue();
      String name = label(e.getKey(), runs.get(0).lr());
      List<double[]> epochs = Report.perRun(runs,
          r -> r.epochs().stream().mapToDouble(EpochRow::epoch).toArray());
      List<double[]> seconds = Report.perRun(runs,
          r -> r.epochs().stream().mapToDouble(EpochRow::seconds).toArray());
      train.add(Report.band(name, epochs, Report.perRun(runs,
          r -> r.epochs().stream().mapToDouble(EpochRow::trainLoss).toArray())));
      test.add(Report.band(name, epochs, Report.perRun(runs,
          r -> r.epochs().stream().mapToDouble(x -> c.score().of(x.test())).toArray())));
      List<double[]> tl = Report.perRun(runs,
          r -> r.epochs().stream().mapToDouble(x -> x.test().loss()).toArray());
      testLoss.add(Report.band(name, epochs, tl));
      timeLoss.add(Report.band(name, seconds, tl));
      if (c.recordSteps()) {
        int window = 10;
        stepLoss.add(Report.band(name,
            Report.perRun(runs, r -> smooth(r.steps(), window, true)),
            Report.perRun(runs, r -> smooth(r.steps(), window, false))));
      }
    }
    List<Panel> perEpoch = new ArrayList<>();
    perEpoch.add(new Panel("training loss (epoch mean)", true, train));
    if (c.score() != Score.LOSS) {
      perEpoch.add(new Panel("test " + c.score().label, c.score() != Score.ACCURACY, test));
    }
    perEpoch.add(new Panel("test loss", true, testLoss));
    String sub = c.title() + " — mean ± std over " + c.seeds().size() + " seeds";
    Report.plot(sub, "epoch", perEpoch, out.resolve(c.name() + "-epochs.png"));
    if (c.recordSteps()) {
      Report.plot(sub, "seconds of training (this machine)", List.of(
          new Panel("mini-batch loss (moving mean of 10 steps)", true, stepLoss),
          new Panel("test loss at epoch ends", true, timeLoss)),
          out.resolve(c.name() + "-seconds.png"));
    }
  }

  /** Moving means of {@code window} steps: their mean seconds ({@code x}) or mean loss. */
  private static double[] smooth(List<StepRow> steps, int window, boolean x) {
    int n = steps.size() / window;
    double[] v = new double[n];
    for (int i = 0; i < n; i++) {
      double s = 0;
      for (int k = 0; k < window; k++) {
        StepRow st = steps.get(i * window + k);
        s += x ? st.seconds() : st.loss();
      }
      v[i] = s / window;
    }
    return v;
  }

  private static String summary(Config c, Splits splits, Map<Method, List<Run>> finals,
      Map<Method, Double> chosen, Map<Method, List<Run>> tuning, double minutes) {
    StringBuilder sb = new StringBuilder();
    sb.append("### ").append(c.title()).append("\n\n");
    sb.append(String.format(Locale.ROOT, "Model `%s`, backend %s (%s); %d training, %d "
            + "validation, %d test images; %d epochs, batch %d%s; seeds %s; learning-rate grid"
            + " %s for every tuned method, chosen by final validation %s with seed %d. Took"
            + " %.1f minutes.%n%n",
        c.modelName(), c.backend(), c.dtype().jsonName(), splits.train().size(),
        splits.validation().size(), splits.test().size(), c.epochs(), c.batchSize(),
        c.curvatureBatchSize() > 0 ? ", curvature batch " + c.curvatureBatchSize() : "",
        c.seeds(), c.grid(), c.score().label, c.seeds().get(0), minutes));
    boolean acc = c.score() == Score.ACCURACY;
    boolean rec = c.score() == Score.RECONSTRUCTION_ERROR;
    List<String> header = new ArrayList<>(List.of("method", "hyper-parameters"));
    header.add("final training loss");
    header.add("test loss");
    if (acc) {
      header.add("test accuracy");
    }
    if (rec) {
      header.add("test reconstruction error");
    }
    header.add("seconds per epoch");
    header.add("completed runs");
    List<List<String>> rows = new ArrayList<>();
    for (Map.Entry<Method, List<Run>> e : finals.entrySet()) {
      List<Run> runs = e.getValue();
      Method m = e.getKey();
      List<String> row = new ArrayList<>();
      row.add(m.label());
      row.add(m.describe(chosen.get(m)));
      row.add(Report.pm(fin(runs, r -> r.trainLoss()), 4));
      row.add(Report.pm(fin(runs, r -> r.test().loss()), 4));
      if (acc) {
        row.add(Report.pm(fin(runs, r -> r.test().accuracy()), 4));
      }
      if (rec) {
        row.add(Report.pm(fin(runs, r -> r.test().reconstructionError()), 2));
      }
      row.add(Report.pm(runs.stream().mapToDouble(
          r -> r.last() == null ? Double.NaN : r.last().seconds() / r.last().epoch()).toArray(),
          1));
      row.add(runs.stream().filter(Run::completed).count() + " of " + runs.size());
      rows.add(row);
    }
    sb.append(Report.table(header, rows)).append('\n');
    if (rec) {
      sb.append(String.format(Locale.ROOT, "For scale: predicting every test image as the"
          + " training images' mean image gives a reconstruction error of %.2f.%n%n",
          meanImageError(splits)));
    }
    if (!tuning.isEmpty()) {
      sb.append("Final validation ").append(c.score().label)
          .append(" of the tuning runs (seed ").append(c.seeds().get(0)).append("):\n\n");
      List<String> th = new ArrayList<>(List.of("method"));
      for (double lr : c.grid()) {
        th.add("lr " + fmt(lr));
      }
      List<List<String>> tr = new ArrayList<>();
      for (Map.Entry<Method, List<Run>> e : tuning.entrySet()) {
        List<String> row = new ArrayList<>(List.of(e.getKey().label()));
        for (Run r : e.getValue()) {
          double v = r.completed() && r.last() != null
              ? c.score().of(r.last().validation()) : Double.NaN;
          String cell = Double.isFinite(v) ? String.format(Locale.ROOT,
              rec ? "%.2f" : "%.4f", v) : "diverged";
          row.add(r.lr() == chosen.get(e.getKey()) ? "**" + cell + "**" : cell);
        }
        tr.add(row);
      }
      sb.append(Report.table(th, tr)).append('\n');
    }
    return sb.toString();
  }

  /**
   * The squared reconstruction error per test image of the constant prediction "the training
   * targets' mean": the plateau a deep autoencoder starts on.
   */
  static double meanImageError(Splits splits) {
    int n = splits.train().size();
    double[] y = splits.train().range(0, n).yView();
    int k = y.length / n;
    double[] mean = new double[k];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < k; j++) {
        mean[j] += y[i * k + j] / n;
      }
    }
    int m = splits.test().size();
    double[] t = splits.test().range(0, m).yView();
    double sum = 0;
    for (int i = 0; i < m; i++) {
      for (int j = 0; j < k; j++) {
        double d = mean[j] - t[i * k + j];
        sum += d * d;
      }
    }
    return sum / m;
  }

  /** A figure of each run's final epoch (NaN for a run without one). */
  private static double[] fin(List<Run> runs, java.util.function.ToDoubleFunction<Fin> f) {
    return runs.stream().mapToDouble(r -> r.last() == null || !r.completed() ? Double.NaN
        : f.applyAsDouble(new Fin(r.last().trainLoss(), r.last().test()))).toArray();
  }

  /** A run's final figures. */
  private record Fin(double trainLoss, Evaluation test) {}
}
