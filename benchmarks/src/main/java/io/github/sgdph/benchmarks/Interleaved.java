package io.github.sgdph.benchmarks;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Runs several tasks interleaved in one JVM so that machine noise hits all of them alike: each
 * round runs every task once, starting one task later than the previous round (round {@code r}
 * runs tasks {@code r mod k, r+1 mod k, ...}), so no task always follows the same other one.
 * Warm-up rounds are run the same way and not recorded (a task may ask for more untimed calls
 * than the warm-up rounds make; they are made first). Each call is timed with
 * {@link System#nanoTime()}; around it, outside the timed interval, the {@link MemoryProbe}
 * measures the resident memory the call added and the Java heap it allocated.
 *
 * <p>Speed is reported, never asserted.
 */
final class Interleaved {
  private final Map<String, Runnable> tasks = new LinkedHashMap<>();
  private final Map<String, Integer> minWarmup = new LinkedHashMap<>();
  private final Map<String, Runnable> setups = new LinkedHashMap<>();

  /**
   * Adds a task.
   *
   * @param key a unique key
   * @param task the work of one call
   * @return this harness
   */
  Interleaved add(String key, Runnable task) {
    return add(key, task, 0, null);
  }

  /**
   * Adds a task that needs at least {@code minWarmupCalls} untimed calls (e.g. a method that
   * cycles through the parameter tensors and meets a new one on each call of its cycle): the
   * calls the warm-up rounds do not make are made before them.
   *
   * @param key a unique key
   * @param task the work of one call
   * @param minWarmupCalls the least number of untimed calls, at least 0
   * @param setup run before every call of the task, outside the timed and measured interval
   *     (e.g. to restore the parameters), or null
   * @return this harness
   */
  Interleaved add(String key, Runnable task, int minWarmupCalls, Runnable setup) {
    if (tasks.putIfAbsent(key, task) != null) {
      throw new IllegalArgumentException("task: duplicate key " + key);
    }
    minWarmup.put(key, Math.max(0, minWarmupCalls));
    setups.put(key, setup == null ? () -> { } : setup);
    return this;
  }

  /**
   * One task's measurements over the timed rounds.
   *
   * @param key the task's key
   * @param medianMs the median time of a call
   * @param p10Ms the 10th percentile
   * @param p90Ms the 90th percentile
   * @param peakRssBytes the most resident memory one call added (see {@link MemoryProbe}), -1
   *     if unmeasured
   * @param javaAllocBytes the median Java heap allocated by a call, -1 if unmeasured
   * @param calls the number of timed calls
   * @param totalCalls every call, untimed ones included
   */
  record Stats(String key, double medianMs, double p10Ms, double p90Ms, long peakRssBytes,
      long javaAllocBytes, int calls, int totalCalls) {}

  /**
   * Runs {@code warmup} rounds, then {@code rounds} timed ones.
   *
   * @param warmup untimed rounds, at least 0
   * @param rounds timed rounds, at least 1
   * @param probe the memory probe
   * @param progress receives a line after each round (e.g. for a progress display), or null
   * @return one result per task, in the order added
   */
  List<Stats> run(int warmup, int rounds, MemoryProbe probe, Consumer<String> progress) {
    if (tasks.isEmpty()) {
      throw new IllegalStateException("tasks: nothing to run");
    }
    if (rounds < 1 || warmup < 0) {
      throw new IllegalArgumentException("rounds: need rounds >= 1 and warmup >= 0");
    }
    List<String> keys = new ArrayList<>(tasks.keySet());
    List<Runnable> bodies = new ArrayList<>(tasks.values());
    List<Runnable> before = new ArrayList<>(setups.values());
    int k = keys.size();
    double[][] ms = new double[k][rounds];
    long[][] alloc = new long[k][rounds];
    long[] peak = new long[k];
    Arrays.fill(peak, -1);
    int[] extra = new int[k];
    for (int t = 0; t < k; t++) {
      extra[t] = Math.max(0, minWarmup.get(keys.get(t)) - warmup);
      for (int c = 0; c < extra[t]; c++) {
        before.get(t).run();
        bodies.get(t).run();
      }
    }
    for (int r = 0; r < warmup + rounds; r++) {
      boolean timed = r >= warmup;
      for (int j = 0; j < k; j++) {
        int t = (r + j) % k;
        before.get(t).run();
        long a0 = probe.threadAllocatedBytes();
        long rss0 = probe.begin();
        long t0 = System.nanoTime();
        bodies.get(t).run();
        long t1 = System.nanoTime();
        long added = probe.end(rss0);
        long a1 = probe.threadAllocatedBytes();
        if (timed) {
          int i = r - warmup;
          ms[t][i] = (t1 - t0) / 1e6;
          alloc[t][i] = a0 < 0 ? -1 : a1 - a0;
          peak[t] = Math.max(peak[t], added);
        }
      }
      if (progress != null) {
        progress.accept((timed ? "round " + (r - warmup + 1) + "/" + rounds
            : "warm-up " + (r + 1) + "/" + warmup));
      }
    }
    List<Stats> out = new ArrayList<>(k);
    for (int t = 0; t < k; t++) {
      double[] sorted = ms[t].clone();
      Arrays.sort(sorted);
      long[] a = alloc[t].clone();
      Arrays.sort(a);
      out.add(new Stats(keys.get(t), percentile(sorted, 0.5), percentile(sorted, 0.1),
          percentile(sorted, 0.9), peak[t], a[0] < 0 ? -1 : a[a.length / 2], rounds,
          extra[t] + warmup + rounds));
    }
    return out;
  }

  /** Linear interpolation between order statistics, as numpy's default. */
  static double percentile(double[] sorted, double q) {
    double pos = q * (sorted.length - 1);
    int lo = (int) Math.floor(pos);
    int hi = (int) Math.ceil(pos);
    return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
  }
}
