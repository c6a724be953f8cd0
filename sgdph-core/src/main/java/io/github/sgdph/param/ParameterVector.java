package io.github.sgdph.param;

import io.github.sgdph.tensor.Tensor;
import io.github.sgdph.tensor.TensorAlgebra;
import java.util.Arrays;
import java.util.Objects;
import java.util.function.UnaryOperator;
import java.util.random.RandomGenerator;

/**
 * A vector in parameter space: one backend {@link Tensor} per block of a {@link
 * ParameterLayout}. Gradients, directions, Hessian-vector products and optimizer buffers are
 * parameter vectors.
 *
 * <p>Operations mirror {@link Tensor}'s, block by block, in place, returning {@code this}.
 * Binary operations require the same layout ({@link ParameterLayout#sameBlocksAs}).
 * {@link #restrict} gives a vector over a sub-layout that <em>shares</em> the block tensors;
 * {@link #expandTo} makes a new full vector with zeros outside the selection.
 *
 * <p>{@link #close()} closes every block tensor; a vector made by {@link #restrict} does not
 * own its tensors and closing it is a no-op.
 */
public final class ParameterVector implements AutoCloseable {
  private final ParameterLayout layout;
  private final Tensor[] blocks;
  private final boolean owner;

  private ParameterVector(ParameterLayout layout, Tensor[] blocks, boolean owner) {
    this.layout = layout;
    this.blocks = blocks;
    this.owner = owner;
  }

  /**
   * A vector over {@code layout} made of these tensors (taken over: the vector owns them).
   *
   * @param layout the layout the tensors follow
   * @param blocks one tensor per block of {@code layout}, in block order, each with the block's
   *     element count; closed when the vector is closed
   * @return a vector that owns {@code blocks}
   * @throws IllegalArgumentException if the count or a tensor's size does not match the layout
   */
  public static ParameterVector of(ParameterLayout layout, Tensor... blocks) {
    Objects.requireNonNull(layout, "layout");
    if (blocks.length != layout.blockCount()) {
      throw new IllegalArgumentException(
          "blocks: expected " + layout.blockCount() + " tensors but got " + blocks.length);
    }
    for (int i = 0; i < blocks.length; i++) {
      Objects.requireNonNull(blocks[i], "blocks[" + i + "]");
      if (blocks[i].size() != layout.block(i).size()) {
        throw new IllegalArgumentException(
            layout.block(i).name() + ": expected " + layout.block(i).size()
                + " entries but the tensor has " + blocks[i].size());
      }
    }
    return new ParameterVector(layout, blocks.clone(), true);
  }

  /**
   * A vector of zeros over {@code layout}.
   *
   * @param algebra the backend and dtype of the new block tensors
   * @param layout the blocks and their shapes
   * @return a new vector; the caller closes it
   */
  public static ParameterVector zeros(TensorAlgebra algebra, ParameterLayout layout) {
    Tensor[] t = new Tensor[layout.blockCount()];
    for (int i = 0; i < t.length; i++) {
      t[i] = algebra.zeros(layout.block(i).shape());
    }
    return new ParameterVector(layout, t, true);
  }

  /**
   * A vector over {@code layout} from values flattened in block order (row-major within a
   * block), as in case files.
   *
   * @param algebra the backend and dtype of the new block tensors; values are rounded to its dtype
   * @param layout the blocks and their shapes
   * @param values {@code layout.dimension()} values, block after block; not retained
   * @return a new vector; the caller closes it
   * @throws IllegalArgumentException if {@code values.length != layout.dimension()}
   */
  public static ParameterVector fromArray(
      TensorAlgebra algebra, ParameterLayout layout, double[] values) {
    if (values.length != layout.dimension()) {
      throw new IllegalArgumentException(
          "values: expected " + layout.dimension() + " entries for " + layout.blockCount()
              + " blocks but got " + values.length);
    }
    Tensor[] t = new Tensor[layout.blockCount()];
    int off = 0;
    for (int i = 0; i < t.length; i++) {
      ParameterBlock b = layout.block(i);
      t[i] = algebra.fromArray(Arrays.copyOfRange(values, off, off + b.size()), b.shape());
      off += b.size();
    }
    return new ParameterVector(layout, t, true);
  }

