package io.github.sgdph.djl;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.github.sgdph.data.ArrayBatch;

/**
 * The data and labels of one batch, materialised on demand as new arrays of the network's
 * device and data type in the current {@code NDScope}: an objective holds no native memory
 * between calls (the SPI has no {@code Objective.close()}), and a curvature never holds a
 * caller's arrays (a DJL {@code Batch} is closed after its step).
 *
 * <p>Materialised arrays always own their memory on the PyTorch side. An array DJL creates from
 * Java data on the CPU wraps a Java direct buffer ({@code from_blob}) that lives only as long as
 * that {@code NDArray} object; an autograd graph that saved such an input (the first layer saves
 * {@code x}) would read freed memory once the array is closed and collected.
 */
abstract class BatchSource {

  /** Data and labels. */
  record Materialized(NDList data, NDList labels) {}

  /** The number of samples. */
  abstract int size();

  /** New arrays for the batch (registered with the current scope). */
  abstract Materialized materialize(NDManager manager, Device device, DataType dataType);

  /** The batch of the given samples, in order (indices already validated). */
  abstract BatchSource subset(int[] indices);

  /** The host labels of a spec batch ({@link ArrayBatch#yView()}), or null for arrays. */
  double[] hostLabels() {
    return null;
  }

  /** A host batch of the neutral spec: uploaded on every call. */
  static BatchSource of(ArrayBatch batch) {
    return new Host(batch);
  }

  /**
   * Arrays of a caller (kept by reference: the caller keeps them open while the objective is
   * used).
   */
  static BatchSource of(NDList data, NDList labels) {
    return new Caller(data, labels, null);
  }

  private static final class Host extends BatchSource {
    private final ArrayBatch batch;

    Host(ArrayBatch batch) {
      this.batch = batch;
    }

    @Override
    int size() {
      return batch.size();
    }

    @Override
    Materialized materialize(NDManager manager, Device device, DataType dataType) {
      return new Materialized(
          new NDList(upload(manager, batch.xView(), batch.xShape(), dataType)),
          new NDList(upload(manager, batch.yView(), batch.yShape(), dataType)));
    }

    private static NDArray upload(NDManager m, double[] v, int[] shape, DataType t) {
      return DjlAlgebra.upload(m, v, DjlAlgebra.shapeOf(shape), t);
    }

    @Override
    BatchSource subset(int[] indices) {
      return new Host(batch.subset(indices));
    }

    @Override
    double[] hostLabels() {
      return batch.yView();
    }
  }

  private static final class Caller extends BatchSource {
    private final NDList data;
    private final NDList labels;
    private final long[] indices;

    Caller(NDList data, NDList labels, long[] indices) {
      this.data = data;
      this.labels = labels;
      this.indices = indices;
    }

    @Override
    int size() {
      return indices != null ? indices.length : Math.toIntExact(data.get(0).getShape().get(0));
    }

    @Override
    Materialized materialize(NDManager manager, Device device, DataType dataType) {
      NDArray idx = null;
      if (indices != null) {
        NDArray host = manager.create(indices);
        idx = host.toDevice(device, true);
        host.close();
      }
      return new Materialized(convert(data, idx, device, dataType), convert(labels, idx, device,
          dataType));
    }

    private static NDList convert(NDList list, NDArray idx, Device device, DataType dataType) {
      NDList out = new NDList(list.size());
      for (NDArray a : list) {
        NDArray b = a.toDevice(device, false);
        if (idx != null) {
          b = b.get(idx);
        }
        if (b.getDataType().isFloating() && b.getDataType() != dataType) {
          b = b.toType(dataType, false);
        }
        // always an array of our own, with memory PyTorch owns (never the caller's buffer)
        out.add(b == a ? a.duplicate() : b);
      }
      return out;
    }

    @Override
    BatchSource subset(int[] sel) {
      long[] next = new long[sel.length];
      for (int k = 0; k < sel.length; k++) {
        next[k] = indices == null ? sel[k] : indices[sel[k]];
      }
      return new Caller(data, labels, next);
    }

    @Override
    public String toString() {
      return "batch of " + size() + (indices == null ? "" : " " + java.util.Arrays.toString(
          indices));
    }
  }
}
