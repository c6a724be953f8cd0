package io.github.sgdph.optim;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * Builds optimizers from {@link OptimizerSpec}s (case files, the CLI) with the hyper-parameter
 * names of ALGORITHMS.md. Every unknown name or invalid value is an
 * {@link IllegalArgumentException} naming {@code optimizer.<key>}.
 */
public final class Optimizers {
  private static final Map<String, Function<OptimizerSpec, Optimizer>> FACTORIES;

  static {
    Map<String, Function<OptimizerSpec, Optimizer>> m = new LinkedHashMap<>();
    m.put(Sgd.NAME, Optimizers::sgd);
    m.put(Adam.NAME, Optimizers::adam);
    m.put(SgdPh.NAME, Optimizers::sgdph);
    m.put(Sgn.NAME, Optimizers::sgn);
    m.put(BlockDiagonalHessianFree.NAME, s -> bdhf(s, false));
    m.put(BlockDiagonalHessianFree.FULL_NAME, s -> bdhf(s, true));
    m.put(Kfac.NAME, Optimizers::kfac);
    FACTORIES = Collections.unmodifiableMap(m);
  }

  private Optimizers() {}

  /**
   * The names {@link #create} accepts.
   *
   * @return an unmodifiable set: {@code sgd}, {@code adam}, {@code sgdph}, {@code sgn}, {@code
   *     bdhf}, {@code hf} and {@code kfac}
   */
  public static Set<String> names() {
    return FACTORIES.keySet();
  }

  /**
   * Builds the optimizer a spec names, with its hyper-parameters (defaults for absent ones).
   *
   * @param spec the optimizer's name and hyper-parameters
   * @return a new optimizer with no state
   * @throws IllegalArgumentException for an unknown optimizer or hyper-parameter, or an invalid
   *     value, naming the field
   */
  public static Optimizer create(OptimizerSpec spec) {
    Function<OptimizerSpec, Optimizer> f = FACTORIES.get(spec.name());
    if (f == null) {
      throw new IllegalArgumentException(
          "optimizer.name: unknown optimizer '" + spec.name() + "'; known: " + names());
    }
    return f.apply(spec);
  }

  private static Optimizer sgd(OptimizerSpec s) {
    s.requireKnown(Set.of("lr", "momentum", "dampening", "weight_decay", "nesterov"));
    Sgd.Builder b = Sgd.builder();
    OptimizerSpec.labelled("lr", () -> b.lr(s.getDouble("lr", 0.01)));
    OptimizerSpec.labelled("momentum", () -> b.momentum(s.getDouble("momentum", 0)));
    OptimizerSpec.labelled("dampening", () -> b.dampening(s.getDouble("dampening", 0)));
    OptimizerSpec.labelled(
        "weight_decay", () -> b.weightDecay(s.getDouble("weight_decay", 0)));
    b.nesterov(s.getBoolean("nesterov", false));
    Sgd[] out = new Sgd[1];
    OptimizerSpec.labelled("nesterov", () -> out[0] = b.build());
    return out[0];
  }

  private static Optimizer adam(OptimizerSpec s) {
    s.requireKnown(Set.of("lr", "beta1", "beta2", "betas", "eps", "weight_decay"));
    Adam.Builder b = Adam.builder();
    OptimizerSpec.labelled("lr", () -> b.lr(s.getDouble("lr", 1e-3)));
    if (s.get("betas") instanceof java.util.List<?> l) {
      if (l.size() != 2 || !(l.get(0) instanceof Number) || !(l.get(1) instanceof Number)) {
        throw new IllegalArgumentException("optimizer.betas: expected [beta1, beta2]");
      }
      OptimizerSpec.labelled("betas", () -> b.beta1(((Number) l.get(0)).doubleValue()));
      OptimizerSpec.labelled("betas", () -> b.beta2(((Number) l.get(1)).doubleValue()));
      if (s.has("beta1") || s.has("beta2")) {
        throw new IllegalArgumentException(
            "optimizer.betas: give either betas or beta1/beta2, not both");
      }
    } else if (s.has("betas")) {
      throw new IllegalArgumentException("optimizer.betas: expected [beta1, beta2]");
    }
    if (s.has("beta1")) {
      OptimizerSpec.labelled("beta1", () -> b.beta1(s.getDouble("beta1", 0.9)));
    }
    if (s.has("beta2")) {
      OptimizerSpec.labelled("beta2", () -> b.beta2(s.getDouble("beta2", 0.999)));
    }
    OptimizerSpec.labelled("eps", () -> b.eps(s.getDouble("eps", 1e-8)));
    OptimizerSpec.labelled(
        "weight_decay", () -> b.weightDecay(s.getDouble("weight_decay", 0)));
    return b.build();
  }