  /**
   * A vector of independent standard normal entries.
   *
   * @param algebra the backend and dtype of the new block tensors
   * @param layout the blocks and their shapes
   * @param random the source of the samples, drawn block after block in row-major order (so a seed
   *     gives the same vector on every backend)
   * @return a new vector; the caller closes it
   */
  public static ParameterVector randomNormal(
      TensorAlgebra algebra, ParameterLayout layout, RandomGenerator random) {
    Tensor[] t = new Tensor[layout.blockCount()];
    for (int i = 0; i < t.length; i++) {
      t[i] = algebra.randomNormal(random, layout.block(i).shape());
    }
    return new ParameterVector(layout, t, true);
  }

  /**
   * A vector of independent Rademacher (±1) entries.
   *
   * @param algebra the backend and dtype of the new block tensors
   * @param layout the blocks and their shapes
   * @param random the source of the signs, drawn block after block in row-major order (so a seed
   *     gives the same vector on every backend)
   * @return a new vector; the caller closes it
   */
  public static ParameterVector rademacher(
      TensorAlgebra algebra, ParameterLayout layout, RandomGenerator random) {
    Tensor[] t = new Tensor[layout.blockCount()];
    for (int i = 0; i < t.length; i++) {
      t[i] = algebra.rademacher(random, layout.block(i).shape());
    }
    return new ParameterVector(layout, t, true);
  }

  /**
   * The layout of this vector: its blocks, their names and shapes.
   *
   * @return the layout given at creation (a sub-layout for a vector made by {@link #restrict})
   */
  public ParameterLayout layout() {
    return layout;
  }

  /**
   * The number of blocks.
   *
   * @return the number of block tensors, equal to {@code layout().blockCount()}
   */
  public int blockCount() {
    return blocks.length;
  }

  /**
   * The tensor of block {@code i} (shared, not a copy).
   *
   * @param i the block index, from 0 to {@code blockCount() - 1}
   * @return the block's tensor; writes to it change this vector
   * @throws ArrayIndexOutOfBoundsException if {@code i} is out of range
   */
  public Tensor block(int i) {
    return blocks[i];
  }

  /**
   * The tensor of the block with this name (shared).
   *
   * @param name the parameter name of a block of {@link #layout()}
   * @return the block's tensor; writes to it change this vector
   * @throws IllegalArgumentException if no block of the layout has that name
   */
  public Tensor block(String name) {
    int i = layout.indexOf(name);
    if (i < 0) {
      throw new IllegalArgumentException("block: no parameter named '" + name + "' in " + layout);
    }
    return blocks[i];
  }

  /**
   * The algebra of the block tensors (null for a vector with no blocks).
   *
   * @return the algebra that created the first block tensor, or {@code null} without blocks
   */
  public TensorAlgebra algebra() {
    return blocks.length == 0 ? null : blocks[0].algebra();
  }

  /**
   * The total number of entries.
   *
   * @return the sum of the blocks' element counts, {@code layout().dimension()}
   */
  public long dimension() {
    return layout.dimension();
  }

  private ParameterVector map(UnaryOperator<Tensor> f) {
    Tensor[] t = new Tensor[blocks.length];
    for (int i = 0; i < t.length; i++) {
      t[i] = f.apply(blocks[i]);
    }
    return new ParameterVector(layout, t, true);
  }

  private void requireSameLayout(ParameterVector x, String op) {
    if (!layout.sameBlocksAs(x.layout)) {
      throw new IllegalArgumentException(
          op + ": layout mismatch " + layout + " vs " + x.layout);
    }
  }

  /**
   * A new vector with the same values.
   *
   * @return a new vector with copies of the block tensors; the caller closes it
   */
  public ParameterVector copy() {
    return map(Tensor::copy);
  }

  /**
   * A new vector of zeros with the same layout.
   *
   * @return a new vector with new block tensors; the caller closes it
   */
  public ParameterVector zerosLike() {
    return map(Tensor::zerosLike);
  }

  /**
   * {@code this = source}.
   *
   * @param source the vector whose values are copied in (same layout: {@link
   *     ParameterLayout#sameBlocksAs}); not modified
   * @return this vector
   */
  public ParameterVector assign(ParameterVector source) {
    requireSameLayout(source, "assign");
    for (int i = 0; i < blocks.length; i++) {
      blocks[i].assign(source.blocks[i]);
    }
    return this;
  }

