package io.github.sgdph.cli;

import io.github.sgdph.cases.json.CaseJson;
import io.github.sgdph.data.ArrayDataset;
import io.github.sgdph.data.Dataset;
import io.github.sgdph.data.Normalization;
import io.github.sgdph.io.AtomicFiles;
import io.github.sgdph.io.CheckpointFile;
import io.github.sgdph.io.FashionMnist;
import io.github.sgdph.model.BuiltInModels;
import io.github.sgdph.model.DefaultInitializer;
import io.github.sgdph.model.LossKind;
import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.model.NamedArray;
import io.github.sgdph.model.SpecBackend;
import io.github.sgdph.model.SpecModel;
import io.github.sgdph.optim.Optimizer;
import io.github.sgdph.optim.OptimizerSpec;
import io.github.sgdph.optim.Optimizers;
import io.github.sgdph.tensor.DType;
import io.github.sgdph.tensor.Shapes;
import io.github.sgdph.train.EpochResult;
import io.github.sgdph.train.Evaluation;
import io.github.sgdph.train.StepEvent;
import io.github.sgdph.train.Training;
import io.github.sgdph.train.TrainingCluster;
import io.github.sgdph.train.TrainingListener;
import io.github.sgdph.train.TrainingReport;
import io.github.sgdph.train.TrainingState;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine;

/**
 * {@code sgdph train}: trains a built-in network or a spec file on Fashion-MNIST with any
 * optimizer on any backend ({@link Training}), evaluating on the test set after every epoch, and
 * writes {@code metrics.csv}, {@code curves.png} and a checkpoint to the output directory.
 */
@Command(
    name = "train",
    mixinStandardHelpOptions = true,
    description = {
      "Trains a model on Fashion-MNIST and reports test loss and accuracy after every epoch.",
      "Writes OUT/metrics.csv, OUT/curves.png and OUT/" + TrainCommand.CHECKPOINT
          + " (after every epoch and every --checkpoint-every steps); --resume OUT continues a"
          + " run exactly where its checkpoint stopped."
    })
final class TrainCommand implements Callable<Integer> {
  static final String CHECKPOINT = "checkpoint.sgdph";
  static final String METRICS = "metrics.csv";
  static final String CURVES = "curves.png";
  static final String METRICS_HEADER = "epoch,step,train_loss,test_loss,test_accuracy,seconds";

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Option(names = "--data", defaultValue = "fashion-mnist", paramLabel = "NAME",
      description = "The dataset: fashion-mnist (default).")
  String data;

  @Option(names = "--data-dir", paramLabel = "DIR",
      description = "Where Fashion-MNIST's IDX files are; default: -D" + FashionMnist.PROPERTY
          + ", $" + FashionMnist.ENV + ", else " + FashionMnist.DEFAULT_DIR
          + " (apt-get install dataset-fashion-mnist).")
  Path dataDir;

  @Option(names = "--model", defaultValue = "mlp", paramLabel = "MODEL",
      description = "mlp (784-256-256-10 with batch norm), cnn (a small batch-norm CNN),"
          + " autoencoder (784-500-250-30-250-500-784), resnet (a ResNet-8: 3x3 stem, basic"
          + " blocks of 16, 32 and 64 channels, projection shortcuts, global average pooling),"
          + " lstm (each image as 28 time steps of 28 pixels, a two-layer LSTM of 64 units,"
          + " dense 10), or a model spec .json file"
          + " (a case file's model object). Default: ${DEFAULT-VALUE}.")
  String model;

  @Option(names = "--optimizer", defaultValue = "sgdph", paramLabel = "NAME",
      description = "sgd, adam, sgdph, sgn, bdhf, hf or kfac. Default: ${DEFAULT-VALUE}.")
  String optimizer;

  @Option(names = "--hp", paramLabel = "KEY=VALUE",
      description = "An optimizer hyper-parameter as in case files (repeatable), e.g. --hp"
          + " lr=0.05 --hp momentum=0.9; absent ones take the optimizer's defaults.")
  List<String> hyperParameters = new ArrayList<>();

