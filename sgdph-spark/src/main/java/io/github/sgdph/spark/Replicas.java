package io.github.sgdph.spark;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.spark.api.java.function.Function2;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Tuple2;

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

  static double[] run(Job job, int p, Shard shard) {
    int share = job.shares()[p];
    if (share == 0) {
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
        return job.work().run(ctx);
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
