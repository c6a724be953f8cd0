package io.github.sgdph.djl;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.github.sgdph.data.RandomBatches;
import io.github.sgdph.model.DefaultInitializer;
import io.github.sgdph.model.LayerSpec;
import io.github.sgdph.model.LossKind;
import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.model.SpecBackend;
import io.github.sgdph.model.SpecModel;
import io.github.sgdph.optim.Optimizer;
import io.github.sgdph.optim.SgdPh;
import io.github.sgdph.optim.Sgn;
import io.github.sgdph.optim.StepReport;
import io.github.sgdph.tensor.DType;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.TimeUnit;

/**
 * Optimizer steps on a small spec model with train-mode batch norm, a fresh batch each step, with
 * the frameworks' native memory ({@link NativeMemory}) read every {@link #SAMPLE_EVERY} steps; run
 * by the adapter's leak test in child JVMs with Native Memory Tracking ({@link #fork}). The class
 * is the same in each adapter's tests (the modules share no test code) but for
 * {@link #backend()}, {@link #COUNTER} and {@link #holdNative}.
 */
final class StepLeakCheck {
  /** Steps between the first and the last sample. */
  static final int STEPS = 2000;
  /** Readings every this many steps: 9 over the {@link #STEPS}. */
  static final int SAMPLE_EVERY = 250;
  /** Samples per batch: a fresh batch of this size each step. */
  static final int BATCH = 8;
  /** The calibration's allocations: 2000 framework arrays of 5 KB, 9.8 MB (2^20 bytes) in all. */
  static final int CALIBRATION_ARRAYS = 2000;
  /** The size of each calibration array in bytes. */
  static final int CALIBRATION_BYTES = 5 * 1024;
  /** The key of the calibration's result. */
  static final String CALIBRATION = "calibration";

  private StepLeakCheck() {}

  /** The adapter's backend. */
  static SpecBackend backend() {
    return new DjlBackend();
  }

  /**
   * The framework's own count of its native bytes, or null: DJL exposes no PyTorch CPU allocator
   * statistics (PyTorch keeps them only for CUDA).
   */
  static final String COUNTER = null;

  /** The value of {@link #COUNTER}, or 0. */
  static long counterBytes() {
    return 0;
  }

  /**
   * {@code count} PyTorch arrays of {@code bytes} each, written (so resident), held until the
   * result is closed.
   */
  static AutoCloseable holdNative(int count, int bytes) {
    NDManager manager = NDManager.newBaseManager(Device.cpu(), "PyTorch");
    for (int i = 0; i < count; i++) {
      manager.ones(new Shape(bytes / 4)); // the manager holds it
    }
    return manager::close;
  }

  /**
   * The optimizers under test, each with its warm-up: the steps before the first sample, in which
   * the JIT, the allocators and the frameworks' caches settle. Measured on the DL4J adapter, its
   * native memory grows by 2–4 MB over its first ~1000 SGD-PH steps and then no more (12,000
   * steps measured); SGN, with 10 products a step, settles within 200 steps.
   */
  enum Method {
    /** SGD-PH with the reference code's defaults: a gradient and a restricted Hessian product. */
    SGD_PH(1000),
    /**
     * SGN with exactly 10 CG iterations a step (tolerance 0: CG stops only at 10 iterations or a
     * zero residual), so 10 Gauss-Newton products, and the Armijo line search's loss. Damping
     * ρ = 1 keeps 2200 steps on random labels bounded (ρ = 1e-3, the default, takes steps to
     * |θ| ~ 1e5 within 100 steps and CG then stops early on saturated units).
     */
    SGN(200);

    /** Steps before the first sample. */
    final int warmUp;

    Method(int warmUp) {
      this.warmUp = warmUp;
    }

    Optimizer create() {
      return switch (this) {
        case SGD_PH -> SgdPh.builder().build();
        case SGN -> Sgn.builder().rho(1).maxCgIters(10).cgTol(0).build();
      };
    }
  }

