package io.github.sgdph.spark;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import scala.Tuple2;

/**
 * The sum of the partitions' arrays in a fixed order: a deterministic {@code treeAggregate}.
 * Spark's {@code treeAggregate} (and {@code aggregate}, {@code reduce}) combine the partial
 * results in the order the tasks finish, so the rounding of a float sum changes from run to run
 * and with every retried task; here the arrays are added in partition order, in groups of {@code
 * fanIn} consecutive partitions per tree level ({@code groupByKey}, then sorted), and the last
 * level on the driver. The result is a function of the partition results alone.
 */
final class TreeSum {
  private TreeSum() {}

  static double[] sum(JavaRDD<Tuple2<Integer, double[]>> parts, int partitions, int fanIn) {
    JavaPairRDD<Integer, double[]> level = parts.mapToPair(t -> t);
    int n = partitions;
    while (n > fanIn) {
      int groups = (n + fanIn - 1) / fanIn;
      int f = fanIn;
      level = level.mapToPair(t -> new Tuple2<>(t._1() / f, t))
          .groupByKey(groups)
          .mapToPair(g -> {
            List<Tuple2<Integer, double[]>> l = new ArrayList<>();
            g._2().forEach(l::add);
            return new Tuple2<>(g._1(), inOrder(l));
          });
      n = groups;
    }
    List<Tuple2<Integer, double[]>> top = new ArrayList<>(level.collect());
    if (top.isEmpty()) {
      throw new IllegalStateException("no partition contributed to the sum");
    }
    return inOrder(top);
  }

  /** The sum of the arrays in ascending key order (a new array). */
  static double[] inOrder(List<Tuple2<Integer, double[]>> parts) {
    List<Tuple2<Integer, double[]>> l = new ArrayList<>(parts);
    l.sort(Comparator.comparing(Tuple2::_1));
    double[] s = l.get(0)._2().clone();
    for (int k = 1; k < l.size(); k++) {
      double[] a = l.get(k)._2();
      if (a.length != s.length) {
        throw new IllegalStateException(
            "partition results of lengths " + s.length + " and " + a.length);
      }
      for (int i = 0; i < s.length; i++) {
        s[i] += a[i];
      }
    }
    return s;
  }
}
