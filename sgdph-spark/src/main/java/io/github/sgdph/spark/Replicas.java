package io.github.sgdph.spark;

import io.github.sgdph.model.BatchStatisticsReducer;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.spark.BarrierTaskContext;
import org.apache.spark.api.java.function.Function2;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Tuple2;
import scala.jdk.javaapi.CollectionConverters;
import scala.runtime.AbstractFunction1;

/**
 * The executor side: the model replicas of this JVM, one per (model, partition), built on a
 * partition's first task and kept while the JVM lives (or until the model is closed). A task
 * that fails drops its replica, so Spark's retry starts from the broadcast state.
 */
final class Replicas {
  private static final Logger LOG = LoggerFactory.getLogger(Replicas.class);
  private static final Map<String, Replica> CACHE = new ConcurrentHashMap<>();

  private Replicas() {}

  /** The task of {@code job}: one {@code (partition, result)} pair, none without a share. */
  static Function2<Integer, Iterator<Shard>, Iterator<Tuple2<Integer, double[]>>> task(Job job) {
    return (p, it) -> {
      Shard shard = it.next();
      double[] r = run(job, p, shard);
      List<Tuple2<Integer, double[]>> out = new ArrayList<>(1);
      if (r != null) {
        out.add(new Tuple2<>(p, r));
      }
      return out.iterator();
    };
  }

  /**
   * The task of a barrier-stage job ({@link BatchNormStatistics#SYNCHRONIZED}): as {@link
   * #task}, with the replica's batch norms reducing through a {@link Barrier}.
   */
  static final class BarrierTask
      extends AbstractFunction1<scala.collection.Iterator<Shard>,
          scala.collection.Iterator<Tuple2<Integer, double[]>>>
      implements Serializable {
    private static final long serialVersionUID = 1L;
    private final Job job;

    BarrierTask(Job job) {
      this.job = job;
    }

    @Override
    public scala.collection.Iterator<Tuple2<Integer, double[]>> apply(
        scala.collection.Iterator<Shard> it) {
      BarrierTaskContext ctx = BarrierTaskContext.get();
      int p = ctx.partitionId();
      Shard shard = it.next();
      double[] r = run(job, p, shard, new Barrier(ctx, p, job.shares(), job.lossWeighted()));
      List<Tuple2<Integer, double[]>> out = new ArrayList<>(1);
      if (r != null) {
        out.add(new Tuple2<>(p, r));
      }
      return CollectionConverters.asScala(out.iterator());
    }
  }

  static double[] run(Job job, int p, Shard shard) {
    return run(job, p, shard, null);
  }

  /**
   * Runs the job's work on partition {@code p}'s replica; with a {@code barrier}, the replica's
   * batch norms reduce through it, every partition first agrees on whether the job's curvature
   * is open on all of them (else all redo its forward pass, which reduces too: after a retry the
   * rebuilt replica lacks it), and a partition without samples idles through the rounds.
   */
  static double[] run(Job job, int p, Shard shard, Barrier barrier) {
    int share = job.shares()[p];
    if (share == 0) {
      if (barrier != null) {
        barrier.idle();
      }
      return null;
    }
    String key = job.modelKey() + "#" + p;
    Replica r = CACHE.computeIfAbsent(key, k -> {
      LOG.debug("building replica {}", k);
      return new Replica(job.spec().value(), shard);
    });
    synchronized (r) {
      try {
        r.ensureParameters(job.version(), job.parameters().value());
        Payloads.Selection sel = job.selection().value();
        PartitionContext ctx = new PartitionContext(p, share, r,
            r.objective(job.selectionId(), sel.whole() ? null : sel.local()[p]),
            job.curvatureId());
        if (barrier == null) {
          return job.work().run(ctx);
        }
        r.model.setBatchStatisticsReducer(barrier);
        try {
          long c = job.curvatureId();
          if (c != 0 && !barrier.all(r.hasCurvature(c))) {
            r.dropCurvature(c);
          }
          double[] out = job.work().run(ctx);
          barrier.end();
          return out;
        } finally {
          r.model.setBatchStatisticsReducer(BatchStatisticsReducer.LOCAL);
        }
      } catch (RuntimeException | Error e) {
        LOG.debug("task on partition {} failed; dropping its replica", p, e);
        if (CACHE.remove(key, r)) {
          r.close();
        }
        throw e;
      }
    }
  }

  /** Drops the replicas of a model in this JVM. */
  static void evictModel(String modelKey) {
    String prefix = modelKey + "#";
    CACHE.entrySet().removeIf(e -> {
      if (e.getKey().startsWith(prefix)) {
        e.getValue().close();
        return true;
      }
      return false;
    });
  }

  /** The number of replicas in this JVM (tests). */
  static int size() {
    return CACHE.size();
  }
}