  /**
   * One run's samples.
   *
   * @param samples the frameworks' native bytes after the warm-up and then every
   *     {@link #SAMPLE_EVERY} steps (for the calibration: before and while holding), "readings"
   * @param counters {@link #counterBytes()} at the same times
   * @param seconds the wall time of the run (warm-up and samples included)
   * @param cpuSeconds the process's CPU time in the run, all threads (on a busy machine a
   *     better measure of the cost than {@code seconds})
   * @param cgIterations CG iterations summed over the sampled steps (-1 a step for SGD-PH)
   */
  record Result(long[] samples, long[] counters, double seconds, double cpuSeconds,
      long cgIterations) {
    /** The last reading minus the first. */
    long growth() {
      return samples[samples.length - 1] - samples[0];
    }

    /** The highest reading minus the first. */
    long excursion() {
      long max = Long.MIN_VALUE;
      for (long b : samples) {
        max = Math.max(max, b);
      }
      return max - samples[0];
    }

    /**
     * The steady growth over {@link #STEPS} steps: the Theil–Sen slope of the readings (the
     * median of the slopes between every two of them) times the steps. A leak grows the readings
     * step by step and sets this slope; a transient excursion — measured on DL4J with SGN,
     * 5–16 MB held for some hundred steps and then returned — raises one or two readings, which
     * moves the median of the 36 pairwise slopes little.
     */
    long steadyGrowth() {
      int n = samples.length;
      double[] slopes = new double[n * (n - 1) / 2];
      int k = 0;
      for (int i = 0; i < n; i++) {
        for (int j = i + 1; j < n; j++) {
          slopes[k++] = (samples[j] - samples[i]) / (double) (j - i);
        }
      }
      Arrays.sort(slopes);
      double median = (slopes[(k - 1) / 2] + slopes[k / 2]) / 2;
      return Math.round(median * (n - 1));
    }

    /** The last counter minus the first. */
    long counterGrowth() {
      return counters[counters.length - 1] - counters[0];
    }

    String describe() {
      String out = samples.length > 2
          ? "steady growth " + mb(steadyGrowth()) + " MB, last minus first " + mb(growth())
              + " MB, highest minus first " + mb(excursion()) + " MB (readings " + mbs(samples)
              + " MB)"
          : "grew " + mb(growth()) + " MB (readings " + mbs(samples) + " MB)";
      if (COUNTER != null) {
        out += "; " + COUNTER + " grew " + mb(counterGrowth()) + " MB (" + mbs(counters) + ")";
      }
      return out + String.format(Locale.ROOT, "; %.1f s, %.1f s CPU", seconds, cpuSeconds);
    }

    private static String mbs(long[] bytes) {
      StringBuilder s = new StringBuilder();
      for (long b : bytes) {
        s.append(s.length() == 0 ? "" : " ").append(mb(b));
      }
      return s.toString();
    }

    String format(String key) {
      StringBuilder s = new StringBuilder("RESULT ").append(key).append(' ').append(seconds)
          .append(' ').append(cpuSeconds).append(' ').append(cgIterations).append(' ')
          .append(samples.length);
      for (long b : samples) {
        s.append(' ').append(b);
      }
      for (long b : counters) {
        s.append(' ').append(b);
      }
      return s.toString();
    }

    static Map.Entry<String, Result> parse(String line) {
      String[] f = line.trim().split(" ");
      int n = Integer.parseInt(f[5]);
      long[] samples = new long[n];
      long[] counters = new long[n];
      for (int i = 0; i < n; i++) {
        samples[i] = Long.parseLong(f[6 + i]);
        counters[i] = Long.parseLong(f[6 + n + i]);
      }
      return Map.entry(f[1], new Result(samples, counters, Double.parseDouble(f[2]),
          Double.parseDouble(f[3]), Long.parseLong(f[4])));
    }
  }

