package io.github.sgdph.conformance;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.management.JMException;
import javax.management.ObjectName;

/**
 * The native memory of the frameworks in this process, for leak tests: resident memory outside
 * the Java heap minus the JVM's own native memory. Needs Linux ({@code /proc/self/smaps}) and a
 * JVM started with {@code -XX:NativeMemoryTracking=summary}, which is why {@link LeakCheck}
 * runs its configurations in child JVMs. Framework-independent: it reads the process, not a
 * framework.
 *
 * <p>Why not VmRSS, or VmRSS minus the committed heap (the product-level tests): measured on the
 * DJL adapter over 2000 SGD-PH steps, that number moved by 20–35 MB between samples of a loop
 * that leaks nothing; on the DL4J adapter by up to 90 MB. The sources, each removed here:
 *
 * <ul>
 *   <li>the Java heap's resident pages, which change with every collection and resize — the
 *       resident sizes of {@code /proc/self/smaps} are summed over every mapping except those in
 *       the heap's reserved address range, which the JVM prints in {@code GC.heap_info}
 *       ({@code [0x…, 0x…)}; fixed for the JVM's lifetime);
 *   <li>the JVM's own native memory, above all the JIT compilers' arenas: a C2 compilation takes
 *       up to ~30 MB of malloc'd chunks, which a pool cleaner frees every 5 s — Native Memory
 *       Tracking's committed total is subtracted (its {@code Arena Chunk}, {@code Compiler},
 *       {@code Code}, {@code GC}, {@code Thread}, metaspace and other JVM categories), except
 *       {@code Java Heap} (already excluded) and {@code Other} ({@code Unsafe.allocateMemory},
 *       that is direct buffers: memory a framework or adapter may leak, so it is kept);
 *   <li>arrays that are garbage but not yet freed (ND4J frees an array's buffer on a deallocator
 *       thread after a collection): {@link #settle()};
 *   <li>freed memory that malloc keeps: {@code malloc_trim} before each reading
 *       ({@code System.trim_native_heap}), and {@link LeakCheck} starts its child JVMs with
 *       fixed malloc thresholds (see there).
 * </ul>
 *
 * What remains are the native libraries' own allocations (PyTorch, TensorFlow, ND4J, OpenMP),
 * their threads' stacks and direct buffers. Measured over 2000 optimizer steps without a leak
 * (see the leak tests): readings every 250 steps within 0.5 MB of each other on TensorFlow, a
 * steady rise of up to 1.7 MB on DJL, and on DL4J single readings 5–16 MB high that fall back
 * within some hundred steps.
 */
public final class NativeMemory {
  private static final Pattern ADDRESS = Pattern.compile("0x([0-9a-fA-F]+)");
  private static final Pattern MAPPING = Pattern.compile("^([0-9a-f]+)-([0-9a-f]+) ");
  private static final Pattern CATEGORY =
      Pattern.compile("^-\\s+(.+?) \\(reserved=\\d+KB, committed=(\\d+)KB\\)");
  private static long[] heap;

  private NativeMemory() {}

  /**
   * Whether this process can measure: {@code /proc/self/smaps}, Native Memory Tracking and a
   * heap address range in {@code GC.heap_info}.
   *
   * @return whether {@link #frameworkBytes()} can be read here
   */
  public static boolean available() {
    if (!Files.isReadable(Path.of("/proc/self/smaps"))) {
      return false;
    }
    try {
      heapRange();
      jvmOwnBytes();
      return true;
    } catch (IllegalStateException e) {
      return false;
    }
  }

  /**
   * Whether this process is Linux with {@code /proc/self/smaps} (a child JVM could measure).
   *
   * @return whether {@code /proc/self/smaps} is readable
   */
  public static boolean linux() {
    return Files.isReadable(Path.of("/proc/self/smaps"));
  }

  /**
   * The frameworks' native memory now, in bytes: {@link #residentOutsideHeap()} minus
   * {@link #jvmOwnBytes()}, after {@link #settle()}, read again after a further collection and
   * 200 ms until two readings agree within 0.5 MB (at most 10 times): on a busy machine ND4J's
   * deallocator thread may still be freeing what the collections found.
   *
   * @return the frameworks' native bytes
   * @throws IllegalStateException if Native Memory Tracking is off or the heap range is unknown
   */
  public static long frameworkBytes() {
    settle();
    long previous = readOnce();
    for (int round = 0; round < 10; round++) {
      System.gc();
      pause(200);
      long now = readOnce();
      if (Math.abs(now - previous) < 512 << 10) {
        return now;
      }
      previous = now;
    }
    return previous;
  }

  /**
   * One reading of {@link #frameworkBytes()}. The JVM allocates and frees native memory in the
   * background — the JIT compilers' arenas, up to ~30 MB, which a pool cleaner returns to malloc
   * every 5 s — and memory freed after the trim stays resident while Native Memory Tracking no
   * longer counts it. So the reading waits (up to 2 s) until no compilation runs or waits, and is
   * repeated (up to 10 times) until the JVM's own memory read before the trim, after it and after
   * the resident set agrees within 256 KB.
   */
  private static long readOnce() {
    long best = Long.MAX_VALUE;
    long bestSpread = Long.MAX_VALUE;
    for (int attempt = 0; attempt < 10; attempt++) {
      awaitIdleCompilers(2_000);
      long beforeTrim = jvmOwnBytes();
      // System.trim_native_heap (JDK 17.0.9+, 21+): malloc_trim(0); absent on older JDKs, where
      // free memory in malloc's arenas may stay resident (noise, not a leak)
      diagnosticCommand("systemTrimNativeHeap", null);
      long before = jvmOwnBytes();
      long resident = residentOutsideHeap();
      long after = jvmOwnBytes();
      long spread = Math.max(Math.abs(before - beforeTrim), Math.abs(after - before));
      if (spread < bestSpread) {
        bestSpread = spread;
        best = resident - after;
      }
      if (spread <= 256 << 10) {
        break;
      }
      pause(200);
    }
    return best;
  }

