package io.github.sgdph.spark;

import io.github.sgdph.curvature.SpiChecks;
import io.github.sgdph.model.NamedArray;
import io.github.sgdph.param.ParameterLayout;
import io.github.sgdph.param.ParameterVector;
import io.github.sgdph.tensor.DType;
import io.github.sgdph.tensor.TensorAlgebra;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;

/** What the driver ships to the executors: plain serializable values, no backend object. */
final class Payloads {
  private Payloads() {}

  /** How an executor builds its model replica. */
  record ReplicaSpec(String key, String specJson, String backend, DType dtype,
      List<Entry> initial) implements Serializable {
    private static final long serialVersionUID = 1L;

    long bytes() {
      long b = 2L * specJson.length();
      for (Entry e : initial) {
        b += 8L * e.values.length;
      }
      return b;
    }
  }

  /** One parameter entry of the spec. */
  record Entry(String name, int[] shape, double[] values, boolean trainable)
      implements Serializable {
    private static final long serialVersionUID = 1L;

    static List<Entry> of(List<NamedArray> arrays) {
      List<Entry> out = new ArrayList<>(arrays.size());
      for (NamedArray a : arrays) {
        out.add(new Entry(a.name(), a.shape(), a.values(), a.trainable()));
      }
      return out;
    }

    static List<NamedArray> toArrays(List<Entry> entries) {
      List<NamedArray> out = new ArrayList<>(entries.size());
      for (Entry e : entries) {
        out.add(new NamedArray(e.name, e.shape, e.values, e.trainable));
      }
      return out;
    }
  }

  /**
   * A parameter-space vector: its values (block order, row-major) and the root indices of its
   * blocks, null for the whole root layout.
   */
  record Vector(int[] rootIndices, double[] values) implements Serializable {
    private static final long serialVersionUID = 1L;

    static Vector of(ParameterVector v, ParameterLayout modelLayout, String what) {
      int[] idx = SpiChecks.rootIndices(v.layout(), modelLayout, what);
      return new Vector(v.layout().isRoot() ? null : idx, v.toDoubleArray());
    }

    ParameterLayout layoutIn(ParameterLayout root) {
      return rootIndices == null ? root : root.select(rootIndices);
    }

    ParameterVector on(TensorAlgebra algebra, ParameterLayout root) {
      return ParameterVector.fromArray(algebra, layoutIn(root), values);
    }

    long bytes() {
      return 8L * values.length + (rootIndices == null ? 0 : 4L * rootIndices.length);
    }
  }

  /**
   * The samples of an objective on each partition: {@code local[p]} the indices into partition
   * {@code p}'s samples and {@code positions[p]} their positions in the objective's batch; both
   * null for the whole dataset (partition {@code p}'s sample {@code i} is then at {@code
   * offsets[p] + i}).
   */
  record Selection(int[][] local, int[][] positions, int[] offsets) implements Serializable {
    private static final long serialVersionUID = 1L;

    boolean whole() {
      return local == null;
    }

    int[] positions(int p, int share) {
      if (!whole()) {
        return positions[p];
      }
      int[] out = new int[share];
      for (int i = 0; i < share; i++) {
        out[i] = offsets[p] + i;
      }
      return out;
    }

    long bytes() {
      long b = 4L * offsets.length;
      if (local != null) {
        for (int p = 0; p < local.length; p++) {
          b += 4L * (local[p].length + positions[p].length);
        }
      }
      return b;
    }
  }
}
