package io.github.sgdph.spark;

import io.github.sgdph.model.BatchStatisticsReducer;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Base64;
import org.apache.spark.BarrierTaskContext;

/**
 * The batch-norm reductions of one task of a barrier stage ({@link
 * BatchNormStatistics#SYNCHRONIZED}): every reduction is one {@link
 * BarrierTaskContext#allGather} round in which each task sends its partial sums and receives
 * every task's, which it adds in partition order (so every replica, and every retry, gets the
 * same sums). The rounds of a stage are lockstep: every task takes part in every round.
 *
 * <p>Messages: {@code D}+partial sums (Base64 of the IEEE-754 bits, exact), {@code I} from a
 * partition without samples in the batch (it idles through the rounds), {@code Y}/{@code N}
 * for a consensus round ({@link #all}), {@code E} from a partition whose work is done. A task
 * that sees {@code E} where it sends data (or the reverse) throws: the replicas disagree on the
 * passes, which would give wrong sums.
 *
 * <p>Latency: Spark's {@code allGather} sends its request to the driver's barrier coordinator
 * and then checks for the reply once per second ({@code Thread.sleep(1000)} in {@code
 * BarrierTaskContext.runBarrier}, so that it notices a killed task), which alone would cost one
 * second per reduction. While a task waits in a round, a timer interrupts that sleep every
 * {@value #WAKE_MICROS} µs (an interrupt there only makes Spark check the reply and its
 * kill flag again); the interrupt status is cleared when the round returns, under the same
 * lock, so no interrupt reaches the task's own work. A round then costs the coordinator's
 * round trip plus at most {@value #WAKE_MICROS} µs.
 */
final class Barrier implements BatchStatisticsReducer {
  private static final char DATA = 'D';
  private static final char IDLE = 'I';
  private static final char END = 'E';
  private static final char YES = 'Y';
  private static final char NO = 'N';

  static final long WAKE_MICROS = 500;
  /** Rounds taken part in and message bytes sent by the tasks of this JVM (measurements). */
  static final java.util.concurrent.atomic.AtomicLong ROUNDS =
      new java.util.concurrent.atomic.AtomicLong();

  static final java.util.concurrent.atomic.AtomicLong BYTES_SENT =
      new java.util.concurrent.atomic.AtomicLong();

  private static final java.util.concurrent.ScheduledExecutorService WAKER =
      java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "sgdph barrier waker");
        t.setDaemon(true);
        return t;
      });

  private final BarrierTaskContext ctx;
  private final int partition;
  private final int[] shares;
  private final boolean lossWeighted;
  private final int samples;
  private long rounds;

  /**
   * @param ctx the task's barrier context
   * @param partition this task's partition
   * @param shares the batch's samples per partition
   * @param lossWeighted whether {@link Kind#LOSS_DERIVATIVES} sums are weighted by the shares
   *     (the passes of the mean loss: partition {@code p}'s loss is {@code n_p/N} of the batch
   *     loss) or not (a {@code Jᵀu} whose seed rows are the batch's own)
   */
  Barrier(BarrierTaskContext ctx, int partition, int[] shares, boolean lossWeighted) {
    this.ctx = ctx;
    this.partition = partition;
    this.shares = shares;
    this.lossWeighted = lossWeighted;
    int n = 0;
    for (int s : shares) {
      n += s;
    }
    this.samples = n;
  }

  @Override
  public double[] sum(double[] partial, Kind kind) {
    String[] all = gather(DATA + encode(partial));
    boolean weighted = kind == Kind.LOSS_DERIVATIVES && lossWeighted;
    double[] s = new double[partial.length];
    for (int q = 0; q < all.length; q++) {
      char t = all[q].charAt(0);
      if (t == IDLE) {
        continue;
      }
      if (t != DATA) {
        throw disagree(q, all[q]);
      }
      double[] v = decode(all[q]);
      if (v.length != s.length) {
        throw new IllegalStateException("synchronized batch norm: partition " + q + " sent "
            + v.length + " partial sums where partition " + partition + " sent " + s.length);
      }
      double w = weighted ? shares[q] : 1;
      for (int i = 0; i < s.length; i++) {
        s[i] += w * v[i];
      }
    }
    if (weighted) {
      double w = shares[partition];
      for (int i = 0; i < s.length; i++) {
        s[i] /= w;
      }
    }
    return s;
  }

  @Override
  public int samples(int local) {
    if (local != shares[partition]) {
      throw new IllegalStateException("synchronized batch norm: a pass over " + local
          + " samples on partition " + partition + ", whose share of the batch is "
          + shares[partition]);
    }
    return samples;
  }

  /** A consensus round: whether every partition with samples says {@code yes}. */
  boolean all(boolean yes) {
    String[] all = gather(String.valueOf(yes ? YES : NO));
    boolean r = true;
    for (int q = 0; q < all.length; q++) {
      char t = all[q].charAt(0);
      if (t == NO) {
        r = false;
      } else if (t != YES && t != IDLE) {
        throw disagree(q, all[q]);
      }
    }
    return r;
  }

  /** The last round of a partition with samples. */
  void end() {
    String[] all = gather(String.valueOf(END));
    for (int q = 0; q < all.length; q++) {
      char t = all[q].charAt(0);
      if (t != END && t != IDLE) {
        throw disagree(q, all[q]);
      }
    }
  }

  /** A partition without samples: takes part in every round until the others have ended. */
  void idle() {
    while (true) {
      String[] all = gather(String.valueOf(IDLE));
      boolean done = true;
      for (String m : all) {
        char t = m.charAt(0);
        done &= t == END || t == IDLE;
      }
      if (done) {
        return;
      }
    }
  }

  /** The rounds this task took part in. */
  long rounds() {
    return rounds;
  }

  private String[] gather(String message) {
    rounds++;
    ROUNDS.incrementAndGet();
    BYTES_SENT.addAndGet(message.length()); // Base64 and type characters: one byte each
    Wake w = new Wake(Thread.currentThread());
    java.util.concurrent.ScheduledFuture<?> f = WAKER.scheduleAtFixedRate(
        w, WAKE_MICROS, WAKE_MICROS, java.util.concurrent.TimeUnit.MICROSECONDS);
    try {
      return ctx.allGather(message);
    } finally {
      w.stop();
      f.cancel(false);
      Thread.interrupted(); // a wake-up that arrived after the reply
    }
  }

  /** Interrupts a task thread waiting in {@code allGather} until stopped. */
  private static final class Wake implements Runnable {
    private final Thread task;
    private boolean active = true;

    Wake(Thread task) {
      this.task = task;
    }

    @Override
    public synchronized void run() {
      if (active) {
        task.interrupt();
      }
    }

    synchronized void stop() {
      active = false;
    }
  }

  private IllegalStateException disagree(int q, String message) {
    return new IllegalStateException("synchronized batch norm: partition " + q + " sent '"
        + message.charAt(0) + "' in round " + rounds + " where partition " + partition
        + " expected the same step of the same pass (the replicas' passes are not in lockstep)");
  }

  static String encode(double[] v) {
    ByteBuffer b = ByteBuffer.allocate(8 * v.length);
    b.asDoubleBuffer().put(v);
    return Base64.getEncoder().encodeToString(b.array());
  }

  static double[] decode(String message) {
    byte[] bytes = Base64.getDecoder().decode(message.substring(1));
    double[] v = new double[bytes.length / 8];
    ByteBuffer.wrap(bytes).asDoubleBuffer().get(v);
    return v;
  }

  @Override
  public String toString() {
    return "Barrier[partition " + partition + " of " + Arrays.toString(shares) + "]";
  }
}