  @Option(names = "--lr", paramLabel = "X", description = "Shorthand for --hp lr=X.")
  Double lr;

  @Option(names = "--epochs", defaultValue = "1", description = "Default: ${DEFAULT-VALUE}.")
  int epochs;

  @Option(names = "--batch", defaultValue = "128", description = "Default: ${DEFAULT-VALUE}.")
  int batch;

  @Option(names = "--curvature-batch", defaultValue = "0", paramLabel = "N",
      description = "Curvature sub-batch (the first N samples of each mini-batch) for the"
          + " optimizers that take one; 0 (default): the optimizer's own choice.")
  int curvatureBatch;

  @Option(names = "--seed", defaultValue = "0",
      description = "Initial parameters and data order. Default: ${DEFAULT-VALUE}.")
  long seed;

  @Option(names = "--backend", defaultValue = "reference",
      description = "reference, djl, tensorflow or dl4j. Default: ${DEFAULT-VALUE}.")
  String backend;

  @Option(names = "--dtype", paramLabel = "D",
      description = "float32 or float64; default float32 where the backend has it.")
  String dtype;

  @Option(names = "--out", paramLabel = "DIR",
      description = "Output directory (created); default: the --resume directory.")
  Path out;

  @Option(names = "--resume", paramLabel = "DIR",
      description = "Continue the run whose checkpoint is DIR/" + CHECKPOINT + "; give the same"
          + " model, optimizer, seed, batch and data options, and the total --epochs.")
  Path resume;

  @Option(names = "--checkpoint-every", defaultValue = "0", paramLabel = "N",
      description = "Also checkpoint every N steps within an epoch (0, default: epoch ends only).")
  int checkpointEvery;

  @Option(names = "--limit", paramLabel = "N",
      description = "Train on the first N training images only (a quick run).")
  Integer limit;

  @Option(names = "--test-limit", paramLabel = "N",
      description = "Evaluate on the first N test images only.")
  Integer testLimit;

  @Option(names = {"-q", "--quiet"}, description = "Print the final line only.")
  boolean quiet;

  @Option(names = "--master", paramLabel = "URL",
      description = "Train data-parallel on Apache Spark: local[N], local[*], spark://HOST:7077,"
          + " yarn, k8s://...; the training set is partitioned over the executors, each with a"
          + " model replica (docs/SPARK.md). Needs sgdph-spark on the classpath (./sgdph puts it"
          + " there).")
  String master;

  @Option(names = "--partitions", defaultValue = "0", paramLabel = "P",
      description = "With --master: partitions of the training set; 0 (default): the cluster's"
          + " default parallelism.")
  int partitions;

  @Option(names = "--batch-norm-statistics", defaultValue = "per-partition", paramLabel = "MODE",
      description = "With --master: how train-mode batch norms normalise a batch spread over"
          + " partitions: per-partition (default; each share with its own statistics, as"
          + " PyTorch DDP) or synchronized (the whole batch's statistics, equal to one machine;"
          + " reference backend only; barrier stages need a task slot per partition).")
  String batchNormStatistics;

