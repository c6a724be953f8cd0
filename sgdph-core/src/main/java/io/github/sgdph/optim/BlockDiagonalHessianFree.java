package io.github.sgdph.optim;

import io.github.sgdph.curvature.Curvature;
import io.github.sgdph.curvature.Objective;
import io.github.sgdph.kfac.CurvaturePreconditioner;
import io.github.sgdph.linalg.CgResult;
import io.github.sgdph.linalg.ConjugateGradient;
import io.github.sgdph.linalg.GaussNewtonOperator;
import io.github.sgdph.linalg.InverseDiagonalOperator;
import io.github.sgdph.linalg.LinearOperator;
import io.github.sgdph.param.ParameterLayout;
import io.github.sgdph.param.ParameterVector;
import io.github.sgdph.tensor.Tensor;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Block-diagonal Hessian-free optimization (Zhang, Xiong, Bradbury and Socher, "Block-diagonal
 * Hessian-free Optimization for Training Neural Networks", 2017), and with a single block the
 * classic Hessian-free method of Martens ("Deep learning via Hessian-free optimization", ICML
 * 2010) with the generalized Gauss-Newton matrix. ALGORITHMS.md §3.
 *
 * <p>The parameters are partitioned into blocks ({@link Partition}); only parameter pairs in the
 * same block interact, so the curvature matrix is the block diagonal {@code G_bd} of
 * {@code G = Jᵀ H_L J} and each block solves its own damped system by conjugate gradient,
 * independently:
 *
 * <pre>
 *   gradient mini-batch → L(θ), g;   curvature mini-batch (a subset) → G
 *   optional preconditioner (Martens 2010 §4.7): D = ((1/N) Σ_i g_i ∘ g_i + λ)^0.75 from the
 *     per-term gradients g_i of the gradient batch; CG applies P = D⁻¹
 *   for each block b:
 *     G_b v_b = (G [v_b; 0])_b                       (a restricted GGN-vector product)
 *     solve (G_b + λI) δ_b = −g_b by CG from x0 = cg_decay · (previous final δ_b),
 *       at most cg_max_iter iterations, Martens' stop: at iteration i with
 *       k = max(10, ⌈0.1 i⌉), stop when i &gt; k, φ_{i−k} &lt; 0 and (φ_i − φ_{i−k}) / φ_i &lt; cg_progress_tol·k
 *   CG backtracking (Martens 2010 §4.6): the candidates are the iterates at iterations
 *     ⌈5·1.3^j⌉ and the last (each block contributing its iterate at min(i, its last));
 *     from the last candidate backwards, move to the previous one while L(θ + δ) decreases by
 *     more than 1e-12 relative (smaller differences are rounding: a tie keeps the later one)
 *   reduction ratio ρ (reduction_ratio):
 *     damped  (default): ρ = (L(θ+δ) − L(θ)) / (gᵀδ + ½ Σ_b δ_bᵀ (G_b + λI) δ_b),  L on the
 *             gradient batch
 *     martens:           ρ = (L_c(θ+δ) − L_c(θ)) / (gᵀδ + ½ Σ_b δ_bᵀ G_b δ_b),  L_c the loss on
 *             the curvature batch, the model undamped (Martens 2010 §4.1 and his code)
 *   ρ &lt; 1/4 (or NaN) → λ = 3/2 λ;   ρ &gt; 3/4 → λ = 2/3 λ               (Levenberg-Marquardt)
 *   line search: α = lr; while L(θ + αδ) &gt; L(θ) + ls_c·α·gᵀδ: α = ls_decay·α, at most
 *     ls_max_iter times; if it still fails, α = 0 (no step, as Martens' code)
 *   θ = θ + α δ
 * </pre>
 *
 * Loss values of the backtracking and the line search are on the gradient mini-batch. The
 * warm start of the next step is the <em>final</em> CG iterate of each block, not the
 * backtracked one (as in Martens' code). Blocks are solved one after another (tensors and
 * curvature objects are not thread-safe); each block's CG works on that block's vectors only.
 * As in Martens' code, λ is added to the curvature of the <em>mean</em> loss (his code adds it
 * to the curvature divided by the number of cases), so λ does not depend on the batch size.
 *
 * <p><b>Curvature mini-batch</b>. A curvature mini-batch that is a subset of the gradient
 * mini-batch is the defining choice of Zhang et al. (§3: the gradient on the large batch, the
 * Gauss-Newton products on a smaller one), as of Martens (2010, §4.3) before them.
 * {@link #step(Objective, Objective)} takes it explicitly (it should be a subset of the gradient
 * batch, e.g. {@link Objective#subBatch}); {@link #step(Objective)} uses the <b>first</b>
 * {@code k} samples of the batch, with {@code k = curvature_batch_size} when that is &gt; 0 (capped
 * at the batch size), else {@code k = max(1, round(curvature_batch_fraction · N))} for a batch of
 * {@code N} samples. The subset is deterministic (no random draw, so a restored state replays
 * bit for bit); shuffle the data between batches if the leading samples of a batch are not a
 * fair sample of it. The default fraction is <b>1/10</b>. Source, stated honestly: Zhang et al.
 * make the curvature batch a fraction of the gradient batch and compare several curvature batch
 * sizes, but the exact fraction of their experiments could not be checked for this library, so
 * 1/10 is taken from the stochastic Hessian-free of Kiros (2013, arXiv:1301.3641), whose
 * released code defaults to a gradient batch of 1000 and a curvature batch of 100. Fraction 1
 * (or {@code curvature_batch_size} ≥ N) is the whole batch. With train-mode batch norm, the
 * curvature of a sub-batch uses the sub-batch's own statistics (a sub-batch of one sample
 * normalises every feature to zero).
 *
 * <p><b>Hyper-parameters</b> (case-file names), each default with its source. "Martens 2010" is
 * the paper and the code released with it; "the PyTorch port" is fmeirinhos/pytorch-hessianfree
 * ({@code HessianFree(lr=1, damping=0.5, delta_decay=0.95, cg_max_iter=100)} with a hard-coded
 * progress tolerance 1e-4), whose numbers earlier versions of this class called "Martens'".
 * Martens 2010 himself used λ₀ = 45, at most 250 CG iterations, the progress stop with
 * ε = 5·10⁻⁴ and the diagonal preconditioner below; set them explicitly to reproduce him.
 *
 * <table>
 *   <caption>Block-diagonal HF hyper-parameters</caption>
 *   <tr><th>name</th><th>default</th><th>source of the default</th><th>meaning</th></tr>
 *   <tr><td>{@code lr}</td><td>1</td><td>Martens 2010 (line search starts at rate 1); the
 *       port</td><td>initial line-search step α, &gt; 0</td></tr>
 *   <tr><td>{@code lambda}</td><td>0.5</td><td>the PyTorch port (Martens 2010: 45)</td><td>initial
 *       damping λ, &gt;= 0</td></tr>
 *   <tr><td>{@code partition}</td><td>layer (bdhf), single (hf)</td><td>Zhang et al. (one block
 *       per layer); Martens 2010 (one block)</td><td>{@code layer}:
 *       tensors sharing the name prefix before the last '.' ({@code 0.weight} with
 *       {@code 0.bias}); {@code tensor}: one block per tensor; {@code single}: one block (full
 *       HF)</td></tr>
 *   <tr><td>{@code cg_max_iter}</td><td>100</td><td>the PyTorch port (Martens 2010:
 *       250)</td><td>CG iterations per block, &gt;= 1</td></tr>
 *   <tr><td>{@code cg_min_iter}</td><td>1</td><td>this library</td><td>iterations before a stop
 *       test, &gt;= 0</td></tr>
 *   <tr><td>{@code cg_decay}</td><td>0.95</td><td>Martens 2010 §4.5 (his code's {@code decay});
 *       the port</td><td>warm-start factor in [0, 1]</td></tr>
 *   <tr><td>{@code cg_progress_tol}</td><td>1e-4</td><td>the PyTorch port (Martens 2010 §4.4:
 *       5e-4)</td><td>ε of Martens' stop; 0 disables</td></tr>
 *   <tr><td>{@code cg_tol}</td><td>0</td><td>this library</td><td>relative residual tolerance; 0
 *       disables</td></tr>
 *   <tr><td>{@code cg_backtracking}</td><td>true</td><td>Martens 2010 §4.6</td><td>Martens' CG
 *       backtracking</td></tr>
 *   <tr><td>{@code preconditioner}</td><td>none</td><td>this library (unchanged default; Martens
 *       2010 §4.7: {@code martens})</td><td>{@code none}; {@code martens}: CG preconditioned by
 *       {@code D = ((1/N) Σ_i g_i ∘ g_i + λ)^0.75}; {@code ggn-diagonal}: {@code D = (diag G +
 *       λ)^0.75}, exact; {@code kfac}: the damped inverse of the exact-Fisher KFAC matrix (see
 *       below)</td></tr>
 *   <tr><td>{@code adapt_lambda}</td><td>true</td><td>Martens 2010 §4.1 (3/2 and 2/3 at ρ = 1/4
 *       and 3/4)</td><td>Levenberg-Marquardt adaptation</td></tr>
 *   <tr><td>{@code reduction_ratio}</td><td>damped</td><td>the PyTorch port (Martens 2010:
 *       {@code martens})</td><td>the form of ρ above</td></tr>
 *   <tr><td>{@code lambda_min}</td><td>0</td><td>this library</td><td>lower bound of adapted λ,
 *       &gt;= 0</td></tr>
 *   <tr><td>{@code line_search}</td><td>true</td><td>Martens 2010 (his code); the
 *       port</td><td>backtracking line search on α</td></tr>
 *   <tr><td>{@code ls_decay}</td><td>0.8</td><td>Martens 2010 (his code); the port</td><td>α
 *       reduction factor in (0, 1)</td></tr>
 *   <tr><td>{@code ls_c}</td><td>0.01</td><td>Martens 2010 (his code); the port</td><td>Armijo
 *       constant in [0, 1)</td></tr>
 *   <tr><td>{@code ls_max_iter}</td><td>60</td><td>Martens 2010 (his code); the
 *       port</td><td>reductions, &gt;= 1</td></tr>
 *   <tr><td>{@code curvature_batch_fraction}</td><td>0.1</td><td>Kiros 2013 (see above; Zhang et
 *       al. use a fraction, value not verified here)</td><td>curvature batch as a fraction of the
 *       gradient batch in (0, 1]; 1 for the whole batch</td></tr>
 *   <tr><td>{@code curvature_batch_size}</td><td>0 (use the fraction)</td><td>this
 *       library</td><td>an explicit curvature batch size, &gt;= 0; wins over the fraction when
 *       &gt; 0</td></tr>
 * </table>
 *
 * <p><b>Why ρ is damped by default</b>: it is the form this class has always used (the bundled
 * conformance cases' expected trajectories depend on it) and that of the PyTorch port; it
 * compares the decrease of the gradient-batch loss, the one the line search tests, with the
 * decrease predicted by the damped model CG actually minimised. Martens' undamped form on the
 * curvature batch ({@code reduction_ratio: martens}) is the one to use to reproduce Martens
 * (2010); note that it costs two more loss evaluations on the curvature batch when that batch is
 * a proper subset.
 *
 * <p><b>Martens' preconditioner</b> ({@code preconditioner: martens}; Martens 2010 §4.7:
 * {@code M = [diag(Σ_i ∇f_i ⊙ ∇f_i) + λI]^α} with α = 3/4): the per-term gradients {@code g_i} are
 * {@link Objective#perTermGradients()} of the gradient batch (as in Martens' code, which
 * accumulates the squared per-case gradients with the gradient); because the loss and the
 * curvature here are means over the batch, the sum becomes the mean {@code (1/N) Σ_i}. It costs
 * one per-term gradient pass per step. CG then runs with {@code P = D⁻¹} restricted to each
 * block.
 *
 * <p><b>Curvature preconditioners</b> ({@code preconditioner: ggn-diagonal} or {@code kfac};
 * {@link CurvaturePreconditioner}): built on the curvature batch, whose matrix {@code G + λI} CG
 * solves — the exact GGN diagonal in Martens' form {@code (diag G + λ)^0.75}, or the
 * factored-Tikhonov damped inverse of the KFAC matrix of the exact Fisher (which is the GGN for
 * these losses) with the step's λ, restricted to each block. Each costs {@code n k} backward
 * passes on the curvature batch ({@code n} samples, {@code k} outputs) and needs the batch's
 * labels ({@link io.github.sgdph.kfac.LabelledObjective}); KFAC also needs the Kronecker-factor SPI.
 *
 * <p><b>State</b>: scalars {@code t} and {@code lambda}; buffer {@code cg_warm_start} (the final
 * CG iterates of the last step, undecayed, over every tensor).
 *
 * <p>Step reports give the loss before the step, α, the damping λ used, the CG iterations summed
 * over blocks, the stop reason (of the last block), and the curvature
 * {@code δᵀG_bdδ/δᵀδ} of the chosen direction. A NaN or infinite loss, gradient, product or
 * direction throws {@link NonFiniteException} before any state or parameter changes.
 */
public final class BlockDiagonalHessianFree implements Optimizer {
  /** The name in case files of the block-diagonal method. */
  public static final String NAME = "bdhf";
  /** The name of the one-block case: classic Hessian-free. */
  public static final String FULL_NAME = "hf";

  /**
   * The default curvature mini-batch as a fraction of the gradient mini-batch: 1/10, the ratio of
   * Kiros' stochastic Hessian-free code (gradient batch 1000, curvature batch 100); see the class
   * comment for what could and could not be checked of Zhang et al.'s setting.
   */
  public static final double DEFAULT_CURVATURE_BATCH_FRACTION = 0.1;

  private static final Logger LOG = LoggerFactory.getLogger(BlockDiagonalHessianFree.class);

  /** How the parameters are split into independently solved blocks. */
  public enum Partition {
    /**
     * One block per layer: tensors whose names share the prefix before the last '.'
     * ({@code 0.weight}, {@code 0.bias}); a name without '.' is its own layer. A name whose
     * last part ends in {@code _l<k>} (or {@code _l<k>_reverse}) is stacked layer {@code k} of a
     * recurrent module, PyTorch's naming ({@code rnn.weight_ih_l0}, {@code rnn.weight_hh_l0},
     * {@code rnn.bias_l0}): each stacked layer of an LSTM is a block of its own, as the
     * block-diagonal HF paper treats multilayer LSTMs.
     */
    LAYER,
    /** One block per tensor. */
    TENSOR,
    /** One block of every tensor: classic (full) Hessian-free. */
    SINGLE;

    /**
     * The case-file name: {@code layer}, {@code tensor}, {@code single}.
     *
     * @return the constant's name in lower case
     */
    public String jsonName() {
      return name().toLowerCase(Locale.ROOT);
    }

    /**
     * Parses a case file's {@code partition}.
     *
     * @param s {@code layer}, {@code tensor} or {@code single} (case-sensitive)
     * @return the partition of that name
     * @throws IllegalArgumentException naming {@code partition} for another value
     */
    public static Partition parse(String s) {
      for (Partition p : values()) {
        if (p.jsonName().equals(s)) {
          return p;
        }
      }
      throw new IllegalArgumentException(
          "partition: expected 'layer', 'tensor' or 'single' but was '" + s + "'");
    }

    private static final java.util.regex.Pattern STACKED =
        java.util.regex.Pattern.compile(".*(_l[0-9]+(_reverse)?)");

    /** The layer of a tensor name for {@link #LAYER}: its prefix, and a stacked layer's tag. */
    private static String layerOf(String name) {
      int dot = name.lastIndexOf('.');
      String prefix = dot < 0 ? name : name.substring(0, dot);
      java.util.regex.Matcher m = STACKED.matcher(name.substring(dot + 1));
      return m.matches() ? prefix + "\0" + m.group(1) : prefix;
    }

    /**
     * The blocks of {@code layout} (a root layout) as sub-layouts, in parameter order.
     *
     * @param layout a root parameter layout
     * @return the blocks, each a new sub-layout of {@code layout}; empty for a layout without
     *     blocks
     */
    public List<ParameterLayout> blocksOf(ParameterLayout layout) {
      List<ParameterLayout> out = new ArrayList<>();
      int n = layout.blockCount();
      if (n == 0) {
        return out;
      }
      switch (this) {
        case SINGLE -> {
          int[] all = new int[n];
          for (int i = 0; i < n; i++) {
            all[i] = i;
          }
          out.add(layout.select(all));
        }
        case TENSOR -> {
          for (int i = 0; i < n; i++) {
            out.add(layout.select(i));
          }
        }
        case LAYER -> {
          Map<String, List<Integer>> groups = new LinkedHashMap<>();
          for (int i = 0; i < n; i++) {
            groups.computeIfAbsent(layerOf(layout.block(i).name()), k -> new ArrayList<>())
                .add(i);
          }
          for (List<Integer> g : groups.values()) {
            out.add(layout.select(g.stream().mapToInt(Integer::intValue).toArray()));
          }
        }
        default -> throw new IllegalStateException(name());
      }
      return out;
    }
  }

  /** The preconditioner of each block's conjugate gradient. */
  public enum Preconditioner {
    /** No preconditioner (the default). */
    NONE,
    /**
     * Martens (2010, §4.7): {@code D = ((1/N) Σ_i g_i ∘ g_i + λ)^0.75} from the per-term
     * gradients of the gradient batch; CG applies {@code D⁻¹}.
     */
    MARTENS,
    /**
     * {@code D = (diag G + λ)^0.75} with the exact GGN diagonal of the curvature batch ({@link
     * CurvaturePreconditioner.Kind#GGN_DIAGONAL}); CG applies {@code D⁻¹}.
     */
    GGN_DIAGONAL,
    /**
     * The damped inverse of the curvature batch's exact-Fisher KFAC matrix with the step's
     * {@code λ} ({@link CurvaturePreconditioner.Kind#KFAC}).
     */
    KFAC;

    /**
     * The case-file name: {@code none}, {@code martens}, {@code ggn-diagonal} or {@code kfac}.
     *
     * @return the constant's name in lower case, {@code _} as {@code -}
     */
    public String jsonName() {
      return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /**
     * Parses a case file's {@code preconditioner}.
     *
     * @param s {@code none}, {@code martens}, {@code ggn-diagonal} or {@code kfac}
     *     (case-sensitive)
     * @return the preconditioner of that name
     * @throws IllegalArgumentException naming {@code preconditioner} for another value
     */
    public static Preconditioner parse(String s) {
      for (Preconditioner p : values()) {
        if (p.jsonName().equals(s)) {
          return p;
        }
      }
      throw new IllegalArgumentException(
          "preconditioner: expected 'none', 'martens', 'ggn-diagonal' or 'kfac' but was '" + s
              + "'");
    }
  }

  /** The form of the reduction ratio ρ of the Levenberg-Marquardt rule. */
  public enum ReductionRatio {
    /**
     * {@code ρ = (L(θ+δ) − L(θ)) / (gᵀδ + ½ Σ_b δ_bᵀ(G_b + λI)δ_b)}: the damped model CG
     * minimised, losses on the gradient batch (the PyTorch port's form; the default).
     */
    DAMPED,
    /**
     * {@code ρ = (L_c(θ+δ) − L_c(θ)) / (gᵀδ + ½ Σ_b δ_bᵀ G_b δ_b)}: the undamped model, losses
     * on the curvature batch (Martens 2010 §4.1 and his code).
     */
    MARTENS;

    /**
     * The case-file name: {@code damped} or {@code martens}.
     *
     * @return the constant's name in lower case
     */
    public String jsonName() {
      return name().toLowerCase(Locale.ROOT);
    }

    /**
     * Parses a case file's {@code reduction_ratio}.
     *
     * @param s {@code damped} or {@code martens} (case-sensitive)
     * @return the form of that name
     * @throws IllegalArgumentException naming {@code reduction_ratio} for another value
     */
    public static ReductionRatio parse(String s) {
      for (ReductionRatio r : values()) {
        if (r.jsonName().equals(s)) {
          return r;
        }
      }
      throw new IllegalArgumentException(
          "reduction_ratio: expected 'damped' or 'martens' but was '" + s + "'");
    }
  }

  private final double lr;
  private final double lambda0;
  private final Partition partition;
  private final int cgMaxIter;
  private final int cgMinIter;
  private final double cgDecay;
  private final double cgProgressTol;
  private final double cgTol;
  private final boolean cgBacktracking;
  private final boolean adaptLambda;
  private final double lambdaMin;
  private final boolean lineSearch;
  private final double lsDecay;
  private final double lsC;
  private final int lsMaxIter;
  private final int curvatureBatchSize;
  private final double curvatureBatchFraction;
  private final Preconditioner preconditioner;
  private final ReductionRatio reductionRatio;
  private final StepListener listener;
  private final ConjugateGradient solver;

  private final BufferSlot warm = new BufferSlot("cg_warm_start");
  private long t;
  private double lambda;
  private double lastRatio = Double.NaN;
  private ParameterLayout planLayout;
  private List<ParameterLayout> blocks;

  private BlockDiagonalHessianFree(Builder b) {
    this.lr = b.lr;
    this.lambda0 = b.lambda;
    this.partition = b.partition;
    this.cgMaxIter = b.cgMaxIter;
    this.cgMinIter = b.cgMinIter;
    this.cgDecay = b.cgDecay;
    this.cgProgressTol = b.cgProgressTol;
    this.cgTol = b.cgTol;
    this.cgBacktracking = b.cgBacktracking;
    this.adaptLambda = b.adaptLambda;
    this.lambdaMin = b.lambdaMin;
    this.lineSearch = b.lineSearch;
    this.lsDecay = b.lsDecay;
    this.lsC = b.lsC;
    this.lsMaxIter = b.lsMaxIter;
    this.curvatureBatchSize = b.curvatureBatchSize;
    this.curvatureBatchFraction = b.curvatureBatchFraction;
    this.preconditioner = b.preconditioner;
    this.reductionRatio = b.reductionRatio;
    this.listener = b.listener;
    this.lambda = b.lambda;
    this.solver =
        ConjugateGradient.builder()
            .maxIterations(cgMaxIter)
            .minIterations(cgMinIter)
            .relativeTolerance(cgTol)
            .progressTolerance(cgProgressTol)
            .backtracking(
                cgBacktracking
                    ? ConjugateGradient.Backtracking.GEOMETRIC
                    : ConjugateGradient.Backtracking.NONE)
            .build();
  }

  /**
   * Settings of the block-diagonal method (partition per layer by default).
   *
   * @return a new builder with partition {@link Partition#LAYER}
   */
  public static Builder builder() {
    return new Builder(Partition.LAYER);
  }

  /**
   * Settings of classic, full Hessian-free: the same method with a single block.
   *
   * @return a new builder with partition {@link Partition#SINGLE}
   */
  public static Builder fullHessianFree() {
    return new Builder(Partition.SINGLE);
  }

  /** {@code hf} for a single block, else {@code bdhf}. */
  @Override
  public String name() {
    return partition == Partition.SINGLE ? FULL_NAME : NAME;
  }

  /**
   * How this optimizer splits the parameters into blocks.
   *
   * @return the partition set on the builder
   */
  public Partition partition() {
    return partition;
  }

  /**
   * The current (adapted) damping λ.
   *
   * @return λ as adapted by the Levenberg-Marquardt rule (the initial λ, or a restored one, without
   *     adaptation)
   */
  public double damping() {
    return lambda;
  }

  /**
   * The reduction ratio ρ of the last step, in the form set by {@code reduction_ratio} (a
   * diagnostic, not part of the saved state).
   *
   * @return ρ of the last completed step; NaN before the first step of this instance
   */
  public double lastReductionRatio() {
    return lastRatio;
  }

  /**
   * The blocks of this optimizer's partition for {@code layout}, as sub-layouts.
   *
   * @param layout a root parameter layout, e.g. {@link Objective#layout()}
   * @return the blocks, each a new sub-layout of {@code layout}, in parameter order
   */
  public List<ParameterLayout> blocks(ParameterLayout layout) {
    return partition.blocksOf(layout);
  }

  /**
   * The size of the curvature mini-batch {@link #step(Objective)} uses for a batch of {@code n}
   * samples: {@code min(curvature_batch_size, n)} when that is set (&gt; 0), else
   * {@code max(1, round(curvature_batch_fraction · n))}.
   *
   * @param n the number of samples of the gradient batch, at least 1
   * @return the number of leading samples that give the curvature, in {@code [1, n]}
   * @throws IllegalArgumentException if {@code n < 1}
   */
  public int curvatureBatchSize(int n) {
    if (n < 1) {
      throw new IllegalArgumentException("n: must be >= 1 but was " + n);
    }
    if (curvatureBatchSize > 0) {
      return Math.min(curvatureBatchSize, n);
    }
    long k = Math.round(curvatureBatchFraction * n);
    return (int) Math.max(1, Math.min(n, k));
  }

  /**
   * One step with the curvature on the first {@link #curvatureBatchSize(int)} samples of the
   * batch (the whole batch when that is all of them).
   */
  @Override
  public StepReport step(Objective objective) {
    int n = objective.batchSize();
    int k = curvatureBatchSize(n);
    if (k < n) {
      int[] idx = new int[k];
      for (int i = 0; i < idx.length; i++) {
        idx[i] = i;
      }
      return doStep(objective, objective.subBatch(idx));
    }
    return doStep(objective, null);
  }

  /**
   * One step with the gradient on {@code gradientBatch} and the Gauss-Newton products on
   * {@code curvatureBatch} (used as given; {@code curvature_batch_size} and
   * {@code curvature_batch_fraction} apply only to {@link #step(Objective)}).
   */
  @Override
  public StepReport step(Objective gradientBatch, Objective curvatureBatch) {
    Objects.requireNonNull(curvatureBatch, "curvatureBatch");
    return doStep(gradientBatch, curvatureBatch == gradientBatch ? null : curvatureBatch);
  }

  private List<ParameterLayout> blocksFor(ParameterLayout layout) {
    if (planLayout != layout) {
      if (!layout.isRoot()) {
        throw new IllegalArgumentException(
            "objective: the parameter layout must be a root layout");
      }
      blocks = partition.blocksOf(layout);
      planLayout = layout;
    }
    return blocks;
  }

  private StepReport doStep(Objective objective, Objective curvatureBatch) {
    ParameterLayout layout = objective.layout();
    if (curvatureBatch != null && !curvatureBatch.layout().sameBlocksAs(layout)) {
      throw new IllegalArgumentException(
          "curvatureBatch: its parameters " + curvatureBatch.layout() + " differ from "
              + layout);
    }
    List<ParameterLayout> parts = blocksFor(layout);
    double lambdaStep = lambda;
    double loss0;
    ParameterVector g = null;
    List<CgResult> results = new ArrayList<>();
    ParameterVector finals = null;
    ParameterVector delta = null;
    double lossAtDelta;
    double quadratic;
    double ratio;
    double curvature;
    int cgIterations = 0;
    String stopReason = null;
    ParameterVector precondDiagonal = null;
    CurvaturePreconditioner curvaturePrec = null;
    try {
      Curvature gc = objective.curvature();
      Curvature cc = null;
      try {
        if (preconditioner == Preconditioner.MARTENS) {
          // from the gradient batch's own forward pass, not a second one
          precondDiagonal = martensDiagonal(gc, objective.algebra(), lambdaStep);
          NonFiniteException.check(precondDiagonal, "preconditioner (per-term gradients)");
        }
        // the gradient first: a backend may compute the loss with it in one pass (TensorFlow
        // runs one graph for both), where the loss first would be a forward pass of its own
        g = gc.gradient();
        loss0 = gc.loss();
        NonFiniteException.check(loss0, "loss");
        NonFiniteException.check(g, "gradient");
        cc = curvatureBatch == null ? gc : curvatureBatch.curvature();
        curvaturePrec = curvaturePreconditioner(
            curvatureBatch == null ? objective : curvatureBatch, cc, lambdaStep);
        ParameterVector prev = warm.get(objective);
        for (ParameterLayout part : parts) {
          LinearOperator a = new GaussNewtonOperator(cc, part).plusIdentity(lambdaStep);
          try (ParameterVector b = blockCopy(g, part).scale(-1);
              ParameterVector x0 =
                  prev == null || cgDecay == 0 ? null : blockCopy(prev, part).scale(cgDecay);
              ParameterVector dPart =
                  precondDiagonal == null ? null : blockCopy(precondDiagonal, part)) {
            LinearOperator p = dPart != null ? InverseDiagonalOperator.of(part, dPart)
                : curvaturePrec != null ? curvaturePrec.on(part) : null;
            CgResult r = solver.solve(a, b, x0, p);
            results.add(r);
            cgIterations += r.iterations();
            stopReason = r.stopReason().label();
            if (r.stopReason() == CgResult.StopReason.NON_FINITE) {
              throw new NonFiniteException(
                  "conjugate gradient: a Gauss-Newton-vector product on block "
                      + part.blocks().get(0).name() + " was NaN or infinite");
            }
          }
        }
        finals = g.zerosLike();
        for (int k = 0; k < parts.size(); k++) {
          place(finals, parts.get(k), results.get(k).finalIterate());
        }
        NonFiniteException.check(finals, "conjugate-gradient solution");
        // Choose the direction: Martens' backtracking over the saved iterates, or the final.
        if (cgBacktracking) {
          Chosen ch = backtrack(objective, parts, results);
          delta = ch.delta;
          lossAtDelta = ch.loss;
        } else {
          delta = finals.copy();
          lossAtDelta = objective.lossAt(delta, 1.0);
        }
        // The block-diagonal quadratic model q(δ) = gᵀδ + ½ Σ δ_bᵀ(G_b + λI)δ_b.
        double gd = g.dot(delta);
        double dGd = 0;
        for (ParameterLayout part : parts) {
          try (ParameterVector db = blockCopy(delta, part);
              ParameterVector gdb = cc.ggnvp(db)) {
            dGd += db.dot(gdb);
          }
        }
        double dd = delta.dot(delta);
        curvature = dd == 0 ? Double.NaN : dGd / dd;
        if (reductionRatio == ReductionRatio.MARTENS) {
          // Martens: the undamped model; the loss change on the curvature batch.
          quadratic = gd + 0.5 * dGd;
          double change = curvatureBatch == null
              ? lossAtDelta - loss0
              : curvatureBatch.lossAt(delta, 1.0) - cc.loss();
          ratio = change / quadratic;
        } else {
          quadratic = gd + 0.5 * (dGd + lambdaStep * dd);
          ratio = (lossAtDelta - loss0) / quadratic;
        }
        if (!Double.isFinite(quadratic)) {
          throw new NonFiniteException("quadratic model: is " + quadratic);
        }
      } finally {
        if (cc != null && cc != gc) {
          cc.close();
        }
        gc.close();
      }

      // Levenberg-Marquardt.
      double lambdaNext = adaptLambda
          ? LevenbergMarquardt.next(lambda, ratio, 1.5, 2.0 / 3.0, lambdaMin,
              Double.POSITIVE_INFINITY)
          : lambda;
      // Backtracking line search on α.
      double gd = g.dot(delta);
      double alpha = lr;
      if (lineSearch) {
        double lossTrial = alpha == 1.0 ? lossAtDelta : objective.lossAt(delta, alpha);
        int tries = 0;
        while (!(lossTrial <= loss0 + lsC * alpha * gd) && tries < lsMaxIter) {
          tries++;
          alpha *= lsDecay;
          lossTrial = objective.lossAt(delta, alpha);
        }
        if (!(lossTrial <= loss0 + lsC * alpha * gd)) {
          alpha = 0; // no acceptable step: Martens' code does not move
        }
      }
      if (!lineSearch && alpha == 1.0 && !Double.isFinite(lossAtDelta)) {
        throw new NonFiniteException("loss after the step: is " + lossAtDelta);
      }
      if (alpha != 0) {
        objective.applyUpdate(delta, alpha);
      }
      // Commit.
      warm.set(finals);
      finals = null;
      lambda = lambdaNext;
      lastRatio = ratio;
      t++;
      StepReport r =
          new StepReport(t, loss0, alpha, lambdaStep, cgIterations, stopReason, curvature);
      if (LOG.isDebugEnabled()) {
        LOG.debug("{} step {}: loss {} rho {} lambda {} alpha {} cg {}", name(), t, loss0, ratio,
            lambdaStep, alpha, cgIterations);
      }
      if (listener != null) {
        listener.onStep(r);
      }
      return r;
    } finally {
      if (g != null) {
        g.close();
      }
      for (CgResult r : results) {
        r.close();
      }
      if (finals != null) {
        finals.close();
      }
      if (delta != null) {
        delta.close();
      }
      if (precondDiagonal != null) {
        precondDiagonal.close();
      }
      if (curvaturePrec != null) {
        curvaturePrec.close();
      }
    }
  }

  /**
   * The {@code ggn-diagonal} or {@code kfac} preconditioner of the curvature batch, null for the
   * others. Both need the loss and labels ({@link io.github.sgdph.kfac.LabelledObjective}).
   */
  private CurvaturePreconditioner curvaturePreconditioner(
      Objective curvatureBatch, Curvature cc, double lambdaStep) {
    CurvaturePreconditioner.Kind kind = switch (preconditioner) {
      case GGN_DIAGONAL -> CurvaturePreconditioner.Kind.GGN_DIAGONAL;
      case KFAC -> CurvaturePreconditioner.Kind.KFAC;
      default -> null;
    };
    return kind == null ? null : CurvaturePreconditioner.of(kind, curvatureBatch, cc, lambdaStep);
  }

  /**
   * Martens' preconditioner diagonal {@code D = ((1/N) Σ_i g_i ∘ g_i + λ)^0.75} (Martens 2010,
   * §4.7, with the sum over cases normalised like the mean loss) from the per-term gradients of
   * {@code objective}'s batch.
   *
   * @param objective the gradient batch
   * @param lambda the damping λ of the step
   * @return a new vector over the objective's layout; the caller closes it
   */
  static ParameterVector martensDiagonal(Objective objective, double lambda) {
    try (Curvature c = objective.curvature()) {
      return martensDiagonal(c, objective.algebra(), lambda);
    }
  }

  /** {@link #martensDiagonal(Objective, double)} from an open curvature of the gradient batch. */
  static ParameterVector martensDiagonal(
      Curvature curvature, io.github.sgdph.tensor.TensorAlgebra algebra, double lambda) {
    List<ParameterVector> terms = curvature.perTermGradients();
    ParameterVector sum = null;
    try {
      sum = ParameterVector.zeros(algebra, curvature.layout());
      for (ParameterVector gi : terms) {
        sum.axpy(1.0, gi.mul(gi));
      }
      sum.scale(1.0 / terms.size()).addScalar(lambda);
      // x^0.75 = x^(1/2) · x^(1/4) on the backend (sqrt and mul work in place)
      sum.sqrt();
      try (ParameterVector quarter = sum.copy().sqrt()) {
        sum.mul(quarter);
      }
      ParameterVector out = sum;
      sum = null;
      return out;
    } finally {
      terms.forEach(ParameterVector::close);
      if (sum != null) {
        sum.close();
      }
    }
  }

  private record Chosen(ParameterVector delta, double loss) {}

  /** Relative loss decrease below which CG backtracking sees a tie (about 5000 ulps). */
  static final double TIE = 1e-12;

  /**
   * Martens' CG backtracking over the combined candidates at iterations {@code ⌈5·1.3^j⌉} and
   * the last: from the last backwards while the loss decreases (Martens 2010 §4.6: "terminating
   * once the objective stops decreasing"). A decrease smaller than {@link #TIE} relative is a
   * tie, and a tie keeps the later iterate: once a block's CG has nearly converged, consecutive
   * candidates differ by ~1e-9 and their losses only by rounding, which each backend breaks its
   * own way (that moved a bundled case by 3.6e-9 between machines).
   */
  private Chosen backtrack(Objective objective, List<ParameterLayout> parts,
      List<CgResult> results) {
    int last = 0;
    for (CgResult r : results) {
      last = Math.max(last, r.iterations());
    }
    // Candidate iterations: the geometric marks below the last, and the last.
    List<Integer> cands = new ArrayList<>();
    double next = 5;
    while (Math.ceil(next) < last) {
      int i = (int) Math.ceil(next);
      cands.add(i);
      next *= 1.3;
    }
    cands.add(last);
    ParameterVector best = candidate(objective, parts, results, cands.get(cands.size() - 1));
    double bestLoss = objective.lossAt(best, 1.0);
    for (int j = cands.size() - 2; j >= 0; j--) {
      ParameterVector c = candidate(objective, parts, results, cands.get(j));
      double l = objective.lossAt(c, 1.0);
      if (!(l < bestLoss - TIE * Math.abs(bestLoss))) {
        c.close();
        break;
      }
      best.close();
      best = c;
      bestLoss = l;
    }
    return new Chosen(best, bestLoss);
  }

  /** The combined direction of each block's iterate at {@code min(i, its last iteration)}. */
  private static ParameterVector candidate(Objective objective, List<ParameterLayout> parts,
      List<CgResult> results, int i) {
    ParameterVector out = ParameterVector.zeros(objective.algebra(), objective.layout());
    for (int k = 0; k < parts.size(); k++) {
      CgResult r = results.get(k);
      ParameterVector x = r.finalIterate();
      for (CgResult.Snapshot s : r.savedIterates()) {
        if (s.iteration() <= i) {
          x = s.x();
        }
      }
      place(out, parts.get(k), x);
    }
    return out;
  }

  /** A new vector over {@code part} with copies of {@code full}'s blocks (full: root layout). */
  private static ParameterVector blockCopy(ParameterVector full, ParameterLayout part) {
    Tensor[] t = new Tensor[part.blockCount()];
    for (int i = 0; i < t.length; i++) {
      t[i] = full.block(part.rootIndex(i)).copy();
    }
    return ParameterVector.of(part, t);
  }

  /** {@code full[part] = x}. */
  private static void place(ParameterVector full, ParameterLayout part, ParameterVector x) {
    for (int i = 0; i < part.blockCount(); i++) {
      full.block(part.rootIndex(i)).assign(x.block(i));
    }
  }

  @Override
  public OptimizerState saveState() {
    Map<String, Double> s = new LinkedHashMap<>();
    s.put("t", (double) t);
    s.put("lambda", lambda);
    Map<String, double[][]> b = new LinkedHashMap<>();
    if (warm.isPresent()) {
      b.put(warm.name(), warm.save());
    }
    return new OptimizerState(name(), s, b);
  }

  @Override
  public void restoreState(OptimizerState state) {
    state.requireOptimizer(name());
    long tt = SgdPh.wholeScalar(state, "t");
    double l = state.scalar("lambda", lambda0);
    if (!(l >= 0) || Double.isInfinite(l)) {
      throw new IllegalArgumentException("state.lambda: must be finite and >= 0 but was " + l);
    }
    warm.restore(state.buffer(warm.name()));
    t = tt;
    lambda = l;
  }

  /** Validated settings of {@link BlockDiagonalHessianFree}. */
  public static final class Builder {
    private double lr = 1;
    private double lambda = 0.5;
    private Partition partition;
    private int cgMaxIter = 100;
    private int cgMinIter = 1;
    private double cgDecay = 0.95;
    private double cgProgressTol = 1e-4;
    private double cgTol = 0;
    private boolean cgBacktracking = true;
    private boolean adaptLambda = true;
    private double lambdaMin = 0;
    private boolean lineSearch = true;
    private double lsDecay = 0.8;
    private double lsC = 0.01;
    private int lsMaxIter = 60;
    private int curvatureBatchSize = 0;
    private double curvatureBatchFraction = DEFAULT_CURVATURE_BATCH_FRACTION;
    private Preconditioner preconditioner = Preconditioner.NONE;
    private ReductionRatio reductionRatio = ReductionRatio.DAMPED;
    private StepListener listener;

    private Builder(Partition p) {
      this.partition = p;
    }

    /**
     * Initial line-search step α, finite and &gt; 0 (default 1: Martens 2010's code starts its
     * line search at rate 1, as does the PyTorch port).
     *
     * @param v the step size α the line search starts from (and the step size without line search)
     * @return this builder
     * @throws IllegalArgumentException naming the parameter if {@code v} is not positive or not
     *     finite
     */
    public Builder lr(double v) {
      this.lr = Check.positive(v, "lr");
      return this;
    }

    /**
     * Initial damping λ, finite and &gt;= 0 (default 0.5, the PyTorch port's {@code damping};
     * Martens 2010 used 45 on the same per-case normalised curvature).
     *
     * @param v the damping λ of the first step
     * @return this builder
     * @throws IllegalArgumentException naming the parameter if {@code v} is negative or not finite
     */
    public Builder lambda(double v) {
      this.lambda = Check.nonNegative(v, "lambda");
      return this;
    }

    /**
     * The block partition (default {@code LAYER}; {@code SINGLE} for full HF).
     *
     * @param p the partition; not null
     * @return this builder
     */
    public Builder partition(Partition p) {
      this.partition = Objects.requireNonNull(p, "partition");
      return this;
    }

    /**
     * CG iterations per block, &gt;= 1 (default 100, the PyTorch port's {@code cg_max_iter};
     * Martens 2010 allowed 250).
     *
     * @param v the cap on each block's CG iterations
     * @return this builder
     * @throws IllegalArgumentException naming the parameter if {@code v < 1}
     */
    public Builder cgMaxIter(int v) {
      this.cgMaxIter = Check.atLeast(v, 1, "cg_max_iter");
      return this;
    }

    /**
     * CG iterations before a stopping test applies, &gt;= 0 (default 1, this library's).
     *
     * @param v the number of CG iterations before a stopping test applies
     * @return this builder
     * @throws IllegalArgumentException naming the parameter if {@code v < 0}
     */
    public Builder cgMinIter(int v) {
      this.cgMinIter = Check.atLeast(v, 0, "cg_min_iter");
      return this;
    }

    /**
     * Warm-start factor of the previous CG solution in [0, 1] (default 0.95: Martens 2010 §4.5,
     * his code's {@code decay}, and the PyTorch port's {@code delta_decay}; 0: cold).
     *
     * @param v the factor of the previous step's final CG iterate in the warm start
     * @return this builder
     * @throws IllegalArgumentException naming the parameter if {@code v} is outside [0, 1]
     */
    public Builder cgDecay(double v) {
      this.cgDecay = Check.inRange(v, 0, 1, true, "cg_decay");
      return this;
    }

    /**
     * ε of Martens' progress stop, &gt;= 0 (default 1e-4, hard-coded in the PyTorch port;
     * Martens 2010 §4.4 used 5e-4; 0 disables).
     *
     * @param v the {@code eps} of Martens' progress test
     * @return this builder
     * @throws IllegalArgumentException naming the parameter if {@code v} is negative or not finite
     */
    public Builder cgProgressTol(double v) {
      this.cgProgressTol = Check.nonNegative(v, "cg_progress_tol");
      return this;
    }

    /**
     * Relative residual tolerance of each block's CG, &gt;= 0 (default 0: disabled, this
     * library's).
     *
     * @param v the tolerance on {@code ‖r‖ / ‖b‖} of each block
     * @return this builder
     * @throws IllegalArgumentException naming the parameter if {@code v} is negative or not finite
     */
    public Builder cgTol(double v) {
      this.cgTol = Check.nonNegative(v, "cg_tol");
      return this;
    }

    /**
     * Martens' CG backtracking on the loss (default true: Martens 2010 §4.6).
     *
     * @param v whether to choose among the saved CG iterates by the loss
     * @return this builder
     */
    public Builder cgBacktracking(boolean v) {
      this.cgBacktracking = v;
      return this;
    }

    /**
     * Levenberg-Marquardt adaptation of λ (default true: Martens 2010 §4.1, λ × 3/2 when
     * ρ &lt; 1/4 and × 2/3 when ρ &gt; 3/4).
     *
     * @param v whether to adapt λ by the reduction ratio after each step
     * @return this builder
     */
    public Builder adaptLambda(boolean v) {
      this.adaptLambda = v;
      return this;
    }

    /**
     * Lower bound of the adapted λ, finite and &gt;= 0 (default 0, this library's).
     *
     * @param v the smallest λ the adaptation reaches
     * @return this builder
     * @throws IllegalArgumentException naming the parameter if {@code v} is negative or not finite
     */
    public Builder lambdaMin(double v) {
      this.lambdaMin = Check.nonNegative(v, "lambda_min");
      return this;
    }

    /**
     * Backtracking line search on α (default true: Martens 2010's code and the PyTorch port).
     *
     * @param v whether to backtrack the step size until the Armijo condition holds
     * @return this builder
     */
    public Builder lineSearch(boolean v) {
      this.lineSearch = v;
      return this;
    }

    /**
     * α reduction factor in (0, 1) (default 0.8: Martens 2010's code and the PyTorch port).
     *
     * @param v the factor applied to α at each reduction
     * @return this builder
     * @throws IllegalArgumentException naming the parameter if {@code v} is outside (0, 1)
     */
    public Builder lsDecay(double v) {
      if (!(v > 0 && v < 1)) {
        throw new IllegalArgumentException("ls_decay: must be in (0, 1) but was " + v);
      }
      this.lsDecay = v;
      return this;
    }

    /**
     * Armijo constant in [0, 1) (default 0.01: Martens 2010's code and the PyTorch port).
     *
     * @param v the Armijo constant
     * @return this builder
     * @throws IllegalArgumentException naming the parameter if {@code v} is outside [0, 1)
     */
    public Builder lsC(double v) {
      this.lsC = Check.inRange(v, 0, 1, false, "ls_c");
      return this;
    }

    /**
     * Maximum α reductions, &gt;= 1 (default 60: Martens 2010's code and the PyTorch port).
     *
     * @param v the most reductions of α per step
     * @return this builder
     * @throws IllegalArgumentException naming the parameter if {@code v < 1}
     */
    public Builder lsMaxIter(int v) {
      this.lsMaxIter = Check.atLeast(v, 1, "ls_max_iter");
      return this;
    }

    /**
     * An explicit curvature mini-batch of {@link BlockDiagonalHessianFree#step(Objective)}: the
     * first {@code k} samples (capped at the batch size); 0 (the default, this library's) to use
     * {@link #curvatureBatchFraction(double) curvature_batch_fraction} instead.
     *
     * @param k the number of leading samples of the batch used for curvature, or 0 for the
     *     fraction
     * @return this builder
     * @throws IllegalArgumentException naming the parameter if {@code k < 0}
     */
    public Builder curvatureBatchSize(int k) {
      this.curvatureBatchSize = Check.atLeast(k, 0, "curvature_batch_size");
      return this;
    }

    /**
     * The curvature mini-batch of {@link BlockDiagonalHessianFree#step(Objective)} as a fraction
     * of the gradient batch, in (0, 1]: the first {@code max(1, round(f · N))} samples of a
     * batch of {@code N}; 1 for the whole batch. Default 0.1
     * ({@link BlockDiagonalHessianFree#DEFAULT_CURVATURE_BATCH_FRACTION}: the 1000/100 ratio of
     * Kiros' 2013 stochastic HF code; Zhang et al. use a fraction whose value could not be
     * checked here). An explicit {@link #curvatureBatchSize(int)} &gt; 0 wins.
     *
     * @param f the fraction of the gradient batch's samples used for curvature
     * @return this builder
     * @throws IllegalArgumentException naming {@code curvature_batch_fraction} unless
     *     {@code 0 < f <= 1}
     */
    public Builder curvatureBatchFraction(double f) {
      if (!(f > 0 && f <= 1)) {
        throw new IllegalArgumentException(
            "curvature_batch_fraction: must be in (0, 1] but was " + f);
      }
      this.curvatureBatchFraction = f;
      return this;
    }

    /**
     * The preconditioner of each block's CG (default {@code NONE}, this library's; Martens 2010
     * §4.7 used {@code MARTENS}: {@code ((1/N) Σ_i g_i ∘ g_i + λ)^0.75} from the per-term
     * gradients {@link Objective#perTermGradients()} of the gradient batch, at the cost of
     * those gradients each step).
     *
     * @param p the preconditioner; not null
     * @return this builder
     * @throws NullPointerException if {@code p} is null
     */
    public Builder preconditioner(Preconditioner p) {
      this.preconditioner = Objects.requireNonNull(p, "preconditioner");
      return this;
    }

    /**
     * The form of the reduction ratio ρ of the Levenberg-Marquardt rule (default
     * {@code DAMPED}, the PyTorch port's and this library's form: the damped block-diagonal
     * model, losses on the gradient batch; {@code MARTENS}: the undamped model and the loss
     * change on the curvature batch, as Martens 2010 §4.1 and his code).
     *
     * @param r the form of ρ; not null
     * @return this builder
     * @throws NullPointerException if {@code r} is null
     */
    public Builder reductionRatio(ReductionRatio r) {
      this.reductionRatio = Objects.requireNonNull(r, "reduction_ratio");
      return this;
    }

    /**
     * Receives every step's report (default none).
     *
     * @param l the listener, or null for none
     * @return this builder
     */
    public Builder listener(StepListener l) {
      this.listener = l;
      return this;
    }

    /**
     * Builds the optimizer.
     *
     * @return a new optimizer with no state
     * @throws IllegalArgumentException if {@code cg_min_iter > cg_max_iter}
     */
    public BlockDiagonalHessianFree build() {
      if (cgMinIter > cgMaxIter) {
        throw new IllegalArgumentException(
            "cg_min_iter: " + cgMinIter + " exceeds cg_max_iter " + cgMaxIter);
      }
      return new BlockDiagonalHessianFree(this);
    }
  }
}