  /** The process's CPU time, all threads. */
  static long cpuNanos() {
    return ((com.sun.management.OperatingSystemMXBean)
        ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
  }

  static String mb(long bytes) {
    return String.format(Locale.ROOT, "%.1f", bytes / 1048576.0);
  }

  /** 16 inputs, dense 32, train-mode batch norm, tanh, dense 4, softmax cross-entropy. */
  static ModelSpec mlp() {
    return new ModelSpec(new int[] {16}, List.of(
        new LayerSpec.Dense(16, 32, true),
        new LayerSpec.BatchNorm(32, 1e-5, 0.1, LayerSpec.Mode.TRAIN),
        new LayerSpec.Activation(LayerSpec.ActivationKind.TANH),
        new LayerSpec.Dense(32, 4, true)),
        LossKind.SOFTMAX_CROSS_ENTROPY);
  }

  /** The key of a configuration, e.g. {@code FLOAT32:SGN}. */
  static String key(DType dtype, Method method) {
    return dtype + ":" + method;
  }

  /** The method's warm-up steps, then {@link #STEPS} steps with samples. */
  static Result run(DType dtype, Method method) {
    long t0 = System.nanoTime();
    long c0 = cpuNanos();
    ModelSpec spec = mlp();
    SplittableRandom rnd = new SplittableRandom(7);
    long[] samples = new long[STEPS / SAMPLE_EVERY + 1];
    long[] counters = new long[samples.length];
    long cg = 0;
    try (SpecModel model = backend().build(spec, DefaultInitializer.initialize(spec, rnd),
        dtype)) {
      Optimizer opt = method.create();
      for (int i = -method.warmUp; i < STEPS; i++) {
        if (i >= 0 && i % SAMPLE_EVERY == 0) {
          samples[i / SAMPLE_EVERY] = NativeMemory.frameworkBytes();
          counters[i / SAMPLE_EVERY] = counterBytes();
        }
        StepReport r = opt.step(model.objective(RandomBatches.forSpec(spec, BATCH, rnd)));
        if (i >= 0) {
          cg += r.cgIterations();
        }
      }
      samples[samples.length - 1] = NativeMemory.frameworkBytes();
      counters[samples.length - 1] = counterBytes();
    }
    return new Result(samples, counters, (System.nanoTime() - t0) / 1e9,
        (cpuNanos() - c0) / 1e9, cg);
  }

  /**
   * The measure's sensitivity: the frameworks' native bytes before and while holding
   * {@link #CALIBRATION_ARRAYS} arrays of {@link #CALIBRATION_BYTES} (9.8 MB, what a leak of
   * 5 KB a step leaves after {@link #STEPS} steps).
   */
  static Result calibrate() throws Exception {
    long t0 = System.nanoTime();
    long c0 = cpuNanos();
    holdNative(1, CALIBRATION_BYTES).close(); // the framework's first allocation is not a leak
    long before = NativeMemory.frameworkBytes();
    long counterBefore = counterBytes();
    try (AutoCloseable held = holdNative(CALIBRATION_ARRAYS, CALIBRATION_BYTES)) {
      long holding = NativeMemory.frameworkBytes();
      return new Result(new long[] {before, holding}, new long[] {counterBefore, counterBytes()},
          (System.nanoTime() - t0) / 1e9, (cpuNanos() - c0) / 1e9, 0);
    }
  }

  /**
   * The child JVM: runs the named configurations ({@code FLOAT32:SGD_PH}, ...,
   * {@code calibration}) in turn and prints one {@code RESULT} line each.
   */
  public static void main(String[] args) throws Exception {
    if (!NativeMemory.available()) {
      throw new IllegalStateException("run with -XX:NativeMemoryTracking=summary on Linux");
    }
    for (String a : args) {
      Result r;
      if (a.equals(CALIBRATION)) {
        r = calibrate();
      } else {
        String[] p = a.split(":");
        r = run(DType.valueOf(p[0]), Method.valueOf(p[1]));
      }
      System.out.println(r.format(a));
      System.out.flush();
    }
  }

  /**
   * Runs {@link #main} in child JVMs on this JVM's class path, with Native Memory Tracking and
   * this JVM's {@code ai.djl.*}, {@code org.bytedeco.*}, {@code org.nd4j.*} and {@code sgdph.*}
   * system properties: one child per group of keys, all at once (on two cores the float32 and
   * float64 runs take the time of one; each child measures only its own memory), and returns
   * their results by key.
   *
   * @throws IllegalStateException with a child's last output lines if it fails or takes more
   *     than 15 minutes
   */
  static Map<String, Result> fork(List<List<String>> groups)
      throws IOException, InterruptedException {
    List<Child> children = new ArrayList<>();
    try {
      for (List<String> keys : groups) {
        children.add(new Child(keys));
      }
      Map<String, Result> out = new LinkedHashMap<>();
      for (Child c : children) {
        out.putAll(c.await());
      }
      return out;
    } finally {
      for (Child c : children) {
        c.process.destroyForcibly();
      }
    }
  }

  /** One child JVM and the reader of its output. */
  private static final class Child {
    final List<String> keys;
    final Process process;
    final Map<String, Result> results = new ConcurrentHashMap<>();
    final Deque<String> tail = new ConcurrentLinkedDeque<>();
    final Thread reader;

    Child(List<String> keys) throws IOException {
      this.keys = keys;
      List<String> cmd = new ArrayList<>();
      cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
      cmd.add("-XX:NativeMemoryTracking=summary");
      cmd.add("-Xmx1g");
      // a crash report goes to target/, not the module's directory (the failure names the file)
      cmd.add("-XX:ErrorFile=" + Path.of("target", "leak-check-hs_err_pid%p.log").toAbsolutePath());
      for (String name : System.getProperties().stringPropertyNames()) {
        if (name.startsWith("ai.djl.") || name.startsWith("org.bytedeco.")
            || name.startsWith("org.nd4j.") || name.startsWith("sgdph.")) {
          cmd.add("-D" + name + "=" + System.getProperty(name));
        }
      }
      cmd.add("-cp");
      cmd.add(System.getProperty("surefire.test.class.path",
          System.getProperty("java.class.path")));
      cmd.add(StepLeakCheck.class.getName());
      cmd.addAll(keys);
      ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
      // glibc returns freed memory at once: allocations from 128 KB are mapped and unmapped on
      // their own, and an arena's free top is trimmed from 128 KB. By default both thresholds
      // rise up to 32 and 64 MB once the JVM frees a large block (a JIT arena, a GC buffer), and
      // that much free memory then stays resident, out of reach of malloc_trim (which does not
      // trim the top of a thread's arena): measured, jumps of 5-8 MB in runs that leak nothing.
      // A leaked block is resident either way.
      pb.environment().put("MALLOC_MMAP_THRESHOLD_", "131072");
      pb.environment().put("MALLOC_TRIM_THRESHOLD_", "131072");
      process = pb.start();
      reader = new Thread(this::read, "leak-check-child-output");
      reader.setDaemon(true);
      reader.start();
    }

    private void read() {
      try (BufferedReader r = new BufferedReader(
          new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
        String line;
        while ((line = r.readLine()) != null) {
          if (line.startsWith("RESULT ")) {
            Map.Entry<String, Result> e = Result.parse(line);
            results.put(e.getKey(), e.getValue());
          } else {
            tail.addLast(line);
            if (tail.size() > 40) {
              tail.removeFirst();
            }
          }
        }
      } catch (IOException e) {
        tail.addLast("reading the child's output: " + e);
      }
    }

    Map<String, Result> await() throws InterruptedException {
      if (!process.waitFor(15, TimeUnit.MINUTES)) {
        process.destroyForcibly().waitFor();
        tail.addLast("killed after 15 minutes");
      }
      reader.join(10_000);
      if (process.exitValue() != 0 || !results.keySet().containsAll(keys)) {
        throw new IllegalStateException("the child JVM for " + keys + " exited with "
            + process.exitValue() + " after " + results.keySet() + "; its last lines:\n"
            + String.join("\n", tail));
      }
      return results;
    }
  }

  /**
   * Every configuration in two groups, float32 (with the calibration) and float64, for
   * {@link #fork}.
   */
  static List<List<String>> allGroups() {
    List<List<String>> groups = new ArrayList<>();
    for (DType d : Arrays.asList(DType.FLOAT32, DType.FLOAT64)) {
      List<String> keys = new ArrayList<>();
      for (Method m : Method.values()) {
        keys.add(key(d, m));
      }
      groups.add(keys);
    }
    groups.get(0).add(CALIBRATION);
    return groups;
  }
}
