package io.github.sgdph.experiments;

import io.github.sgdph.experiments.Runs.Method;
import io.github.sgdph.experiments.Runs.Score;
import io.github.sgdph.io.FashionMnist;
import io.github.sgdph.model.BuiltInModels;
import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.tensor.DType;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code sgdph experiment NAME}: the experiments of EXPERIMENTS.md on Fashion-MNIST, each with
 * the configuration EXPERIMENTS.md reports by default ({@code --quick}: a tiny one, for tests).
 */
@Command(
    name = "experiment",
    mixinStandardHelpOptions = true,
    description = {
      "Runs one experiment of EXPERIMENTS.md on Fashion-MNIST and writes its tables (CSV,"
          + " Markdown) and PNG plots to --out.",
      "NAME: sgdph-cnn (SGD-PH vs SGD with momentum and Adam on the BN CNN), sgn-large-batch"
          + " (SGN vs tuned SGD and Adam at batch 1000), hf-autoencoder (block-diagonal HF vs HF"
          + " vs Adam on the deep autoencoder), hessian-analysis (top Hessian eigenvalue, H-M"
          + " alignment, sharpness vs random labels), resnet-sgdph (SGD-PH vs SGD with"
          + " momentum on the built-in ResNet-8), kfac-fashion (KFAC vs SGD with momentum and"
          + " Adam on the BN MLP and the BN CNN), lstm-bdhf (block-diagonal HF vs HF vs Adam on the"
          + " two-layer LSTM over sequential Fashion-MNIST)."
    })
public final class ExperimentCommand implements Callable<Integer> {

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Parameters(index = "0", paramLabel = "NAME", description = "The experiment.")
  String name;

  @Option(names = "--out", paramLabel = "DIR",
      description = "Output directory; default experiments/results/NAME.")
  Path out;

  @Option(names = "--data-dir", paramLabel = "DIR",
      description = "Fashion-MNIST's IDX files; default " + FashionMnist.DEFAULT_DIR
          + " (apt-get install dataset-fashion-mnist).")
  Path dataDir;

  @Option(names = "--backend", paramLabel = "NAME",
      description = "Override the experiment's backend (reference, djl, tensorflow, dl4j).")
  String backend;

  @Option(names = "--dtype", paramLabel = "D", description = "Override the precision.")
  String dtype;

  @Option(names = "--seeds", split = ",", paramLabel = "S,S,...",
      description = "Seeds (the first one tunes); default 0,1,2.")
  List<Long> seeds = List.of(0L, 1L, 2L);

  @Option(names = "--quick",
      description = "A tiny configuration (hundreds of images, one or two epochs) that checks"
          + " the pipeline in seconds; its figures mean nothing.")
  boolean quick;

  @Mixin Overrides overrides = new Overrides();

  /** Options that override an experiment's sizes. */
  static final class Overrides {
    @Option(names = "--train", paramLabel = "N", description = "Training images.")
    Integer train;

    @Option(names = "--epochs", paramLabel = "E", description = "Epochs (the most, for"
        + " hessian-analysis).")
    Integer epochs;

    @Option(names = "--grid", split = ",", paramLabel = "LR,LR,...",
        description = "The learning-rate grid of the tuned methods (hessian-analysis: its"
            + " first value is SGD's rate).")
    List<Double> grid;

    @Option(names = "--models", split = ",", paramLabel = "M,M",
        description = "kfac-fashion: the models, mlp and/or cnn (default both).")
    List<String> models;

    @Option(names = "--lr-decay-at", paramLabel = "F",
        description = "hessian-analysis: divide SGD's rate by 10 after this fraction of the"
            + " epochs (default 0.5; 1: never).")
    Double decayAt;
  }

  /**
   * Runs the command line.
   *
   * @param args the arguments
   */
  public static void main(String... args) {
    System.exit(execute(new PrintWriter(System.out, true, StandardCharsets.UTF_8),
        new PrintWriter(System.err, true, StandardCharsets.UTF_8), args));
  }