  @Override
  public Integer call() throws IOException {
    PrintWriter o = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    check("fashion-mnist".equals(data),
        "--data: only fashion-mnist is built in (CSV and IDX files: the sgdph-io library)");
    check(epochs >= 1, "--epochs: must be >= 1 but was " + epochs);
    check(batch >= 1, "--batch: must be >= 1 but was " + batch);
    check(checkpointEvery >= 0, "--checkpoint-every: must be >= 0 but was " + checkpointEvery);
    check(curvatureBatch >= 0, "--curvature-batch: must be >= 0 but was " + curvatureBatch);
    check(limit == null || limit >= 1, "--limit: must be >= 1 but was " + limit);
    check(testLimit == null || testLimit >= 1, "--test-limit: must be >= 1 but was " + testLimit);
    check(partitions >= 0, "--partitions: must be >= 0 but was " + partitions);
    check(partitions == 0 || master != null, "--partitions: only with --master");
    check(batchNormStatistics.equals("per-partition") || batchNormStatistics.equals("synchronized"),
        "--batch-norm-statistics: per-partition or synchronized, not '" + batchNormStatistics
            + "'");
    check(batchNormStatistics.equals("per-partition") || master != null,
        "--batch-norm-statistics: only with --master");
    TrainingCluster clusters = master == null ? null : TrainingCluster.find("--master");
    if (out == null) {
      check(resume != null, "--out: required (or --resume DIR)");
      out = resume;
    }
    TrainingState from = null;
    if (resume != null) {
      from = CheckpointFile.read(resume.resolve(CHECKPOINT));
    }
    ModelSpec ms = modelSpec();
    Optimizer opt = Optimizers.create(new OptimizerSpec(optimizer, hyperParameterMap()));
    DType forced = dtype != null ? Backends.dtype("--dtype", dtype) : null;
    SpecBackend b = Backends.open("--backend", backend);
    DType dt = forced != null ? forced
        : b.supportedDTypes().contains(DType.FLOAT32) ? DType.FLOAT32 : DType.FLOAT64;
    Backends.requireDtype("--dtype", b, dt);
    b.requireSupported(ms); // before loading the images: e.g. an LSTM on a backend without them

    Path dir = dataDir != null ? dataDir : FashionMnist.defaultDirectory();
    ArrayDataset train = FashionMnist.load(dir, FashionMnist.Split.TRAIN);
    if (limit != null) {
      train = train.head(Math.min(limit, train.size()));
    }
    ArrayDataset test = FashionMnist.load(dir, FashionMnist.Split.TEST);
    if (testLimit != null) {
      test = test.head(Math.min(testLimit, test.size()));
    }
    ArrayDataset[] prepared = prepare(ms, train, test);
    train = null;
    test = null;
    Dataset trainSet = prepared[0];
    Dataset testSet = prepared[1];

    Files.createDirectories(out);
    List<String[]> metrics = from == null ? new ArrayList<>() : earlierMetrics(from.epoch());
    List<NamedArray> init = DefaultInitializer.initialize(ms, new SplittableRandom(seed));
    // --master: the same run with the mini-batches evaluated on a cluster's partitions
    try (TrainingCluster.Session cluster = master == null ? null
            : clusters.open(master, partitions, trainSet, ms, init, b.name(), dt,
                batchNormStatistics);
        SpecModel m = cluster != null ? null : b.build(ms, init, dt)) {
      Training.Builder tb = (cluster != null ? cluster.training()
              : Training.builder().model(m).trainingData(trainSet))
          .optimizer(opt).testData(testSet).epochs(epochs).batchSize(batch).seed(seed)
          .curvatureBatchSize(curvatureBatch)
          .checkpoints(CheckpointFile.sink(out.resolve(CHECKPOINT)), checkpointEvery)
          .listener(new Progress(err, !quiet && System.console() != null))
          .listener(new MetricsWriter(o, metrics));
      if (from != null) {
        tb.resume(from);
      }
      Training t = tb.build();
      if (!quiet) {
        o.printf(Locale.ROOT, "train %s (%d parameters) on %d Fashion-MNIST images with %s,"
                + " %s %s, batch %d, seed %d%s%n",
            model, ms.layout().dimension(), trainSet.size(), optimizer, b.name(),
            dt.jsonName(), batch, seed,
            (cluster != null ? " on " + cluster.description() : "")
                + (from != null ? ", resuming at epoch " + (from.epoch() + 1) + " after step "
                    + from.step() : ""));
        o.flush();
      }
      TrainingReport r = t.run();
      if (cluster != null && !quiet) {
        o.println("communication: " + cluster.communication());
      }
      if (!r.completed()) {
        err.println("error: training stopped: " + r.stopReason());
        return Main.EXIT_DEVIATION;
      }
      Evaluation last = r.lastTest();
      if (last != null) {
        o.printf(Locale.ROOT, "final: test loss %.4f, test accuracy %.4f after %d steps%n",
            last.loss(), last.accuracy(), r.steps());
      }
    }
    return 0;
  }

