package io.github.sgdph.kfac;

import io.github.sgdph.curvature.FactoredLayer;
import io.github.sgdph.param.ParameterLayout;
import io.github.sgdph.param.ParameterVector;
import io.github.sgdph.tensor.Tensor;
import io.github.sgdph.tensor.TensorAlgebra;
import java.util.ArrayList;
import java.util.List;

/**
 * Where the blocks of a domain (a selection of the root layout) sit among the factored layers:
 * for each factored layer with a block in the domain, the positions of its weight and bias in the
 * domain and the columns {@code cols} of the homogeneous input {@code ã = [a; 1]} they cover
 * (weight: {@code 0 … inputDim−1}, bias: {@code inputDim}); the other blocks of the domain are
 * non-factored (diagonal). Gathers a vector's blocks into {@code [outputDim × |cols|]} matrices
 * {@code V = [W | b]} and scatters them back, the weight's entries where {@link
 * FactoredLayer#weightIndex} says.
 */
final class LayerView {
  /** One factored layer's part of the domain. */
  record Part(int layer, FactoredLayer f, int weightPos, int biasPos, int[] cols) {}

  final ParameterLayout domain;
  final List<Part> parts;
  /** Domain positions of the non-factored blocks, and their root block indices. */
  final int[] otherPos;

  final int[] otherRoot;

  LayerView(ParameterLayout domain, List<FactoredLayer> layers) {
    this.domain = domain;
    List<Part> ps = new ArrayList<>();
    boolean[] covered = new boolean[domain.blockCount()];
    for (int l = 0; l < layers.size(); l++) {
      FactoredLayer f = layers.get(l);
      int wp = position(domain, f.weightBlock());
      int bp = f.hasBias() ? position(domain, f.biasBlock()) : -1;
      if (wp < 0 && bp < 0) {
        continue;
      }
      int count = (wp >= 0 ? f.inputDim() : 0) + (bp >= 0 ? 1 : 0);
      int[] cols = new int[count];
      int c = 0;
      if (wp >= 0) {
        for (int j = 0; j < f.inputDim(); j++) {
          cols[c++] = j;
        }
        covered[wp] = true;
      }
      if (bp >= 0) {
        cols[c] = f.inputDim();
        covered[bp] = true;
      }
      ps.add(new Part(l, f, wp, bp, cols));
    }
    this.parts = List.copyOf(ps);
    int others = 0;
    for (boolean b : covered) {
      others += b ? 0 : 1;
    }
    this.otherPos = new int[others];
    this.otherRoot = new int[others];
    int o = 0;
    for (int i = 0; i < covered.length; i++) {
      if (!covered[i]) {
        otherPos[o] = i;
        otherRoot[o] = domain.rootIndex(i);
        o++;
      }
    }
  }

  private static int position(ParameterLayout domain, int rootIndex) {
    for (int i = 0; i < domain.blockCount(); i++) {
      if (domain.rootIndex(i) == rootIndex) {
        return i;
      }
    }
    return -1;
  }

  /** Host copies of every block of {@code v} (over this domain). */
  double[][] host(ParameterVector v) {
    double[][] h = new double[v.blockCount()][];
    for (int i = 0; i < h.length; i++) {
      h[i] = v.block(i).toDoubleArray();
    }
    return h;
  }

  /** {@code V = [W | b]} restricted to the part's columns, {@code [outputDim × |cols|]}. */
  static double[][] gather(Part p, double[][] blocks) {
    int out = p.f().outputDim();
    int in = p.f().inputDim();
    double[][] v = new double[out][p.cols().length];
    for (int o = 0; o < out; o++) {
      for (int c = 0; c < p.cols().length; c++) {
        int col = p.cols()[c];
        v[o][c] = col < in
            ? blocks[p.weightPos()][p.f().weightIndex(o, col)] : blocks[p.biasPos()][o];
      }
    }
    return v;
  }

  /** Writes {@code r [outputDim × |cols|]} into the part's blocks of {@code blocks}. */
  static void scatter(Part p, double[][] r, double[][] blocks) {
    int out = p.f().outputDim();
    int in = p.f().inputDim();
    for (int o = 0; o < out; o++) {
      for (int c = 0; c < p.cols().length; c++) {
        int col = p.cols()[c];
        if (col < in) {
          blocks[p.weightPos()][p.f().weightIndex(o, col)] = r[o][c];
        } else {
          blocks[p.biasPos()][o] = r[o][c];
        }
      }
    }
  }

  /** New arrays of each domain block's size. */
  double[][] zeros() {
    double[][] z = new double[domain.blockCount()][];
    for (int i = 0; i < z.length; i++) {
      z[i] = new double[domain.block(i).size()];
    }
    return z;
  }

  /** A new vector over the domain from host blocks. */
  ParameterVector vector(TensorAlgebra algebra, double[][] blocks) {
    Tensor[] t = new Tensor[blocks.length];
    try {
      for (int i = 0; i < t.length; i++) {
        t[i] = algebra.fromArray(blocks[i], domain.block(i).shape());
      }
    } catch (RuntimeException | Error e) {
      for (Tensor x : t) {
        if (x != null) {
          x.close();
        }
      }
      throw e;
    }
    return ParameterVector.of(domain, t);
  }
}