  /**
   * Runs the command line with these writers.
   *
   * @param out standard output
   * @param err error output
   * @param args the arguments
   * @return the exit code: 0 done, 2 bad usage or input
   */
  public static int execute(PrintWriter out, PrintWriter err, String... args) {
    CommandLine cl = new CommandLine(new ExperimentCommand());
    cl.setOut(out);
    cl.setErr(err);
    cl.setExecutionExceptionHandler((e, line, parsed) -> {
      if (e instanceof IllegalArgumentException || e instanceof java.io.UncheckedIOException
          || e instanceof java.io.IOException) {
        line.getErr().println("error: " + e.getMessage());
        return 2;
      }
      throw e;
    });
    int code = cl.execute(args);
    out.flush();
    err.flush();
    return code;
  }

  @Override
  public Integer call() throws Exception {
    PrintWriter o = spec.commandLine().getOut();
    Path dir = dataDir != null ? dataDir : FashionMnist.defaultDirectory();
    Path to = out != null ? out : Path.of("experiments", "results", name);
    String summary = switch (name) {
      case "sgdph-cnn", "sgn-large-batch", "hf-autoencoder", "resnet-sgdph", "lstm-bdhf" ->
          Comparison.run(comparison(name), dir, to, o);
      case "hessian-analysis" -> HessianAnalysis.run(hessian(), dir, to, o);
      case "kfac-fashion" -> kfacFashion(dir, to, o);
      default -> throw new IllegalArgumentException("NAME: unknown experiment '" + name
          + "'; known: sgdph-cnn, sgn-large-batch, hf-autoencoder, hessian-analysis,"
          + " resnet-sgdph, kfac-fashion, lstm-bdhf");
    };
    o.println();
    o.println(summary);
    o.println("wrote " + to);
    return 0;
  }

  /**
   * kfac-fashion: the comparison on each model of {@code --models} (the BN MLP in {@code
   * OUT/mlp}, the BN CNN in {@code OUT/cnn}), one summary of them in {@code OUT/summary.md}. The
   * summary quotes {@code OUT/mlp/summary.md} and {@code OUT/cnn/summary.md}, whichever exist, so
   * one model can be re-run alone ({@code --models cnn}) without losing the other's section.
   */
  private String kfacFashion(Path dir, Path to, PrintWriter o) throws java.io.IOException {
    List<String> models = overrides.models != null ? overrides.models : KFAC_MODELS;
    for (String m : models) {
      if (!KFAC_MODELS.contains(m)) {
        throw new IllegalArgumentException(
            "--models: expected mlp or cnn but was '" + m + "'");
      }
    }
    for (String m : models) {
      Comparison.run(comparison("kfac-fashion-" + m), dir, to.resolve(m), o);
    }
    StringBuilder sb =
        new StringBuilder("### KFAC vs SGD with momentum and Adam, Fashion-MNIST\n\n");
    for (String m : KFAC_MODELS) {
      Path part = to.resolve(m).resolve("summary.md");
      if (java.nio.file.Files.isRegularFile(part)) {
        sb.append(java.nio.file.Files.readString(part)).append('\n');
      }
    }
    String summary = sb.toString();
    Report.write(to.resolve("summary.md"), summary);
    return summary;
  }

  private DType dtype(DType byDefault) {
    return dtype == null ? byDefault : DType.parse(dtype);
  }

  private int size(int full, int tiny) {
    return overrides.train != null ? overrides.train : quick ? tiny : full;
  }

  private int epochs(int full, int tiny) {
    return overrides.epochs != null ? overrides.epochs : quick ? tiny : full;
  }

  private List<Double> grid(List<Double> full) {
    if (overrides.grid != null) {
      return overrides.grid;
    }
    return quick ? List.of(full.get(1), full.get(full.size() - 2)) : full;
  }

  private String backend(String byDefault) {
    return backend != null ? backend : byDefault;
  }

  /**
   * resnet-sgdph's backend: DJL, whose SGD-PH epochs of the ResNet-8 in float32 cost the same
   * from the first one, where TensorFlow Java's first SGD-PH epoch of every fresh model takes
   * about ten times its later ones (EXPERIMENTS.md §5 has the figures).
   */
  static final String RESNET_BACKEND = "djl";

  /**
   * resnet-sgdph's training images: with {@link #RESNET_EPOCHS}, what lets its 14 runs finish in
   * about 45 minutes on this 2-core machine while others build.
   */
  static final int RESNET_TRAIN = 16_000;

  /** resnet-sgdph's epochs per run. */
  static final int RESNET_EPOCHS = 6;

  /**
   * kfac-fashion's MLP backend: the reference (float64), the one backend whose Kronecker-factor
   * SPI and labelled objectives (the Monte-Carlo Fisher) were on main when the MLP's runs were
   * made.
   */
  static final String KFAC_BACKEND = "reference";