  /**
   * Sets every entry to {@code value}.
   *
   * @param value the value, rounded to the tensors' dtype
   * @return this vector
   */
  public ParameterVector fill(double value) {
    for (Tensor t : blocks) {
      t.fill(value);
    }
    return this;
  }

  /**
   * {@code this = alpha * this}.
   *
   * @param alpha the factor
   * @return this vector
   */
  public ParameterVector scale(double alpha) {
    for (Tensor t : blocks) {
      t.scale(alpha);
    }
    return this;
  }

  /**
   * {@code this = this + alpha * x}.
   *
   * @param alpha the factor of {@code x}
   * @param x the vector added (same layout: {@link ParameterLayout#sameBlocksAs}); not modified
   * @return this vector
   */
  public ParameterVector axpy(double alpha, ParameterVector x) {
    requireSameLayout(x, "axpy");
    for (int i = 0; i < blocks.length; i++) {
      blocks[i].axpy(alpha, x.blocks[i]);
    }
    return this;
  }

  /**
   * {@code this = beta * this + alpha * x}, block by block ({@link Tensor#axpby}: one pass per
   * block where the backend fuses it).
   *
   * @param alpha the factor of {@code x}
   * @param x the vector added (same layout: {@link ParameterLayout#sameBlocksAs}); not modified
   * @param beta the factor of this vector
   * @return this vector
   */
  public ParameterVector axpby(double alpha, ParameterVector x, double beta) {
    requireSameLayout(x, "axpby");
    for (int i = 0; i < blocks.length; i++) {
      blocks[i].axpby(alpha, x.blocks[i], beta);
    }
    return this;
  }

  /**
   * Element-wise {@code this = this * x}.
   *
   * @param x the factor (same layout: {@link ParameterLayout#sameBlocksAs}); not modified
   * @return this vector
   */
  public ParameterVector mul(ParameterVector x) {
    requireSameLayout(x, "mul");
    for (int i = 0; i < blocks.length; i++) {
      blocks[i].mul(x.blocks[i]);
    }
    return this;
  }

  /**
   * Element-wise {@code this = this / x}.
   *
   * @param x the divisor (same layout: {@link ParameterLayout#sameBlocksAs}); not modified
   * @return this vector
   */
  public ParameterVector div(ParameterVector x) {
    requireSameLayout(x, "div");
    for (int i = 0; i < blocks.length; i++) {
      blocks[i].div(x.blocks[i]);
    }
    return this;
  }

  /**
   * Element-wise {@code this = |this|}.
   *
   * @return this vector
   */
  public ParameterVector abs() {
    for (Tensor t : blocks) {
      t.abs();
    }
    return this;
  }

  /**
   * Element-wise {@code this = sqrt(this)}.
   *
   * @return this vector
   */
  public ParameterVector sqrt() {
    for (Tensor t : blocks) {
      t.sqrt();
    }
    return this;
  }

  /**
   * Element-wise {@code this = max(this, value)}.
   *
   * @param value the lower bound applied to every entry
   * @return this vector
   */
  public ParameterVector max(double value) {
    for (Tensor t : blocks) {
      t.max(value);
    }
    return this;
  }

  /**
   * Element-wise {@code this = this + value}.
   *
   * @param value the value added to every entry
   * @return this vector
   */
  public ParameterVector addScalar(double value) {
    for (Tensor t : blocks) {
      t.addScalar(value);
    }
    return this;
  }

  /**
   * The inner product over all blocks.
   *
   * @param x the other operand (same layout: {@link ParameterLayout#sameBlocksAs}); not modified
   * @return {@code Σ this_i x_i}, summed over the blocks on the host
   */
  public double dot(ParameterVector x) {
    requireSameLayout(x, "dot");
    double s = 0;
    for (int i = 0; i < blocks.length; i++) {
      s += blocks[i].dot(x.blocks[i]);
    }
    return s;
  }

  /**
   * The Euclidean norm over all blocks.
   *
   * @return {@code sqrt(this · this)}
   */
  public double norm() {
    return Math.sqrt(dot(this));
  }