  private static void check(boolean ok, String message) {
    if (!ok) {
      throw new IllegalArgumentException(message);
    }
  }

  private ModelSpec modelSpec() throws IOException {
    if (model.endsWith(".json")) {
      Path p = Path.of(model);
      check(Files.isRegularFile(p), "--model: no such file " + p);
      return CaseJson.readModel(Files.readString(p, StandardCharsets.UTF_8));
    }
    return BuiltInModels.parse(model).spec();
  }

  private Map<String, Object> hyperParameterMap() {
    Map<String, Object> hp = new LinkedHashMap<>();
    for (String kv : hyperParameters) {
      OptimizerSpec.putParameter(hp, kv);
    }
    if (lr != null) {
      check(!hp.containsKey("lr"), "--lr: lr is also given with --hp");
      hp.put("lr", lr);
    }
    return hp;
  }

  /**
   * The training and test sets in the model's shapes: classification inputs standardised with
   * the training set's mean and deviation; an autoencoder's targets are its raw inputs. The
   * 784 pixels of an image are reshaped (row-major, no copy) to the model's input shape:
   * {@code [1, 28, 28]} for a CNN, {@code [28, 28]} — 28 time steps, one image row each — for
   * an LSTM.
   */
  private static ArrayDataset[] prepare(ModelSpec ms, ArrayDataset train, ArrayDataset test) {
    int[] in = ms.inputShape();
    int pixels = Shapes.size(train.sampleShape());
    check(Shapes.size(in) == pixels, "--model: input shape "
        + Arrays.toString(in) + " holds " + Shapes.size(in)
        + " values but a Fashion-MNIST image has " + pixels + " (28x28 pixels: [784], [1, 28,"
        + " 28], or [28, 28] for an LSTM, 28 time steps of 28 pixels)");
    if (ms.loss() == LossKind.SOFTMAX_CROSS_ENTROPY) {
      check(ms.outputShape()[0] == FashionMnist.CLASSES, "--model: Fashion-MNIST has 10 classes"
          + " but the model has " + ms.outputShape()[0] + " outputs");
      Normalization n = Normalization.fit(train);
      return new ArrayDataset[] {
        train.normalized(n).reshaped(in), test.normalized(n).reshaped(in)};
    }
    check(ms.outputShape()[0] == 784, "--model: a model of Fashion-MNIST either classifies"
        + " (softmax cross-entropy, 10 outputs) or reconstructs the 784 pixels (mse or sigmoid"
        + " binary cross-entropy), but this one has " + ms.outputShape()[0] + " outputs");
    return new ArrayDataset[] {
      train.autoencoding().reshaped(in), test.autoencoding().reshaped(in)};
  }

  /** The rows of the resumed run's metrics.csv for the epochs before {@code epoch}. */
  private List<String[]> earlierMetrics(int epoch) throws IOException {
    List<String[]> rows = new ArrayList<>();
    Path f = out.resolve(METRICS);
    if (!Files.isRegularFile(f)) {
      return rows;
    }
    List<String> lines = Files.readAllLines(f, StandardCharsets.UTF_8);
    for (int i = 1; i < lines.size(); i++) {
      String[] r = lines.get(i).split(",", -1);
      if (r.length == 6 && Integer.parseInt(r[0]) <= epoch) {
        rows.add(r);
      }
    }
    return rows;
  }

  private static String num(double v) {
    return Double.isNaN(v) ? "" : String.format(Locale.ROOT, "%.6g", v);
  }

  private static double parse(String s) {
    return s.isEmpty() ? Double.NaN : Double.parseDouble(s);
  }

  /** metrics.csv, replaced atomically. */
  private void writeMetrics(List<String[]> rows) throws IOException {
    StringBuilder sb = new StringBuilder(METRICS_HEADER).append('\n');
    for (String[] r : rows) {
      sb.append(String.join(",", r)).append('\n');
    }
    AtomicFiles.write(out.resolve(METRICS), sb.toString().getBytes(StandardCharsets.UTF_8));
  }

