package io.github.sgdph.benchmarks;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The process's resident memory from {@code /proc/self/status} (Linux), and the Java heap
 * allocated by the calling thread.
 *
 * <p>Resident memory is per process, so a variant's memory is measured around each of its
 * calls: when the kernel lets the process reset its high-water mark (writing {@code 5} to
 * {@code /proc/self/clear_refs}, Linux 4.0 and later), the peak is {@code VmHWM} after the call
 * minus {@code VmRSS} before it — the most resident memory the call added at any moment;
 * otherwise {@code VmRSS} after minus before (what the call left resident). Memory that an
 * allocator keeps cached from earlier calls (PyTorch's, ND4J's workspaces, glibc's arenas, the
 * JVM's heap) is reused without growing the process, so the figure is what a call adds to a
 * warmed-up process, not its whole working set.
 */
final class MemoryProbe {
  private static final Path STATUS = Path.of("/proc/self/status");
  private static final Path CLEAR_REFS = Path.of("/proc/self/clear_refs");

  private final boolean rss;
  private final boolean peak;
  private final com.sun.management.ThreadMXBean threads;

  private MemoryProbe(boolean rss, boolean peak, com.sun.management.ThreadMXBean threads) {
    this.rss = rss;
    this.peak = peak;
    this.threads = threads;
  }

  /**
   * A probe with whatever this platform offers.
   *
   * @return a probe; its {@link #method()} says what it measures
   */
  static MemoryProbe create() {
    boolean rss = Files.isReadable(STATUS) && field("VmRSS:") >= 0;
    boolean peak = false;
    if (rss && Files.isWritable(CLEAR_REFS)) {
      try {
        Files.writeString(CLEAR_REFS, "5", StandardCharsets.US_ASCII);
        peak = field("VmHWM:") >= 0;
      } catch (IOException | SecurityException e) {
        peak = false;
      }
    }
    com.sun.management.ThreadMXBean t = null;
    if (ManagementFactory.getThreadMXBean() instanceof com.sun.management.ThreadMXBean sun
        && sun.isThreadAllocatedMemorySupported()) {
      sun.setThreadAllocatedMemoryEnabled(true);
      t = sun;
    }
    return new MemoryProbe(rss, peak, t);
  }

  /**
   * How memory is measured, for reports.
   *
   * @return a short description of the method
   */
  String method() {
    if (peak) {
      return "peak RSS growth per call: VmHWM after the call (reset before it through "
          + "/proc/self/clear_refs) minus VmRSS before it";
    }
    if (rss) {
      return "RSS growth per call: VmRSS after minus before (the peak high-water mark cannot "
          + "be reset here)";
    }
    return "not measured (no /proc/self/status)";
  }

  /** Starts a measurement: resets the high-water mark if possible; returns VmRSS in bytes. */
  long begin() {
    if (!rss) {
      return -1;
    }
    if (peak) {
      try {
        Files.writeString(CLEAR_REFS, "5", StandardCharsets.US_ASCII);
      } catch (IOException e) {
        throw new IllegalStateException("memory: cannot reset /proc/self/clear_refs", e);
      }
    }
    return field("VmRSS:");
  }

  /**
   * Ends a measurement.
   *
   * @param before what {@link #begin()} returned
   * @return the bytes the call added at its peak (or at its end), at least 0; -1 if unmeasured
   */
  long end(long before) {
    if (!rss || before < 0) {
      return -1;
    }
    long after = field(peak ? "VmHWM:" : "VmRSS:");
    return Math.max(0, after - before);
  }

  /**
   * The process's resident memory now.
   *
   * @return VmRSS in bytes, or -1 if unmeasured
   */
  long residentBytes() {
    return rss ? field("VmRSS:") : -1;
  }

  /**
   * Java heap bytes allocated so far by the calling thread.
   *
   * @return a counter that only grows, or -1 if the JVM does not offer it
   */
  long threadAllocatedBytes() {
    return threads == null ? -1 : threads.getCurrentThreadAllocatedBytes();
  }

  /** A field of /proc/self/status in bytes (the kernel gives kB), or -1. */
  private static long field(String name) {
    try {
      for (String line : Files.readAllLines(STATUS, StandardCharsets.US_ASCII)) {
        if (line.startsWith(name)) {
          String v = line.substring(name.length()).trim();
          int sp = v.indexOf(' ');
          return Long.parseLong(sp < 0 ? v : v.substring(0, sp)) * 1024;
        }
      }
    } catch (IOException | NumberFormatException | SecurityException e) {
      return -1;
    }
    return -1;
  }
}