  /**
   * kfac-fashion's KFAC: momentum 0.9 as SGD's, damping fixed at the optimizer's default 0.001
   * (not tuned), the other settings KFAC-Pytorch's defaults except the inverse every 20 steps
   * instead of 100 (runs here are a few hundred steps long).
   */
  static final Map<String, Object> KFAC_SETTINGS = Map.of("momentum", 0.9, "damping", 0.001,
      "t_cov", 10L, "t_inv", 20L);

  /** The learning-rate grid of the optimizer comparisons, 10⁻³ to 10⁻¹ in half decades. */
  static final List<Double> GRID = List.of(1e-3, 3e-3, 1e-2, 3e-2, 1e-1);

  /** Adam's grid beside the HF methods (hf-autoencoder, lstm-bdhf): 10⁻⁴ to 10⁻². */
  static final List<Double> ADAM_GRID = List.of(1e-4, 3e-4, 1e-3, 3e-3, 1e-2);

  /** The CG budget of the HF methods (hf-autoencoder, lstm-bdhf): iterations per CG run. */
  static final long HF_CG_MAX_ITER = 20;

  /**
   * lstm-bdhf's training images: with {@link #LSTM_EPOCHS} and {@link #LSTM_BATCH}, its 13 runs
   * took 15.7 minutes on this 2-core machine while others built, within the 35-minute budget
   * with room for a busier machine (EXPERIMENTS.md §7 has the measurements that chose them).
   */
  static final int LSTM_TRAIN = 20_000;

  /** lstm-bdhf's epochs per run. */
  static final int LSTM_EPOCHS = 4;

  /** lstm-bdhf's mini-batch. */
  static final int LSTM_BATCH = 500;

  Comparison.Config comparison(String experiment) {
    int val = quick ? 200 : 0;
    int test = quick ? 200 : 10_000;
    Method sgd = new Method("SGD", "sgd", Map.of("momentum", 0.9), true);
    Method adam = new Method("Adam", "adam", Map.of(), true);
    Method sgdph = new Method("SGD-PH", "sgdph", Map.of("momentum", 0.9), true);
    return switch (experiment) {
      case "sgdph-cnn" -> {
        ModelSpec cnn = BuiltInModels.CNN.spec();
        yield new Comparison.Config(experiment,
            "SGD-PH vs SGD with momentum and Adam, BN CNN, Fashion-MNIST", cnn, "cnn",
            backend("tensorflow"), dtype(DType.FLOAT32), size(8_000, 256),
            quick ? val : 2_000, test, epochs(5, 1), 128, 0, grid(GRID),
            List.of(sgd, adam, sgdph), Score.ACCURACY, false, seeds);
      }
      case "resnet-sgdph" -> new Comparison.Config(experiment,
          "SGD-PH vs SGD with momentum, ResNet-8, Fashion-MNIST", BuiltInModels.RESNET.spec(),
          "resnet", backend(RESNET_BACKEND), dtype(DType.FLOAT32), size(RESNET_TRAIN, 128),
          quick ? val : 2_000, test, epochs(RESNET_EPOCHS, 1), 128, 0, grid(GRID),
          List.of(sgd, sgdph), Score.ACCURACY, false, seeds);
      case "sgn-large-batch" -> new Comparison.Config(experiment,
          "SGN (default step size, 10 CG iterations) vs tuned SGD and Adam at batch 1000,"
              + " BN MLP", BuiltInModels.MLP.spec(), "mlp", backend("djl"),
          dtype(DType.FLOAT32), size(50_000, 512), quick ? val : 5_000, test, epochs(8, 1),
          quick ? 128 : 1000, 0, grid(GRID),
          List.of(sgd, adam, new Method("SGN", "sgn", Map.of(), false)), Score.LOSS, true,
          seeds);
      case "hf-autoencoder" -> new Comparison.Config(experiment,
          "Block-diagonal HF vs HF vs Adam, deep autoencoder 784-500-250-30-250-500-784",
          BuiltInModels.AUTOENCODER.spec(), "autoencoder", backend("djl"),
          dtype(DType.FLOAT32), size(20_000, 256), quick ? val : 2_000, test, epochs(10, 1),
          quick ? 128 : 1000, 0, grid(ADAM_GRID), hfMethods(adam),
          Score.RECONSTRUCTION_ERROR, false, seeds);
      case "lstm-bdhf" -> new Comparison.Config(experiment,
          "Block-diagonal HF vs HF vs Adam, two-layer LSTM on Fashion-MNIST rows",
          BuiltInModels.LSTM.spec(), "lstm", backend("djl"), dtype(DType.FLOAT32),
          size(LSTM_TRAIN, 128), quick ? val : 2_000, quick ? 100 : test,
          epochs(LSTM_EPOCHS, 1), quick ? 64 : LSTM_BATCH, 0, grid(ADAM_GRID),
          hfMethods(adam), Score.ACCURACY, false, seeds);
      case "kfac-fashion-mlp", "kfac-fashion-cnn" -> {
        boolean mlp = experiment.endsWith("mlp");
        BuiltInModels model = mlp ? BuiltInModels.MLP : BuiltInModels.CNN;
        yield new Comparison.Config(experiment,
            "KFAC vs SGD with momentum and Adam, BN " + (mlp ? "MLP" : "CNN")
                + ", Fashion-MNIST", model.spec(), mlp ? "mlp" : "cnn",
            backend(mlp ? KFAC_BACKEND : KFAC_CNN_BACKEND),
            dtype(mlp ? DType.FLOAT64 : DType.FLOAT32),
            size(mlp ? KFAC_MLP_TRAIN : KFAC_CNN_TRAIN, 256), quick ? val : 1_000,
            quick ? test : 2_000, epochs(mlp ? KFAC_MLP_EPOCHS : KFAC_CNN_EPOCHS, 1), 128, 0,
            grid(GRID), List.of(sgd, adam, new Method("KFAC", "kfac", KFAC_SETTINGS, true)),
            Score.ACCURACY, false, seeds);
      }
      default -> throw new IllegalArgumentException("NAME: unknown experiment " + experiment);
    };
  }

