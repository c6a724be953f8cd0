package io.github.sgdph.conformance;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.github.sgdph.model.DefaultInitializer;
import io.github.sgdph.model.LayerSpec;
import io.github.sgdph.model.LossKind;
import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.model.RandomBatches;
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
import java.lang.reflect.Constructor;
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
 * The leak check of optimizer steps every adapter runs: native memory stays flat over long runs of
 * SGD-PH and SGN (issue 12, part 5). An adapter's test subclasses this with its backend and a way
 * to hold framework arrays ({@link #backend()}, {@link #holdNative}) and calls
 * {@link #assertStepsKeepNativeMemoryFlat} for every dtype and {@link Method}, and
 * {@link #assertTheMeasureSeesALeak} once. The subclass needs a no-argument constructor: the
 * check runs in child JVMs that make their own instance.
 *
 * <p><b>What runs.</b> Per configuration, a warm-up ({@link Method#warmUp} steps: the JIT, the
 * allocators and the frameworks' caches settle) and then {@link #steps(Method)} steps (by default
 * {@value #STEPS}) on {@link #mlp()}, a 16-32-batch-norm(train)-tanh-4 MLP of the neutral spec,
 * with a fresh random batch of {@value #BATCH} each step; SGN makes exactly 10 conjugate-gradient
 * iterations a step (10 Gauss-Newton products) and the line search's loss. The frameworks' native
 * memory ({@link NativeMemory}: resident memory outside the Java heap minus the JVM's own) is read
 * {@value #READINGS} times, after the warm-up and then evenly over the measured steps. Each dtype
 * runs in its own child JVM, started with Native Memory Tracking (which the measure needs) and
 * fixed malloc thresholds; the two children run at once (each measures only its own memory).
 *
 * <p><b>The limits.</b> The steady growth — the Theil–Sen slope of the readings (the median of
 * the slopes between every two of them, which a leak sets and a transient excursion barely moves)
 * per step, times {@value #STEPS} — may be at most {@value #STEP_LIMIT_MB} MB (MB = 2^20 bytes):
 * a steady leak of about 2.6 KB a step or more fails. No reading may exceed the first by more than
 * {@value #FLAT_MB} MB (the "flat within 20 MB"). The 20 MB alone would not catch a
 * 10 MB leak: one framework array of 5 KB left behind a step leaves 9.8 MB after 2000 steps.
 *
 * <p><b>The calibration</b> ({@link #assertTheMeasureSeesALeak}) checks in every run that the
 * measure is not blind: {@value #CALIBRATION_ARRAYS} framework arrays of 5 KB held (9.8 MB, what a
 * leak of 5 KB a step leaves after 2000 steps) must read as at least the step limit plus 2 MB.
 * A leak can also be injected into the steps themselves with the system property
 * {@value #INJECT_PROPERTY} (bytes a step, held as framework arrays until the run ends), to see the
 * test fail.
 */
public abstract class LeakCheck {
  /** The steps the limits are stated for (and the default number of measured steps). */
  public static final int STEPS = 2000;
  /** Samples per batch: a fresh batch of this size each step. */
  public static final int BATCH = 8;
  /** Readings of the native memory per configuration: after the warm-up, then evenly spaced. */
  public static final int READINGS = 9;
  /** The most the native memory may grow steadily over {@value #STEPS} steps, MB. */
  public static final long STEP_LIMIT_MB = 5;
  /** The most any reading may exceed the first, MB (the "flat within 20 MB"). */
  public static final long FLAT_MB = 20;
  /** The most a framework's exact count of its own bytes ({@link #counterBytes()}) may grow, MB. */
  public static final long COUNTER_LIMIT_MB = 1;
  /** The calibration's allocations: this many framework arrays of {@value #CALIBRATION_BYTES}. */
  public static final int CALIBRATION_ARRAYS = 2000;
  /** The size of each calibration array in bytes (5 KB). */
  public static final int CALIBRATION_BYTES = 5 * 1024;
  /** The key of the calibration's result. */
  public static final String CALIBRATION = "calibration";
  /**
   * The system property that injects a leak into the measured steps: that many bytes a step,
   * held as framework arrays ({@link #holdNative}) until the run ends. Passed on to the child
   * JVMs like every {@code sgdph.*} property.
   */
  public static final String INJECT_PROPERTY = "sgdph.leakcheck.injectBytesPerStep";

  private Map<String, Result> results;
  private RuntimeException failure;

  /** For subclasses. */
  protected LeakCheck() {}

  /**
   * The adapter's backend.
   *
   * @return a backend that builds spec models
   */
  protected abstract SpecBackend backend();

  /**
   * Allocates {@code count} framework arrays (on the framework's native side) of {@code bytes}
   * each, written so that they are resident, and holds them until the result is closed.
   *
   * @param count how many arrays
   * @param bytes the size of each in bytes (a multiple of 4)
   * @return what releases them
   */
  protected abstract AutoCloseable holdNative(int count, int bytes);

  /**
   * What the framework's arrays are called in messages.
   *
   * @return e.g. {@code "ND4J arrays"}
   */
  protected abstract String arrays();

  /**
   * The name of the framework's own exact count of its native bytes, if it has one.
   *
   * @return a name for messages, or null (the default) if there is no such count
   */
  public String counterName() {
    return null;
  }

  /**
   * The framework's own count of its native bytes ({@link #counterName()}).
   *
   * @return the bytes; 0 by default
   */
  protected long counterBytes() {
    return 0;
  }

  /**
   * The measured steps of a method (after its warm-up); the growth is scaled to
   * {@value #STEPS} steps either way.
   *
   * @param method the optimizer
   * @return {@value #STEPS} by default; a multiple of {@code READINGS - 1}
   */
  protected int steps(Method method) {
    return STEPS;
  }

  /**
   * The optimizers under test, each with its warm-up: the steps before the first reading, in which
   * the JIT, the allocators and the frameworks' caches settle. Measured on the DL4J adapter, its
   * native memory grows by 2–4 MB over its first ~1000 SGD-PH steps and then no more (12,000
   * steps measured); SGN, with 10 products a step, settles within 200 steps.
   */
  public enum Method {
    /** SGD-PH with the reference code's defaults: a gradient and a restricted Hessian product. */
    SGD_PH(1000),
    /**
     * SGN with exactly 10 CG iterations a step (tolerance 0: CG stops only at 10 iterations or a
     * zero residual), so 10 Gauss-Newton products, and the Armijo line search's loss. Damping
     * ρ = 1 keeps long runs on random labels bounded (ρ = 1e-3, the default, takes steps to
     * |θ| ~ 1e5 within 100 steps and CG then stops early on saturated units).
     */
    SGN(200);

    /** Steps before the first reading. */
    public final int warmUp;

    Method(int warmUp) {
      this.warmUp = warmUp;
    }

    /**
     * A new optimizer of this method as the check runs it.
     *
     * @return the optimizer
     */
    public Optimizer create() {
      return switch (this) {
        case SGD_PH -> SgdPh.builder().build();
        case SGN -> Sgn.builder().rho(1).maxCgIters(10).cgTol(0).build();
      };
    }
  }

  /**
   * One run's readings.
   *
   * @param samples the frameworks' native bytes after the warm-up and then evenly over the
   *     measured steps ("readings"; for the calibration: before and while holding)
   * @param counters {@link #counterBytes()} at the same times
   * @param steps the measured steps (0 for the calibration)
   * @param seconds the wall time of the run (warm-up and readings included)
   * @param cpuSeconds the process's CPU time in the run, all threads (on a busy machine a better
   *     measure of the cost than {@code seconds})
   * @param cgIterations CG iterations summed over the measured steps (-1 a step for SGD-PH)
   */
  public record Result(long[] samples, long[] counters, int steps, double seconds,
      double cpuSeconds, long cgIterations) {
    /**
     * The last reading minus the first.
     *
     * @return bytes
     */
    public long growth() {
      return samples[samples.length - 1] - samples[0];
    }

    /**
     * The highest reading minus the first.
     *
     * @return bytes
     */
    public long excursion() {
      long max = Long.MIN_VALUE;
      for (long b : samples) {
        max = Math.max(max, b);
      }
      return max - samples[0];
    }

    /**
     * The steady growth over {@value LeakCheck#STEPS} steps: the Theil–Sen slope of the readings
     * (the median of the slopes between every two of them) per step, times
     * {@value LeakCheck#STEPS}. A leak grows the readings step by step and sets this slope; a
     * transient excursion — measured on DL4J with SGN, 5–16 MB held for some hundred steps and
     * then returned — raises one or two readings, which moves the median of the 36 pairwise
     * slopes little.
     *
     * @return bytes
     */
    public long steadyGrowth() {
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
      return Math.round(median * (n - 1) * STEPS / (double) steps);
    }

    /**
     * The last counter minus the first.
     *
     * @return bytes
     */
    public long counterGrowth() {
      return counters[counters.length - 1] - counters[0];
    }

    /**
     * The readings and derived figures in MB, with the cost, for logs and messages.
     *
     * @param counterName the counter's name, or null if there is none
     * @return one line
     */
    public String describe(String counterName) {
      String out = steps > 0
          ? "over " + steps + " steps: steady growth " + mb(steadyGrowth()) + " MB per " + STEPS
              + " steps, last minus first " + mb(growth()) + " MB, highest minus first "
              + mb(excursion()) + " MB (readings " + mbs(samples) + " MB)"
          : "grew " + mb(growth()) + " MB (readings " + mbs(samples) + " MB)";
      if (counterName != null) {
        out += "; " + counterName + " grew " + mb(counterGrowth()) + " MB (" + mbs(counters) + ")";
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
      StringBuilder s = new StringBuilder("RESULT ").append(key).append(' ').append(steps)
          .append(' ').append(seconds).append(' ').append(cpuSeconds).append(' ')
          .append(cgIterations).append(' ').append(samples.length);
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
      int n = Integer.parseInt(f[6]);
      long[] samples = new long[n];
      long[] counters = new long[n];
      for (int i = 0; i < n; i++) {
        samples[i] = Long.parseLong(f[7 + i]);
        counters[i] = Long.parseLong(f[7 + n + i]);
      }
      return Map.entry(f[1], new Result(samples, counters, Integer.parseInt(f[2]),
          Double.parseDouble(f[3]), Double.parseDouble(f[4]), Long.parseLong(f[5])));
    }
  }

  private static long cpuNanos() {
    return ((com.sun.management.OperatingSystemMXBean)
        ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
  }

  private static String mb(long bytes) {
    return String.format(Locale.ROOT, "%.1f", bytes / 1048576.0);
  }

  /**
   * The model of the check: 16 inputs, dense 32, train-mode batch norm, tanh, dense 4, softmax
   * cross-entropy.
   *
   * @return the spec
   */
  public static ModelSpec mlp() {
    return new ModelSpec(new int[] {16}, List.of(
        new LayerSpec.Dense(16, 32, true),
        new LayerSpec.BatchNorm(32, 1e-5, 0.1, LayerSpec.Mode.TRAIN),
        new LayerSpec.Activation(LayerSpec.ActivationKind.TANH),
        new LayerSpec.Dense(32, 4, true)),
        LossKind.SOFTMAX_CROSS_ENTROPY);
  }

  /**
   * The key of a configuration.
   *
   * @param dtype the dtype
   * @param method the optimizer
   * @return e.g. {@code FLOAT32:SGN}
   */
  public static String key(DType dtype, Method method) {
    return dtype + ":" + method;
  }

  /**
   * Runs one configuration in this JVM: the method's warm-up, then {@link #steps(Method)} steps
   * with {@value #READINGS} readings. Needs {@link NativeMemory#available()}.
   *
   * @param dtype the dtype
   * @param method the optimizer
   * @return the readings
   * @throws Exception if holding an injected leak's arrays fails to release them
   */
  public Result run(DType dtype, Method method) throws Exception {
    int steps = steps(method);
    int every = steps / (READINGS - 1);
    if (every * (READINGS - 1) != steps) {
      throw new IllegalStateException("steps(" + method + "): " + steps
          + " is not a multiple of " + (READINGS - 1));
    }
    int inject = Integer.getInteger(INJECT_PROPERTY, 0);
    long t0 = System.nanoTime();
    long c0 = cpuNanos();
    ModelSpec spec = mlp();
    SplittableRandom rnd = new SplittableRandom(7);
    long[] samples = new long[READINGS];
    long[] counters = new long[READINGS];
    long cg = 0;
    List<AutoCloseable> leaked = new ArrayList<>();
    try (SpecModel model = backend().build(spec, DefaultInitializer.initialize(spec, rnd),
        dtype)) {
      Optimizer opt = method.create();
      for (int i = -method.warmUp; i < steps; i++) {
        if (i >= 0 && i % every == 0) {
          samples[i / every] = NativeMemory.frameworkBytes();
          counters[i / every] = counterBytes();
        }
        StepReport r = opt.step(model.objective(RandomBatches.forSpec(spec, BATCH, rnd)));
        if (i >= 0) {
          cg += r.cgIterations();
          if (inject > 0) {
            leaked.add(holdNative(1, inject));
          }
        }
      }
      samples[READINGS - 1] = NativeMemory.frameworkBytes();
      counters[READINGS - 1] = counterBytes();
    } finally {
      for (AutoCloseable a : leaked) {
        a.close();
      }
    }
    return new Result(samples, counters, steps, (System.nanoTime() - t0) / 1e9,
        (cpuNanos() - c0) / 1e9, cg);
  }

  /**
   * The measure's sensitivity, in this JVM: the frameworks' native bytes before and while
   * holding {@value #CALIBRATION_ARRAYS} arrays of {@value #CALIBRATION_BYTES} bytes (9.8 MB, what
   * a leak of 5 KB a step leaves after 2000 steps).
   *
   * @return the two readings
   * @throws Exception if releasing the arrays fails
   */
  public Result calibrate() throws Exception {
    long t0 = System.nanoTime();
    long c0 = cpuNanos();
    holdNative(1, CALIBRATION_BYTES).close(); // the framework's first allocation is not a leak
    long before = NativeMemory.frameworkBytes();
    long counterBefore = counterBytes();
    try (AutoCloseable held = holdNative(CALIBRATION_ARRAYS, CALIBRATION_BYTES)) {
      long holding = NativeMemory.frameworkBytes();
      return new Result(new long[] {before, holding}, new long[] {counterBefore, counterBytes()},
          0, (System.nanoTime() - t0) / 1e9, (cpuNanos() - c0) / 1e9, 0);
    }
  }

  /**
   * The child JVM: makes an instance of the subclass named first and runs the configurations
   * named next ({@code FLOAT32:SGD_PH}, ..., {@code calibration}) in turn, printing one
   * {@code RESULT} line each.
   *
   * @param args the subclass's binary name, then the keys
   * @throws Exception if the subclass cannot be made or a run fails
   */
  public static void main(String[] args) throws Exception {
    if (args.length < 1) {
      throw new IllegalArgumentException("args: the LeakCheck subclass's name, then keys");
    }
    if (!NativeMemory.available()) {
      throw new IllegalStateException("run with -XX:NativeMemoryTracking=summary on Linux");
    }
    Class<?> type = Class.forName(args[0]);
    if (!LeakCheck.class.isAssignableFrom(type)) {
      throw new IllegalArgumentException("args[0]: " + args[0] + " is not a LeakCheck");
    }
    Constructor<?> make = type.getDeclaredConstructor();
    make.setAccessible(true);
    LeakCheck check = (LeakCheck) make.newInstance();
    for (String a : Arrays.asList(args).subList(1, args.length)) {
      Result r;
      if (a.equals(CALIBRATION)) {
        r = check.calibrate();
      } else {
        String[] p = a.split(":");
        if (p.length != 2) {
          throw new IllegalArgumentException("args: '" + a + "' is not DTYPE:METHOD");
        }
        r = check.run(DType.valueOf(p[0]), Method.valueOf(p[1]));
      }
      System.out.println(r.format(a));
      System.out.flush();
    }
  }

  /**
   * Every configuration in two groups, float32 (with the calibration) and float64.
   *
   * @return the keys per child JVM
   */
  public static List<List<String>> allGroups() {
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

  /**
   * Runs {@link #main} in child JVMs on this JVM's class path, with Native Memory Tracking and
   * this JVM's {@code ai.djl.*}, {@code org.bytedeco.*}, {@code org.nd4j.*} and {@code sgdph.*}
   * system properties: one child per group of keys, all at once, and returns their results by
   * key.
   *
   * @param groups the keys per child JVM
   * @return the results by key
   * @throws IllegalStateException with a child's last output lines if it fails or takes more
   *     than 15 minutes
   * @throws IOException if a child cannot be started
   * @throws InterruptedException if interrupted while waiting
   */
  public Map<String, Result> fork(List<List<String>> groups)
      throws IOException, InterruptedException {
    List<Child> children = new ArrayList<>();
    try {
      for (List<String> keys : groups) {
        children.add(new Child(getClass().getName(), keys));
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

  /**
   * The results of {@link #allGroups()}, forked once per instance (skipped off Linux).
   *
   * @return the results by key
   * @throws IllegalStateException if the child JVMs failed
   */
  public synchronized Map<String, Result> results() {
    assumeTrue(NativeMemory.linux(), "the native-memory measure needs Linux's /proc/self/smaps");
    if (results == null && failure == null) {
      try {
        results = fork(allGroups());
      } catch (IOException | RuntimeException e) {
        failure = new IllegalStateException("the leak check's child JVMs failed", e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        failure = new IllegalStateException("interrupted while the leak check ran", e);
      }
    }
    if (failure != null) {
      throw failure;
    }
    return results;
  }

  /**
   * Asserts the limits on one configuration of {@link #results()}: steady growth at most
   * {@value #STEP_LIMIT_MB} MB per {@value #STEPS} steps, no reading more than {@value #FLAT_MB}
   * MB above the first, the framework's exact count (if any) grown by at most
   * {@value #COUNTER_LIMIT_MB} MB, and SGN steps that made their 10 CG iterations.
   *
   * @param dtype the dtype
   * @param method the optimizer
   * @return the result, for the log
   */
  public Result assertStepsKeepNativeMemoryFlat(DType dtype, Method method) {
    Result r = results().get(key(dtype, method));
    String what = dtype + " " + method + ": native memory " + r.describe(counterName());
    if (method == Method.SGN) {
      assertTrue(r.cgIterations() >= 9.9 * r.steps(),
          what + ": SGN steps make 10 CG iterations (a rare step stops early in float32 on a zero "
              + "residual or non-positive curvature) but made " + r.cgIterations());
    }
    assertTrue(r.steadyGrowth() <= STEP_LIMIT_MB << 20,
        what + ": steady growth above " + STEP_LIMIT_MB + " MB per " + STEPS + " steps");
    assertTrue(r.excursion() <= FLAT_MB << 20,
        what + ": a reading more than " + FLAT_MB + " MB above the first");
    if (counterName() != null) {
      // an exact count (no noise): what it counts may not grow by more than 1 MB either
      assertTrue(r.counterGrowth() <= COUNTER_LIMIT_MB << 20,
          what + ": " + counterName() + " grew more than " + COUNTER_LIMIT_MB + " MB");
    }
    return r;
  }

  /**
   * Asserts that the measure is not blind: {@value #CALIBRATION_ARRAYS} framework arrays of 5 KB
   * held read as at least the step limit plus 2 MB, so that such a leak, read the same way, fails
   * {@link #assertStepsKeepNativeMemoryFlat} even if the run's own growth were -2 MB.
   *
   * @return the calibration's result, for the log
   */
  public Result assertTheMeasureSeesALeak() {
    Result r = results().get(CALIBRATION);
    assertTrue(r.growth() >= (STEP_LIMIT_MB + 2) << 20,
        CALIBRATION_ARRAYS + " " + arrays() + " of 5 KB held: " + r.describe(counterName()));
    return r;
  }

  /** One child JVM and the reader of its output. */
  private static final class Child {
    final List<String> keys;
    final Process process;
    final Map<String, Result> results = new ConcurrentHashMap<>();
    final Deque<String> tail = new ConcurrentLinkedDeque<>();
    final Thread reader;

    Child(String checkClass, List<String> keys) throws IOException {
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
      cmd.add(LeakCheck.class.getName());
      cmd.add(checkClass);
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
}