  /** SGD-PH, {@link SgdPh}: lr, momentum, tau, eps, weight_decay, reference, refresh_every,
   * refresh_all, channel_wise ("1d", "none" or a list of tensor names). */
  private static Optimizer sgdph(OptimizerSpec s) {
    s.requireKnown(
        Set.of("lr", "momentum", "tau", "eps", "weight_decay", "reference", "refresh_every",
            "refresh_all", "channel_wise"));
    SgdPh.Builder b = SgdPh.builder();
    OptimizerSpec.labelled("lr", () -> b.lr(s.getDouble("lr", 0.1)));
    OptimizerSpec.labelled("momentum", () -> b.momentum(s.getDouble("momentum", 0.9)));
    OptimizerSpec.labelled("tau", () -> b.tau(s.getDouble("tau", 1e-3)));
    OptimizerSpec.labelled("eps", () -> b.eps(s.getDouble("eps", 1e-4)));
    OptimizerSpec.labelled(
        "weight_decay", () -> b.weightDecay(s.getDouble("weight_decay", 0)));
    b.reference(s.getBoolean("reference", true));
    OptimizerSpec.labelled(
        "refresh_every", () -> b.refreshEvery(s.getInt("refresh_every", 1)));
    b.refreshAll(s.getBoolean("refresh_all", false));
    Object cw = s.get("channel_wise");
    if (cw instanceof String str) {
      switch (str) {
        case "1d" -> b.channelWiseRule(io.github.sgdph.param.ChannelWiseRule.DEFAULT);
        case "none" -> b.channelWiseRule(io.github.sgdph.param.ChannelWiseRule.NONE);
        default -> throw new IllegalArgumentException(
            "optimizer.channel_wise: expected \"1d\", \"none\" or a list of tensor names but was '"
                + str + "'");
      }
    } else if (cw instanceof java.util.List<?> l) {
      java.util.List<String> names = new java.util.ArrayList<>();
      for (Object o : l) {
        if (!(o instanceof String n)) {
          throw new IllegalArgumentException(
              "optimizer.channel_wise: expected tensor names but found " + o);
        }
        names.add(n);
      }
      OptimizerSpec.labelled("channel_wise", () -> b.channelWiseNames(names));
    } else if (cw != null) {
      throw new IllegalArgumentException(
          "optimizer.channel_wise: expected \"1d\", \"none\" or a list of tensor names but was "
              + cw);
    }
    return b.build();
  }

