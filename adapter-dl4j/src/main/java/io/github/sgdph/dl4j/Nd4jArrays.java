package io.github.sgdph.dl4j;

import java.lang.ref.Reference;
import java.util.Arrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.BroadcastOp;
import org.nd4j.linalg.api.ops.Op;
import org.nd4j.linalg.api.ops.ReduceOp;
import org.nd4j.linalg.api.ops.executioner.OpExecutioner;
import org.nd4j.linalg.api.ops.impl.broadcast.BroadcastAddOp;
import org.nd4j.linalg.api.ops.impl.broadcast.BroadcastDivOp;
import org.nd4j.linalg.api.ops.impl.broadcast.BroadcastMulOp;
import org.nd4j.linalg.api.ops.impl.broadcast.BroadcastSubOp;
import org.nd4j.linalg.api.ops.impl.reduce.floating.Mean;
import org.nd4j.linalg.api.ops.impl.reduce.same.AMax;
import org.nd4j.linalg.api.ops.impl.reduce.same.Max;
import org.nd4j.linalg.api.ops.impl.reduce.same.Sum;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Small ND4J helpers of the adapter. Results are new arrays unless a name says otherwise.
 *
 * <p><b>Legacy ops run through {@link #exec}.</b> ND4J 1.0.0-M2.1's {@code NativeOpExecutioner}
 * runs a broadcast, a reduction, a transform or an index reduction by passing only native handles
 * ({@code OpaqueDataBuffer}) of the op's arrays to the native call, and holds no Java reference to
 * the op or its arrays past building those arguments. An array that nothing else holds — a
 * temporary passed straight in, and always the op's own dimension array, which the op allocates
 * outside any workspace — can then be collected by a garbage collection that happens while the
 * arguments are built (they allocate) or while the native call runs, and ND4J's deallocator thread
 * deletes its native buffer descriptor while the op still reads it: a SIGSEGV in
 * {@code sd::DataBuffer::primary()} under {@code execBroadcast}, seen about once in 25 runs of
 * 2200 SGN steps and within minutes with a thread forcing collections. {@link #exec} keeps the op,
 * and so its input, output and dimension arrays, reachable until the native call has returned.
 * ND4J's custom ops (the pairwise arithmetic of {@code add}, {@code mul}, ..., {@code assign},
 * {@code dup}) keep their operands in the op context past the call and are safe as they are; the
 * instance methods that run legacy ops with dimensions ({@code sum(int...)}, {@code mean},
 * {@code max}, {@code addiRowVector}, {@code mulColumnVector}, ...) are not used in this adapter's
 * main code but for their helpers here (a test checks the sources).
 */
final class Nd4jArrays {
  private Nd4jArrays() {}

  /**
   * Runs one of ND4J's legacy ops and keeps it — its input, output and dimension arrays —
   * reachable until the native call has returned (see the class comment).
   *
   * @return the op's output
   */
  static INDArray exec(Op op) {
    try {
      OpExecutioner e = Nd4j.getExecutioner();
      // the typed entry points: exec(Op) returns null for a reduction over dimensions of size 1
      // (a batch of one sample), where exec(ReduceOp) returns the result
      if (op instanceof ReduceOp r) {
        return e.exec(r);
      }
      if (op instanceof BroadcastOp b) {
        return e.exec(b);
      }
      return e.exec(op);
    } finally {
      Reference.reachabilityFence(op);
    }
  }

  /** Sums of {@code x} over {@code dims} (kept as size-1 dimensions with {@code keepDims}). */
  static INDArray sum(INDArray x, boolean keepDims, int... dims) {
    return exec(new Sum(x, keepDims, dims));
  }

  /** Maxima of {@code x} over {@code dims}. */
  static INDArray max(INDArray x, int... dims) {
    return exec(new Max(x, dims));
  }

  /** The sum of every entry of {@code x}. */
  static double sumAll(INDArray x) {
    return exec(new Sum(x)).getDouble(0);
  }

  /** The largest absolute value of an entry of {@code x}. */
  static double maxAbsAll(INDArray x) {
    return exec(new AMax(x)).getDouble(0);
  }

  /** {@code a} as a rank-1 vector ({@code a} itself if it is one, else a reshape). */
  private static INDArray vector(INDArray a) {
    return a.rank() == 1 ? a : a.reshape(a.length());
  }

  /** {@code x += row} in place for a matrix {@code x [n, k]} and a row of {@code k} entries. */
  static INDArray addRowInPlace(INDArray x, INDArray row) {
    return exec(new BroadcastAddOp(x, vector(row), x, 1));
  }

  /** {@code x − col} for a matrix {@code x [n, k]} and a column of {@code n} entries. */
  static INDArray subColumn(INDArray x, INDArray col) {
    INDArray out = Nd4j.createUninitialized(x.dataType(), x.shape(), 'c');
    return exec(new BroadcastSubOp(x, vector(col), out, 0));
  }

  /** {@code x ⊙ col} (each row times its entry) for {@code x [n, k]} and a column of {@code n}. */
  static INDArray mulColumn(INDArray x, INDArray col) {
    INDArray out = Nd4j.createUninitialized(x.dataType(), x.shape(), 'c');
    return exec(new BroadcastMulOp(x, vector(col), out, 0));
  }

  /** {@code x *= col} in place ({@code x [n, k]}, a column of {@code n} entries). */
  static INDArray mulColumnInPlace(INDArray x, INDArray col) {
    return exec(new BroadcastMulOp(x, vector(col), x, 0));
  }

  /** {@code x /= col} in place ({@code x [n, k]}, a column of {@code n} entries). */
  static INDArray divColumnInPlace(INDArray x, INDArray col) {
    return exec(new BroadcastDivOp(x, vector(col), x, 0));
  }

  /** A new 'c'-order array of {@code type} holding {@code values} (row-major) with {@code shape}. */
  static INDArray create(double[] values, int[] shape, DataType type) {
    long[] s = Nd4jAlgebra.toLong(shape);
    if (type == DataType.DOUBLE) {
      return shape.length == 0 ? Nd4j.scalar(values[0]) : Nd4j.create(values, s, 'c');
    }
    float[] f = new float[values.length];
    for (int i = 0; i < f.length; i++) {
      f[i] = (float) values[i];
    }
    return shape.length == 0 ? Nd4j.scalar(f[0]) : Nd4j.create(f, s, 'c');
  }

  /** {@code tmp + b} with nulls as zeros; {@code tmp} must be a temporary (it is updated). */
  static INDArray addInto(INDArray tmp, INDArray b) {
    if (tmp == null) {
      return b;
    }
    if (b == null) {
      return tmp;
    }
    return tmp.addi(b);
  }

  /**
   * {@code op(a) · op(b)}, with {@code op} the transpose where asked, as a new row-major matrix:
   * one BLAS {@code gemm} on the operands' own memory (transposes are flags, not views). The
   * same product as {@code a.transpose().mmul(b)}, which ND4J's CPU backend computes several
   * times slower (measured: 4-5x for {@code [32, 784]ᵀ [32, 256]}, the weight gradient of a
   * dense layer).
   */
  static INDArray matmul(INDArray a, INDArray b, boolean transposeA, boolean transposeB) {
    return matmul(a, b, transposeA, transposeB, 'c');
  }

  /**
   * {@link #matmul(INDArray, INDArray, boolean, boolean)} into a new matrix of the given memory
   * order ({@code 'c'} row-major, {@code 'f'} column-major): the same BLAS call, so the order
   * costs nothing here and spares a transposing copy later.
   */
  static INDArray matmul(
      INDArray a, INDArray b, boolean transposeA, boolean transposeB, char order) {
    long rows = transposeA ? a.size(1) : a.size(0);
    long cols = transposeB ? b.size(0) : b.size(1);
    // beta = 0: gemm never reads the uninitialised output
    INDArray c = Nd4j.createUninitialized(a.dataType(), new long[] {rows, cols}, order);
    try {
      return Nd4j.gemm(a, b, c, transposeA, transposeB, 1.0, 0.0);
    } finally {
      // BLAS reads the operands' memory through raw pointers: keep them until it returns
      Reference.reachabilityFence(a);
      Reference.reachabilityFence(b);
    }
  }

  /** Whether every entry is finite. */
  static boolean allFinite(INDArray a) {
    return a.isEmpty() || allFinite(new INDArray[] {a});
  }

  /**
   * Whether every entry of every array is finite: the sums of the arrays, added up on the
   * device and read once. A sum of entries is finite only if every entry is (an infinity or a
   * NaN stays in a sum: ∞ + finite = ∞, ∞ − ∞ = NaN), so a finite total answers at the cost of
   * one reduction per array, with no temporary array; a non-finite total can also come from
   * finite entries whose sum overflows, so only then are the arrays counted exactly ({@code
   * MatchCondition}, which costs several times a sum: it was the largest single cost of an SGD
   * step on the MLP before).
   */
  static boolean allFinite(INDArray[] arrays) {
    INDArray total = null;
    try {
      for (INDArray a : arrays) {
        if (a == null || a.isEmpty()) {
          continue;
        }
        INDArray s = exec(new Sum(a));
        if (total == null) {
          total = s;
        } else {
          total.addi(s);
          if (s.closeable()) {
            s.close();
          }
        }
      }
      if (total == null || Double.isFinite(total.getDouble(0))) {
        return true;
      }
    } finally {
      if (total != null && total.closeable()) {
        total.close();
      }
    }
    for (INDArray a : arrays) {
      if (a != null && !a.isEmpty() && Nd4jTensor.count(a, false) != 0) {
        return false;
      }
    }
    return true;
  }

  /** The samples {@code idx} (along dimension 0) of {@code x}, as a new array. */
  static INDArray rows(INDArray x, int[] idx) {
    long[] shape = x.shape().clone();
    shape[0] = idx.length;
    INDArray out = Nd4j.createUninitialized(x.dataType(), shape, 'c');
    for (int k = 0; k < idx.length; k++) {
      out.slice(k).assign(x.slice(idx[k]));
    }
    return out;
  }

  /** One-hot rows {@code [n, k]} for integer class labels. */
  static INDArray oneHot(double[] labels, int k, DataType type) {
    INDArray y = Nd4j.zeros(type, labels.length, k);
    for (int i = 0; i < labels.length; i++) {
      y.putScalar(i, (int) labels[i], 1.0);
    }
    return y;
  }

  // ------------------------------------------------- per-channel (dimension 1) arithmetic

  /** Every dimension but 1 (the feature axis of {@code [n, F]}, the channel axis of NCHW). */
  static int[] nonChannelDims(INDArray x) {
    int[] d = new int[x.rank() - 1];
    d[0] = 0;
    for (int i = 2; i < x.rank(); i++) {
      d[i - 1] = i;
    }
    return d;
  }

  /** The number of entries per channel. */
  static long perChannel(INDArray x) {
    return x.length() / x.size(1);
  }

  /** Sums over every dimension but 1: a vector {@code [C]}. */
  static INDArray chSum(INDArray x) {
    return exec(new Sum(x, nonChannelDims(x)));
  }

  /** Means over every dimension but 1: a vector {@code [C]}. */
  static INDArray chMean(INDArray x) {
    return exec(new Mean(x, nonChannelDims(x)));
  }

  /** {@code x * vec} with {@code vec [C]} broadcast along dimension 1. */
  static INDArray chMul(INDArray x, INDArray vec) {
    INDArray out = Nd4j.createUninitialized(x.dataType(), x.shape(), 'c');
    return exec(new BroadcastMulOp(x, vec, out, 1));
  }

  /** {@code x + vec} with {@code vec [C]} broadcast along dimension 1. */
  static INDArray chAdd(INDArray x, INDArray vec) {
    INDArray out = Nd4j.createUninitialized(x.dataType(), x.shape(), 'c');
    return exec(new BroadcastAddOp(x, vec, out, 1));
  }

  /** {@code x − vec} with {@code vec [C]} broadcast along dimension 1. */
  static INDArray chSub(INDArray x, INDArray vec) {
    INDArray out = Nd4j.createUninitialized(x.dataType(), x.shape(), 'c');
    return exec(new BroadcastSubOp(x, vec, out, 1));
  }

  /** {@code x += vec} in place ({@code x} a temporary), {@code vec [C]} along dimension 1. */
  static INDArray chAddInPlace(INDArray x, INDArray vec) {
    return exec(new BroadcastAddOp(x, vec, x, 1));
  }

  /** A new array of {@code shape} with {@code vec [C]} repeated along every dimension but 1. */
  static INDArray chBroadcast(INDArray vec, long[] shape, DataType type) {
    return chAddInPlace(Nd4j.zeros(type, shape), vec);
  }

  // ------------------------------------------------- spatial padding of NCHW arrays

  /** {@code x} padded by {@code pad = {top, bottom, left, right}} with {@code value}. */
  static INDArray pad(INDArray x, int[] pad, double value) {
    if (Arrays.stream(pad).allMatch(p -> p == 0)) {
      return x;
    }
    long[] s = x.shape();
    INDArray out =
        Nd4j.valueArrayOf(
            new long[] {s[0], s[1], s[2] + pad[0] + pad[1], s[3] + pad[2] + pad[3]}, value,
            x.dataType());
    interior(out, pad, s[2], s[3]).assign(x);
    return out;
  }

  /** The un-padded part of a padded NCHW array (a view). */
  static INDArray interior(INDArray padded, int[] pad, long h, long w) {
    return padded.get(
        NDArrayIndex.all(), NDArrayIndex.all(),
        NDArrayIndex.interval(pad[0], pad[0] + h), NDArrayIndex.interval(pad[2], pad[2] + w));
  }

  /** The values row-major as doubles (a host copy). */
  static double[] toDoubles(INDArray a) {
    return a.isEmpty() ? new double[0] : Nd4j.toFlattened('c', a).toDoubleVector();
  }
}