  /**
   * The largest absolute entry over all blocks (NaN if any entry is NaN).
   *
   * @return {@code max |this_i|}, 0 for a vector without entries
   */
  public double maxAbs() {
    double m = 0;
    for (Tensor t : blocks) {
      double a = t.maxAbs();
      if (Double.isNaN(a)) {
        return Double.NaN;
      }
      m = Math.max(m, a);
    }
    return m;
  }

  /**
   * Whether every entry is finite.
   *
   * @return {@code true} if no entry is NaN or infinite
   */
  public boolean allFinite() {
    // one check for all blocks (TensorAlgebra#allFinite: one host read on a backend that can)
    return blocks.length == 0 || blocks[0].algebra().allFinite(blocks);
  }

  /**
   * The name of the first block with a NaN or infinite entry, or null.
   *
   * @return the first such block's parameter name, or {@code null} if every entry is finite
   */
  public String firstNonFiniteBlock() {
    if (allFinite()) {
      return null; // the usual case: one check for all blocks
    }
    for (int i = 0; i < blocks.length; i++) {
      if (!blocks[i].allFinite()) {
        return layout.block(i).name();
      }
    }
    return null;
  }

  /**
   * The part of this vector on a sub-layout of the same root; shares the tensors.
   *
   * @param sub a selection of blocks of this vector's root layout (see {@link
   *     ParameterLayout#select}) whose blocks are all in this vector
   * @return a vector over {@code sub} that shares this vector's tensors and does not own them
   * @throws IllegalArgumentException if {@code sub} is not a selection of this vector's root
   *     blocks present in this vector
   */
  public ParameterVector restrict(ParameterLayout sub) {
    if (sub.root() != layout.root()) {
      throw new IllegalArgumentException("restrict: " + sub + " is not a selection of " + layout);
    }
    Tensor[] t = new Tensor[sub.blockCount()];
    for (int i = 0; i < t.length; i++) {
      int mine = positionOfRootIndex(sub.rootIndex(i));
      if (mine < 0) {
        throw new IllegalArgumentException(
            "restrict: block '" + sub.block(i).name() + "' is not part of " + layout);
      }
      t[i] = blocks[mine];
    }
    return new ParameterVector(sub, t, false);
  }

  /**
   * A new vector over {@code target} (a layout of the same root that contains every block of
   * this one, typically the root) with copies of this vector's blocks and zeros elsewhere.
   *
   * @param target the layout of the new vector
   * @return a new vector over {@code target}; the caller closes it
   * @throws IllegalArgumentException if {@code target} is of another root or does not contain every
   *     block of this vector
   */
  public ParameterVector expandTo(ParameterLayout target) {
    if (target.root() != layout.root()) {
      throw new IllegalArgumentException("expandTo: " + target + " is not of the same model");
    }
    Tensor[] t = new Tensor[target.blockCount()];
    TensorAlgebra alg = algebra();
    int found = 0;
    for (int i = 0; i < t.length; i++) {
      int mine = positionOfRootIndex(target.rootIndex(i));
      if (mine >= 0) {
        t[i] = blocks[mine].copy();
        found++;
      } else {
        t[i] = alg.zeros(target.block(i).shape());
      }
    }
    if (found != blocks.length) {
      for (Tensor x : t) {
        x.close();
      }
      throw new IllegalArgumentException("expandTo: " + target + " does not contain " + layout);
    }
    return new ParameterVector(target, t, true);
  }

  private int positionOfRootIndex(int rootIdx) {
    for (int j = 0; j < blocks.length; j++) {
      if (layout.rootIndex(j) == rootIdx) {
        return j;
      }
    }
    return -1;
  }

  /**
   * The values flattened in block order (a host copy; not for inner loops).
   *
   * @return a new array of {@link #dimension()} values, block after block, row-major within a block
   */
  public double[] toDoubleArray() {
    double[] out = new double[Math.toIntExact(layout.dimension())];
    int off = 0;
    for (Tensor t : blocks) {
      double[] v = t.toDoubleArray();
      System.arraycopy(v, 0, out, off, v.length);
      off += v.length;
    }
    return out;
  }

  @Override
  public void close() {
    if (owner) {
      for (Tensor t : blocks) {
        t.close();
      }
    }
  }

  @Override
  public String toString() {
    return "ParameterVector" + layout.blocks();
  }
}