  /**
   * Adam, full HF and block-diagonal HF (one block per layer, a stacked LSTM's layers each their
   * own), the HF methods at their defaults with at most {@link #HF_CG_MAX_ITER} CG iterations
   * per run (per block for block-diagonal HF): §3's methods and budget.
   */
  private static List<Method> hfMethods(Method adam) {
    Map<String, Object> cg = Map.of("cg_max_iter", HF_CG_MAX_ITER);
    return List.of(adam, new Method("HF", "hf", cg, false),
        new Method("block-diagonal HF", "bdhf", cg, false));
  }

  /** kfac-fashion's models, both run by default: the BN MLP and the BN CNN. */
  static final List<String> KFAC_MODELS = List.of("mlp", "cnn");

  /** kfac-fashion's MLP training images: with the epochs, its 21 runs take ≤ 30 min here. */
  static final int KFAC_MLP_TRAIN = 8_000;

  /** kfac-fashion's MLP epochs. */
  static final int KFAC_MLP_EPOCHS = 5;

  /**
   * kfac-fashion's CNN backend: DJL in float32, whose Kronecker-factor SPI the conformance kit
   * checks against the reference. The reference backend's pure-Java convolutions cost about 1 s
   * per SGD step of this CNN here, so its 21 runs would take hours; on DJL an SGD step cost
   * 0.05 s and a KFAC step 0.47 s with factors every 10 steps and inverses every 20 (EXPERIMENTS.md
   * §6: 21.8 minutes for the 21 runs).
   */
  static final String KFAC_CNN_BACKEND = "djl";

  /** kfac-fashion's CNN training images: as the MLP's. */
  static final int KFAC_CNN_TRAIN = 8_000;

  /** kfac-fashion's CNN epochs: as the MLP's. */
  static final int KFAC_CNN_EPOCHS = 5;

  HessianAnalysis.Config hessian() {
    return new HessianAnalysis.Config(backend("reference"), dtype(DType.FLOAT64),
        new int[] {100, 100}, size(1_000, 200), quick ? 200 : 10_000, 50,
        overrides.grid != null ? overrides.grid.get(0) : 0.05,
        overrides.decayAt != null ? overrides.decayAt : 0.5, 0.9, epochs(200, 2), 0.99,
        quick ? List.of(0.0, 1.0) : List.of(0.0, 0.25, 0.5, 1.0), quick ? 1 : 5,
        quick ? 50 : 250, quick ? 2 : 5, quick ? 12 : 60, seeds);
  }
}