  /** SGN, {@link Sgn}, with the hyper-parameter names of its Javadoc. */
  private static Optimizer sgn(OptimizerSpec s) {
    s.requireKnown(
        Set.of("lr", "alpha", "beta", "rho", "rho_min", "max_cg_iters", "min_cg_iters", "k_cg",
            "cg_tol", "line_search", "ls_c", "ls_rho", "max_ls_iters", "trust_region", "cg_prec",
            "alpha_exp", "rho_decay", "rho_decay_steps", "cg_preconditioner"));
    if (s.has("lr") && s.has("alpha")) {
      throw new IllegalArgumentException("optimizer.alpha: give either lr or alpha, not both");
    }
    Sgn.Builder b = Sgn.builder();
    String lrKey = s.has("alpha") ? "alpha" : "lr";
    double lr = s.getDouble(lrKey, 1);
    if (!(lr > 0) || Double.isInfinite(lr)) {
      throw new IllegalArgumentException(
          "optimizer." + lrKey + ": must be finite and > 0 but was " + lr);
    }
    b.lr(lr);
    OptimizerSpec.labelled("beta", () -> b.beta(s.getDouble("beta", 0)));
    OptimizerSpec.labelled("rho", () -> b.rho(s.getDouble("rho", 1e-3)));
    OptimizerSpec.labelled("rho_min", () -> b.rhoMin(s.getDouble("rho_min", 0)));
    OptimizerSpec.labelled(
        "max_cg_iters", () -> b.maxCgIters(s.getInt("max_cg_iters", 10)));
    if (s.has("min_cg_iters")) {
      OptimizerSpec.labelled("min_cg_iters", () -> b.minCgIters(s.getInt("min_cg_iters", 10)));
    }
    OptimizerSpec.labelled("k_cg", () -> b.kCg(s.getInt("k_cg", 0)));
    OptimizerSpec.labelled("cg_tol", () -> b.cgTol(s.getDouble("cg_tol", 1e-6)));
    b.lineSearch(s.getBoolean("line_search", true));
    OptimizerSpec.labelled("ls_c", () -> b.lsC(s.getDouble("ls_c", 1e-4)));
    OptimizerSpec.labelled("ls_rho", () -> b.lsRho(s.getDouble("ls_rho", 0.5)));
    OptimizerSpec.labelled(
        "max_ls_iters", () -> b.maxLsIters(s.getInt("max_ls_iters", 10)));
    b.trustRegion(s.getBoolean("trust_region", false));
    b.cgPrec(s.getBoolean("cg_prec", false));
    if (s.has("cg_preconditioner")) {
      String cp = s.getString("cg_preconditioner", "none");
      if (!cp.equals("none")) {
        b.curvaturePreconditioner(io.github.sgdph.kfac.CurvaturePreconditioner.parse(
            "optimizer.cg_preconditioner", cp));
      }
    }
    OptimizerSpec.labelled("alpha_exp", () -> b.alphaExp(s.getDouble("alpha_exp", 1)));
    OptimizerSpec.labelled(
        "rho_decay", () -> b.rhoDecay(Sgn.RhoDecay.parse(s.getString("rho_decay", "const"))));
    OptimizerSpec.labelled(
        "rho_decay_steps", () -> b.rhoDecaySteps(s.getInt("rho_decay_steps", 10)));
    Sgn[] out = new Sgn[1];
    OptimizerSpec.labelled("rho_decay_steps", () -> out[0] = b.build());
    return out[0];
  }

  /**
   * KFAC, {@link Kfac}: lr, momentum, damping, stat_decay, kl_clip, weight_decay, t_cov, t_inv,
   * fisher ("mc", "empirical" or "exact"), seed; adapt_damping, damping_interval, damping_decay,
   * damping_min, damping_max.
   */
  private static Optimizer kfac(OptimizerSpec s) {
    s.requireKnown(Set.of("lr", "momentum", "damping", "stat_decay", "kl_clip", "weight_decay",
        "t_cov", "t_inv", "fisher", "seed", "adapt_damping", "damping_interval", "damping_decay",
        "damping_min", "damping_max"));
    Kfac.Builder b = Kfac.builder();
    OptimizerSpec.labelled("lr", () -> b.lr(s.getDouble("lr", 0.001)));
    OptimizerSpec.labelled("momentum", () -> b.momentum(s.getDouble("momentum", 0.9)));
    OptimizerSpec.labelled("damping", () -> b.damping(s.getDouble("damping", 0.001)));
    OptimizerSpec.labelled("stat_decay", () -> b.statDecay(s.getDouble("stat_decay", 0.95)));
    OptimizerSpec.labelled("kl_clip", () -> b.klClip(s.getDouble("kl_clip", 0.001)));
    OptimizerSpec.labelled(
        "weight_decay", () -> b.weightDecay(s.getDouble("weight_decay", 0)));
    OptimizerSpec.labelled("t_cov", () -> b.tCov(s.getInt("t_cov", 10)));
    OptimizerSpec.labelled("t_inv", () -> b.tInv(s.getInt("t_inv", 100)));
    String fisher = s.getString("fisher", "mc");
    b.fisher(switch (fisher) {
      case "mc" -> io.github.sgdph.kfac.FisherType.MONTE_CARLO;
      case "empirical" -> io.github.sgdph.kfac.FisherType.EMPIRICAL;
      case "exact" -> io.github.sgdph.kfac.FisherType.EXACT;
      default -> throw new IllegalArgumentException(
          "optimizer.fisher: expected \"mc\", \"empirical\" or \"exact\" but was '" + fisher
              + "'");
    });
    OptimizerSpec.labelled("seed", () -> b.seed(s.getInt("seed", 0)));
    b.adaptDamping(s.getBoolean("adapt_damping", false));
    OptimizerSpec.labelled(
        "damping_interval", () -> b.dampingInterval(s.getInt("damping_interval", 5)));
    OptimizerSpec.labelled(
        "damping_decay", () -> b.dampingDecay(s.getDouble("damping_decay", 0.95)));
    OptimizerSpec.labelled("damping_min", () -> b.dampingMin(s.getDouble("damping_min", 1e-8)));
    if (s.has("damping_max")) {
      OptimizerSpec.labelled(
          "damping_max", () -> b.dampingMax(s.getDouble("damping_max", 0)));
    }
    Kfac[] out = new Kfac[1];
    OptimizerSpec.labelled("damping_min", () -> out[0] = b.build());
    return out[0];
  }