  /** Waits until {@code Compiler.queue} shows no compilation at work or waiting. */
  private static void awaitIdleCompilers(long maxMillis) {
    long deadline = System.nanoTime() + maxMillis * 1_000_000;
    while (System.nanoTime() < deadline) {
      String q = diagnosticCommand("compilerQueue", null);
      if (q == null) {
        return; // not available: no waiting
      }
      // "Current compiles:" lists one line per compiler thread at work; every "... compile
      // queue:" is followed by "Empty" when nothing waits
      int queues = q.split("compile queue:", -1).length - 1;
      int empty = q.split("\nEmpty", -1).length - 1;
      if (!q.contains("CompilerThread") && empty >= queues) {
        return;
      }
      pause(20);
    }
  }

  private static void pause(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /**
   * Full collections until the heap's live set stops shrinking (at least three, at most twenty,
   * 100 ms apart). One is not enough for ND4J, whose deallocator thread frees an array's buffer
   * only after a collection has found the array unreachable: measured on the DL4J adapter, after
   * two collections 50 ms apart the heap still held 40–55 MB more than after further ones, and
   * the native memory read up to 30 MB high.
   */
  public static void settle() {
    MemoryMXBean heapBean = ManagementFactory.getMemoryMXBean();
    long previous = Long.MAX_VALUE;
    for (int round = 0; round < 20; round++) {
      System.gc();
      pause(100);
      long used = heapBean.getHeapMemoryUsage().getUsed();
      if (round >= 2 && Math.abs(previous - used) < 1 << 20) {
        break;
      }
      previous = used;
    }
  }

  /**
   * Resident bytes of every mapping outside the Java heap's reserved range.
   *
   * @return the bytes, from {@code /proc/self/smaps}
   */
  public static long residentOutsideHeap() {
    long[] h = heapRange();
    long kb = 0;
    boolean inHeap = false;
    try (BufferedReader r = Files.newBufferedReader(Path.of("/proc/self/smaps"))) {
      String line;
      while ((line = r.readLine()) != null) {
        Matcher m = MAPPING.matcher(line);
        if (m.find()) {
          long start = Long.parseUnsignedLong(m.group(1), 16);
          long end = Long.parseUnsignedLong(m.group(2), 16);
          inHeap = start >= h[0] && end <= h[1];
        } else if (!inHeap && line.startsWith("Rss:")) {
          kb += Long.parseLong(line.substring(4).replace("kB", "").trim());
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return kb * 1024;
  }

  /**
   * The JVM's own native memory: Native Memory Tracking's committed bytes of every category
   * except {@code Java Heap} and {@code Other} (direct buffers).
   *
   * @return the bytes
   * @throws IllegalStateException if Native Memory Tracking is off
   */
  public static long jvmOwnBytes() {
    String nmt = diagnosticCommand("vmNativeMemory", "summary");
    if (nmt == null || !nmt.contains("Total: reserved=")) {
      throw new IllegalStateException("Native Memory Tracking is off: " + nmt);
    }
    long kb = 0;
    int categories = 0;
    for (String line : nmt.split("\n")) {
      Matcher m = CATEGORY.matcher(line.trim());
      if (m.find()) {
        categories++;
        String name = m.group(1).trim();
        if (!name.equals("Java Heap") && !name.equals("Other")) {
          kb += Long.parseLong(m.group(2));
        }
      }
    }
    if (categories == 0) {
      throw new IllegalStateException("no categories in the NMT summary: " + nmt);
    }
    return kb * 1024;
  }

  /** The Java heap's reserved address range {@code [lo, hi)}, from {@code GC.heap_info}. */
  private static synchronized long[] heapRange() {
    if (heap == null) {
      String info = diagnosticCommand("gcHeapInfo", null);
      if (info == null) {
        throw new IllegalStateException("GC.heap_info is not available");
      }
      long lo = Long.MAX_VALUE;
      long hi = Long.MIN_VALUE;
      for (String line : info.split("\n")) {
        if (line.contains("Metaspace") || line.contains("class space")) {
          break; // addresses after these (none on JDK 17) would not be heap
        }
        Matcher m = ADDRESS.matcher(line);
        while (m.find()) {
          long a = Long.parseUnsignedLong(m.group(1), 16);
          lo = Math.min(lo, a);
          hi = Math.max(hi, a);
        }
      }
      if (lo >= hi) {
        throw new IllegalStateException("no heap address range in GC.heap_info: " + info);
      }
      heap = new long[] {lo, hi};
    }
    return heap;
  }

  /** A {@code jcmd} command through the DiagnosticCommand MBean, or null if it is missing. */
  private static String diagnosticCommand(String operation, String argument) {
    try {
      return (String) ManagementFactory.getPlatformMBeanServer().invoke(
          new ObjectName("com.sun.management:type=DiagnosticCommand"), operation,
          new Object[] {argument == null ? null : new String[] {argument}},
          new String[] {String[].class.getName()});
    } catch (JMException e) {
      return null;
    }
  }
}