  /** curves.png: losses per epoch above, test accuracy below. */
  private void plot(List<String[]> rows) throws IOException {
    int n = rows.size();
    double[] ep = new double[n];
    double[] trainLoss = new double[n];
    double[] testLoss = new double[n];
    double[] acc = new double[n];
    for (int i = 0; i < n; i++) {
      ep[i] = Integer.parseInt(rows.get(i)[0]);
      trainLoss[i] = parse(rows.get(i)[2]);
      testLoss[i] = parse(rows.get(i)[3]);
      acc[i] = parse(rows.get(i)[4]);
    }
    List<Charts.Panel> panels = new ArrayList<>();
    panels.add(new Charts.Panel("loss", List.of(
        new Charts.Line("train loss (mini-batches, train mode)", ep, trainLoss),
        new Charts.Line("test loss (eval mode)", ep, testLoss))));
    if (Arrays.stream(acc).anyMatch(Double::isFinite)) {
      panels.add(new Charts.Panel("test accuracy", List.of(
          new Charts.Line("test accuracy", ep, acc))));
    }
    Charts.write(model + " · " + optimizer + " · " + backend, "epoch", true, panels,
        out.resolve(CURVES), 800, 600);
  }

  /** Writes metrics.csv and curves.png after every epoch, and one line to the output. */
  private final class MetricsWriter implements TrainingListener {
    private final PrintWriter o;
    private final List<String[]> rows;
    private long samples;

    MetricsWriter(PrintWriter o, List<String[]> rows) {
      this.o = o;
      this.rows = rows;
    }

    @Override
    public void epochStarted(int epoch, int batches, int firstBatch) {
      samples = 0;
    }

    @Override
    public void stepped(StepEvent e) {
      samples += e.samples();
    }

    @Override
    public void epochEnded(EpochResult r) {
      Evaluation e = r.test();
      rows.add(new String[] {
        Integer.toString(r.epoch() + 1), Long.toString(r.step()), num(r.trainLoss()),
        e == null ? "" : num(e.loss()), e == null ? "" : num(e.accuracy()),
        String.format(Locale.ROOT, "%.3f", r.seconds())});
      try {
        writeMetrics(rows);
        plot(rows);
      } catch (IOException ex) {
        throw new java.io.UncheckedIOException("train: cannot write to " + out, ex);
      }
      if (!quiet) {
        o.printf(Locale.ROOT, "epoch %d/%d: train loss %.4f, test loss %.4f, test accuracy"
                + " %.4f (%.1f s, %.0f samples/s)%n", r.epoch() + 1, epochs, r.trainLoss(),
            e == null ? Double.NaN : e.loss(), e == null ? Double.NaN : e.accuracy(),
            r.seconds(), r.seconds() > 0 ? samples / r.seconds() : 0.0);
        o.flush();
      }
    }
  }

  /** A progress bar per epoch on a terminal (me.tongfei:progressbar); nothing otherwise. */
  private static final class Progress implements TrainingListener {
    private final PrintWriter err;
    private final boolean enabled;
    private ProgressBar bar;

    Progress(PrintWriter err, boolean enabled) {
      this.err = err;
      this.enabled = enabled;
    }

    @Override
    public void epochStarted(int epoch, int batches, int firstBatch) {
      if (!enabled) {
        return;
      }
      bar = new ProgressBarBuilder()
          .setTaskName("epoch " + (epoch + 1))
          .setInitialMax(batches)
          .setStyle(ProgressBarStyle.ASCII)
          .setUnit(" batches", 1)
          .showSpeed()
          .setConsumer(new ConsoleProgressBarConsumer(System.err))
          .build();
      bar.stepTo(firstBatch);
    }

    @Override
    public void stepped(StepEvent e) {
      if (bar != null) {
        bar.step();
        bar.setExtraMessage(String.format(Locale.ROOT, "loss %.4f", e.report().loss()));
      }
    }

    @Override
    public void epochEnded(EpochResult r) {
      if (bar != null) {
        bar.close();
        bar = null;
        err.flush();
      }
    }
  }
}