  /**
   * Block-diagonal HF ({@code bdhf}, partition "layer" by default) or full HF ({@code hf}, one
   * block; no {@code partition} key), {@link BlockDiagonalHessianFree}.
   */
  private static Optimizer bdhf(OptimizerSpec s, boolean full) {
    Set<String> known = new java.util.HashSet<>(
        Set.of("lr", "lambda", "cg_max_iter", "cg_min_iter", "cg_decay", "cg_progress_tol",
            "cg_tol", "cg_backtracking", "adapt_lambda", "lambda_min", "line_search", "ls_decay",
            "ls_c", "ls_max_iter", "curvature_batch_size", "curvature_batch_fraction",
            "preconditioner", "reduction_ratio"));
    if (!full) {
      known.add("partition");
    }
    s.requireKnown(known);
    BlockDiagonalHessianFree.Builder b =
        full ? BlockDiagonalHessianFree.fullHessianFree() : BlockDiagonalHessianFree.builder();
    OptimizerSpec.labelled("lr", () -> b.lr(s.getDouble("lr", 1)));
    OptimizerSpec.labelled("lambda", () -> b.lambda(s.getDouble("lambda", 0.5)));
    if (!full) {
      OptimizerSpec.labelled(
          "partition",
          () -> b.partition(
              BlockDiagonalHessianFree.Partition.parse(s.getString("partition", "layer"))));
    }
    OptimizerSpec.labelled("cg_max_iter", () -> b.cgMaxIter(s.getInt("cg_max_iter", 100)));
    OptimizerSpec.labelled("cg_min_iter", () -> b.cgMinIter(s.getInt("cg_min_iter", 1)));
    OptimizerSpec.labelled("cg_decay", () -> b.cgDecay(s.getDouble("cg_decay", 0.95)));
    OptimizerSpec.labelled(
        "cg_progress_tol", () -> b.cgProgressTol(s.getDouble("cg_progress_tol", 1e-4)));
    OptimizerSpec.labelled("cg_tol", () -> b.cgTol(s.getDouble("cg_tol", 0)));
    b.cgBacktracking(s.getBoolean("cg_backtracking", true));
    b.adaptLambda(s.getBoolean("adapt_lambda", true));
    OptimizerSpec.labelled("lambda_min", () -> b.lambdaMin(s.getDouble("lambda_min", 0)));
    b.lineSearch(s.getBoolean("line_search", true));
    OptimizerSpec.labelled("ls_decay", () -> b.lsDecay(s.getDouble("ls_decay", 0.8)));
    OptimizerSpec.labelled("ls_c", () -> b.lsC(s.getDouble("ls_c", 0.01)));
    OptimizerSpec.labelled("ls_max_iter", () -> b.lsMaxIter(s.getInt("ls_max_iter", 60)));
    OptimizerSpec.labelled(
        "curvature_batch_size",
        () -> b.curvatureBatchSize(s.getInt("curvature_batch_size", 0)));
    OptimizerSpec.labelled(
        "curvature_batch_fraction",
        () -> b.curvatureBatchFraction(s.getDouble("curvature_batch_fraction",
            BlockDiagonalHessianFree.DEFAULT_CURVATURE_BATCH_FRACTION)));
    OptimizerSpec.labelled(
        "preconditioner",
        () -> b.preconditioner(
            BlockDiagonalHessianFree.Preconditioner.parse(s.getString("preconditioner", "none"))));
    OptimizerSpec.labelled(
        "reduction_ratio",
        () -> b.reductionRatio(BlockDiagonalHessianFree.ReductionRatio.parse(
            s.getString("reduction_ratio", "damped"))));
    BlockDiagonalHessianFree[] out = new BlockDiagonalHessianFree[1];
    OptimizerSpec.labelled("cg_min_iter", () -> out[0] = b.build());
    return out[0];
  }
}
