package io.github.sgdph.reference;

import io.github.sgdph.model.LayerSpec;

/**
 * A stack of LSTM layers over sequences ({@link LayerSpec.Lstm}: gate order {@code i, f, g, o},
 * one bias per stacked layer, zero initial states), with back-propagation through time and
 * Pearlmutter's exact R-operator through the recurrence ("Fast exact multiplication by the
 * Hessian", Neural Computation 6(1), 1994, §4 on recurrent networks).
 *
 * <p>Slots: stacked layer {@code k} has {@code weight_ih} in slot {@code 3k}, {@code weight_hh}
 * in {@code 3k + 1} and the bias in {@code 3k + 2}. Internally every sequence is time-major
 * {@code [T, n, ·]}, so that a time step is a contiguous block of rows and the input and weight
 * products of all steps are single matrix products; inputs and outputs are batch-major as the
 * spec's {@code [n, T, F]}.
 *
 * <p>Forward, per step ({@code σ} the logistic function): {@code z = x W_ihᵀ + h₋ W_hhᵀ + b},
 * {@code i = σ(z_i), f = σ(z_f), g = tanh(z_g), o = σ(z_o)}, {@code c = f c₋ + i g},
 * {@code h = o tanh(c)}. Backward through time, with {@code δh} the gradient reaching {@code h_t}
 * from above plus {@code δz_{t+1} W_hh} and {@code δc} that from {@code h_t} plus {@code
 * δc_{t+1} f_{t+1}}: {@code δc = δh o (1 − tanh²c) + …}, {@code δz_i = δc g i(1 − i)},
 * {@code δz_f = δc c₋ f(1 − f)}, {@code δz_g = δc i (1 − g²)}, {@code δz_o = δh tanh(c) o(1 − o)};
 * {@code ∂W_ih = Σ_t δz_tᵀ x_t}, {@code ∂W_hh = Σ_t δz_tᵀ h_{t−1}}, {@code ∂b = Σ_t Σ_rows δz_t},
 * {@code ∂x_t = δz_t W_ih}.
 *
 * <p>R-forward: {@code R z = R x W_ihᵀ + x V_ihᵀ + R h₋ W_hhᵀ + h₋ V_hhᵀ + v_b}, then the gates'
 * derivatives, {@code R c = R f c₋ + f R c₋ + R i g + i R g}, {@code R h = R o tanh c + o (1 −
 * tanh²c) R c}. R-backward: the R of every line of the backward recursion (product rule), run
 * backwards through time beside the recursion it differentiates; with no ordinary gradient
 * (a Gauss-Newton product) it is the plain backward pass of {@code R{gOut}}.
 */
final class LstmLayer extends Layer {
  private final int steps;
  private final int features;
  private final int hidden;
  private final int stack;
  private final boolean sequences;

  LstmLayer(LayerSpec.Lstm spec, int steps) {
    super(steps * spec.in(), spec.returnSequences() ? steps * spec.hidden() : spec.hidden());
    this.steps = steps;
    this.features = spec.in();
    this.hidden = spec.hidden();
    this.stack = spec.numLayers();
    this.sequences = spec.returnSequences();
  }

  /**
   * The slot of an LSTM entry's role: {@code weight_ih_lk → 3k}, {@code weight_hh_lk → 3k + 1},
   * {@code bias_lk → 3k + 2}; -1 for another role.
   */
  static int slotOf(String role) {
    int u = role.lastIndexOf("_l");
    if (u < 0) {
      return -1;
    }
    int k;
    try {
      k = Integer.parseInt(role.substring(u + 2));
    } catch (NumberFormatException e) {
      return -1;
    }
    return switch (role.substring(0, u)) {
      case "weight_ih" -> 3 * k;
      case "weight_hh" -> 3 * k + 1;
      case "bias" -> 3 * k + 2;
      default -> -1;
    };
  }

  @Override
  int trainableSlots() {
    return 3 * stack;
  }

  private int inputSize(int k) {
    return k == 0 ? features : hidden;
  }

  /** {@code [n, T, f]} to {@code [T, n, f]} (or back, with {@code toTime} false). */
  private double[] permute(double[] a, int n, int f, boolean toTime) {
    double[] out = new double[a.length];
    for (int s = 0; s < n; s++) {
      for (int t = 0; t < steps; t++) {
        int batchMajor = (s * steps + t) * f;
        int timeMajor = (t * n + s) * f;
        if (toTime) {
          System.arraycopy(a, batchMajor, out, timeMajor, f);
        } else {
          System.arraycopy(a, timeMajor, out, batchMajor, f);
        }
      }
    }
    return out;
  }

  /** A gradient (or R-gradient) of the layer's output as {@code [T, n, H]}, time-major. */
  private double[] seed(double[] gOut, int n) {
    if (sequences) {
      return permute(gOut, n, hidden, true);
    }
    double[] d = new double[steps * n * hidden];
    System.arraycopy(gOut, 0, d, (steps - 1) * n * hidden, n * hidden);
    return d;
  }

  /** The layer's output from the top layer's time-major hidden states (or their R). */
  private double[] output(double[] h, int n) {
    if (sequences) {
      return permute(h, n, hidden, false);
    }
    double[] out = new double[n * hidden];
    System.arraycopy(h, (steps - 1) * n * hidden, out, 0, n * hidden);
    return out;
  }

  /**
   * One stacked layer's forward values, time-major.
   *
   * @param x the input sequence {@code [T, n, F_k]}
   * @param a the gate activations {@code i, f, g, o} per row, {@code [T, n, 4H]}
   * @param c the cell states {@code [T, n, H]}
   * @param tc {@code tanh(c)}
   * @param h the hidden states {@code [T, n, H]}
   */
  private record Pass(double[] x, double[] a, double[] c, double[] tc, double[] h) {}

  @Override
  Node forward(double[][] p, double[] x, int n) {
    Pass[] passes = new Pass[stack];
    double[] seq = permute(x, n, features, true);
    for (int k = 0; k < stack; k++) {
      passes[k] = run(p[3 * k], p[3 * k + 1], p[3 * k + 2], seq, n, inputSize(k));
      seq = passes[k].h();
    }
    return new LstmNode(p, x, output(seq, n), n, passes);
  }

  private Pass run(double[] wih, double[] whh, double[] b, double[] x, int n, int f) {
    int g4 = 4 * hidden;
    int rows = steps * n;
    double[] a = new double[rows * g4];
    double[] c = new double[rows * hidden];
    double[] tc = new double[rows * hidden];
    double[] h = new double[rows * hidden];
    Kernels.gemm(false, true, rows, g4, f, x, 0, wih, 0, a, 0, false);
    Kernels.addRowVector(a, rows, g4, b);
    for (int t = 0; t < steps; t++) {
      if (t > 0) {
        Kernels.gemm(false, true, n, g4, hidden, h, (t - 1) * n * hidden, whh, 0, a,
            t * n * g4, true);
      }
      for (int s = 0; s < n; s++) {
        int za = (t * n + s) * g4;
        int zc = (t * n + s) * hidden;
        int prev = zc - n * hidden;
        for (int j = 0; j < hidden; j++) {
          double i = ActivationLayer.sigmoid(a[za + j]);
          double fg = ActivationLayer.sigmoid(a[za + hidden + j]);
          double gg = Math.tanh(a[za + 2 * hidden + j]);
          double o = ActivationLayer.sigmoid(a[za + 3 * hidden + j]);
          a[za + j] = i;
          a[za + hidden + j] = fg;
          a[za + 2 * hidden + j] = gg;
          a[za + 3 * hidden + j] = o;
          double cv = fg * (t > 0 ? c[prev + j] : 0.0) + i * gg;
          c[zc + j] = cv;
          tc[zc + j] = Math.tanh(cv);
          h[zc + j] = o * tc[zc + j];
        }
      }
    }
    return new Pass(x, a, c, tc, h);
  }

  /**
   * The R-forward values of one stacked layer, time-major; each array is zero where unset.
   *
   * @param rx {@code R x}, {@code [T, n, F_k]}
   * @param ra {@code R} of the gate activations, {@code [T, n, 4H]}
   * @param rc {@code R c}
   * @param rtc {@code R tanh(c)}
   * @param rh {@code R h}
   */
  private record RPass(double[] rx, double[] ra, double[] rc, double[] rtc, double[] rh) {}

  private static final class LstmRState extends RState {
    final RPass[] passes;

    LstmRState(double[] rIn, double[] rOut, RPass[] passes) {
      super(rIn, rOut);
      this.passes = passes;
    }
  }

  /**
   * The ordinary backward recursion's values that the R-backward pass differentiates: per
   * stacked layer the total {@code δh}, {@code δc} (both {@code [T, n, H]}) and {@code δz}
   * ({@code [T, n, 4H]}).
   */
  private static final class Trace {
    final double[][] dh;
    final double[][] dc;
    final double[][] dz;

    Trace(int stack) {
      dh = new double[stack][];
      dc = new double[stack][];
      dz = new double[stack][];
    }
  }

  private final class LstmNode extends Node {
    private final double[][] p;
    private final Pass[] passes;

    LstmNode(double[][] p, double[] x, double[] y, int n, Pass[] passes) {
      super(x, y, n);
      this.p = p;
      this.passes = passes;
    }

    @Override
    double[] backward(double[] g, double[][] gP, boolean needGIn) {
      return bptt(g, gP, needGIn, null);
    }

    /**
     * Back-propagation through time of {@code gOut} through every stacked layer, top down:
     * adds the parameter gradients to the non-null slots of {@code gP}, keeps the recursion's
     * values in {@code trace} when it is non-null, and returns {@code ∂x} when {@code needGIn}.
     */
    private double[] bptt(double[] gOut, double[][] gP, boolean needGIn, Trace trace) {
      int g4 = 4 * hidden;
      int rows = steps * n;
      double[] dH = seed(gOut, n);
      double[] dX = null;
      for (int k = stack - 1; k >= 0; k--) {
        Pass ps = passes[k];
        double[] whh = p[3 * k + 1];
        double[] dz = new double[rows * g4];
        double[] dhTotal = trace == null ? null : new double[rows * hidden];
        double[] dcTotal = trace == null ? null : new double[rows * hidden];
        double[] dhRec = new double[n * hidden];
        double[] dcNext = new double[n * hidden];
        for (int t = steps - 1; t >= 0; t--) {
          for (int s = 0; s < n; s++) {
            int r = t * n + s;
            int za = r * g4;
            int zc = r * hidden;
            for (int j = 0; j < hidden; j++) {
              double i = ps.a()[za + j];
              double f = ps.a()[za + hidden + j];
              double gg = ps.a()[za + 2 * hidden + j];
              double o = ps.a()[za + 3 * hidden + j];
              double tc = ps.tc()[zc + j];
              double cPrev = t > 0 ? ps.c()[zc - n * hidden + j] : 0.0;
              double dh = dH[zc + j] + dhRec[s * hidden + j];
              double dc = dh * o * (1 - tc * tc) + dcNext[s * hidden + j];
              dz[za + j] = dc * gg * i * (1 - i);
              dz[za + hidden + j] = dc * cPrev * f * (1 - f);
              dz[za + 2 * hidden + j] = dc * i * (1 - gg * gg);
              dz[za + 3 * hidden + j] = dh * tc * o * (1 - o);
              dcNext[s * hidden + j] = dc * f;
              if (trace != null) {
                dhTotal[zc + j] = dh;
                dcTotal[zc + j] = dc;
              }
            }
          }
          if (t > 0) {
            Kernels.gemm(false, false, n, hidden, g4, dz, t * n * g4, whh, 0, dhRec, 0, false);
          }
        }
        addParameterGradients(k, dz, ps.x(), ps.h(), gP);
        if (trace != null) {
          trace.dh[k] = dhTotal;
          trace.dc[k] = dcTotal;
          trace.dz[k] = dz;
        }
        if (k > 0 || needGIn) {
          dX = new double[rows * inputSize(k)];
          Kernels.gemm(false, false, rows, inputSize(k), g4, dz, 0, p[3 * k], 0, dX, 0, false);
          dH = dX;
        }
      }
      return needGIn ? permute(dX, n, features, false) : null;
    }

    /**
     * {@code ∂W_ih += Σ_t dzᵀ x}, {@code ∂W_hh += Σ_{t ≥ 1} dz_tᵀ h_{t−1}}, {@code ∂b += Σ dz}
     * into the non-null slots of stacked layer {@code k} (time-major: step {@code t}'s rows
     * follow step {@code t − 1}'s, so each sum over time is one matrix product).
     */
    private void addParameterGradients(int k, double[] dz, double[] x, double[] h, double[][] gP) {
      int g4 = 4 * hidden;
      int rows = steps * n;
      if (has(gP, 3 * k)) {
        Kernels.gemm(true, false, g4, inputSize(k), rows, dz, 0, x, 0, gP[3 * k], 0, true);
      }
      if (has(gP, 3 * k + 1) && steps > 1) {
        Kernels.gemm(true, false, g4, hidden, rows - n, dz, n * g4, h, 0, gP[3 * k + 1], 0,
            true);
      }
      if (has(gP, 3 * k + 2)) {
        Kernels.addColumnSums(dz, rows, g4, gP[3 * k + 2]);
      }
    }

    @Override
    RState rForward(double[] rIn, double[][] vP) {
      boolean any = rIn != null;
      for (int s = 0; s < 3 * stack && !any; s++) {
        any = has(vP, s);
      }
      if (!any) {
        return null;
      }
      RPass[] rp = new RPass[stack];
      double[] rx = rIn == null ? new double[steps * n * features] : permute(rIn, n, features, true);
      for (int k = 0; k < stack; k++) {
        rp[k] = rRun(k, rx, vP);
        rx = rp[k].rh();
      }
      return new LstmRState(rIn, output(rx, n), rp);
    }

    private RPass rRun(int k, double[] rx, double[][] vP) {
      Pass ps = passes[k];
      int g4 = 4 * hidden;
      int rows = steps * n;
      int f = inputSize(k);
      double[] rz = new double[rows * g4];
      Kernels.gemm(false, true, rows, g4, f, rx, 0, p[3 * k], 0, rz, 0, true);
      if (has(vP, 3 * k)) {
        Kernels.gemm(false, true, rows, g4, f, ps.x(), 0, vP[3 * k], 0, rz, 0, true);
      }
      if (has(vP, 3 * k + 2)) {
        Kernels.addRowVector(rz, rows, g4, vP[3 * k + 2]);
      }
      double[] rc = new double[rows * hidden];
      double[] rtc = new double[rows * hidden];
      double[] rh = new double[rows * hidden];
      for (int t = 0; t < steps; t++) {
        if (t > 0) {
          int hOff = (t - 1) * n * hidden;
          Kernels.gemm(false, true, n, g4, hidden, rh, hOff, p[3 * k + 1], 0, rz, t * n * g4,
              true);
          if (has(vP, 3 * k + 1)) {
            Kernels.gemm(false, true, n, g4, hidden, ps.h(), hOff, vP[3 * k + 1], 0, rz,
                t * n * g4, true);
          }
        }
        for (int s = 0; s < n; s++) {
          int za = (t * n + s) * g4;
          int zc = (t * n + s) * hidden;
          int prev = zc - n * hidden;
          for (int j = 0; j < hidden; j++) {
            double i = ps.a()[za + j];
            double fg = ps.a()[za + hidden + j];
            double gg = ps.a()[za + 2 * hidden + j];
            double o = ps.a()[za + 3 * hidden + j];
            // rz becomes R of the activations, in place
            double ri = i * (1 - i) * rz[za + j];
            double rf = fg * (1 - fg) * rz[za + hidden + j];
            double rg = (1 - gg * gg) * rz[za + 2 * hidden + j];
            double ro = o * (1 - o) * rz[za + 3 * hidden + j];
            rz[za + j] = ri;
            rz[za + hidden + j] = rf;
            rz[za + 2 * hidden + j] = rg;
            rz[za + 3 * hidden + j] = ro;
            double cPrev = t > 0 ? ps.c()[prev + j] : 0.0;
            double rcPrev = t > 0 ? rc[prev + j] : 0.0;
            double rcv = rf * cPrev + fg * rcPrev + ri * gg + i * rg;
            double tc = ps.tc()[zc + j];
            rc[zc + j] = rcv;
            rtc[zc + j] = (1 - tc * tc) * rcv;
            rh[zc + j] = ro * tc + o * rtc[zc + j];
          }
        }
      }
      return new RPass(rx, rz, rc, rtc, rh);
    }

    @Override
    double[] rBackward(
        RState r, double[][] vP, double[] g, double[] rg, double[][] rgP, boolean needGIn) {
      if (g == null || r == null) {
        // a Gauss-Newton product, or no direction reaches this layer: no second-order terms
        return bptt(rg, rgP, needGIn, null);
      }
      RPass[] rp = ((LstmRState) r).passes;
      Trace tr = new Trace(stack);
      bptt(g, null, false, tr);
      int g4 = 4 * hidden;
      int rows = steps * n;
      double[] rdH = seed(rg, n);
      double[] rdX = null;
      for (int k = stack - 1; k >= 0; k--) {
        Pass ps = passes[k];
        RPass q = rp[k];
        double[] dz = tr.dz[k];
        double[] rdz = new double[rows * g4];
        double[] rdhRec = new double[n * hidden];
        double[] rdcNext = new double[n * hidden];
        for (int t = steps - 1; t >= 0; t--) {
          for (int s = 0; s < n; s++) {
            int za = (t * n + s) * g4;
            int zc = (t * n + s) * hidden;
            int prev = zc - n * hidden;
            for (int j = 0; j < hidden; j++) {
              double i = ps.a()[za + j];
              double f = ps.a()[za + hidden + j];
              double gg = ps.a()[za + 2 * hidden + j];
              double o = ps.a()[za + 3 * hidden + j];
              double ri = q.ra()[za + j];
              double rf = q.ra()[za + hidden + j];
              double rgg = q.ra()[za + 2 * hidden + j];
              double ro = q.ra()[za + 3 * hidden + j];
              double tc = ps.tc()[zc + j];
              double rtc = q.rtc()[zc + j];
              double cPrev = t > 0 ? ps.c()[prev + j] : 0.0;
              double rcPrev = t > 0 ? q.rc()[prev + j] : 0.0;
              double dh = tr.dh[k][zc + j];
              double dc = tr.dc[k][zc + j];
              double rdh = rdH[zc + j] + rdhRec[s * hidden + j];
              double d1 = 1 - tc * tc;
              double rdc =
                  rdh * o * d1 + dh * ro * d1 - 2 * dh * o * tc * rtc + rdcNext[s * hidden + j];
              double di = dc * gg;
              double rdi = rdc * gg + dc * rgg;
              double df = dc * cPrev;
              double rdf = rdc * cPrev + dc * rcPrev;
              double dg = dc * i;
              double rdg = rdc * i + dc * ri;
              double dO = dh * tc;
              double rdO = rdh * tc + dh * rtc;
              rdz[za + j] = rdi * i * (1 - i) + di * (1 - 2 * i) * ri;
              rdz[za + hidden + j] = rdf * f * (1 - f) + df * (1 - 2 * f) * rf;
              rdz[za + 2 * hidden + j] = rdg * (1 - gg * gg) - 2 * dg * gg * rgg;
              rdz[za + 3 * hidden + j] = rdO * o * (1 - o) + dO * (1 - 2 * o) * ro;
              rdcNext[s * hidden + j] = rdc * f + dc * rf;
            }
          }
          if (t > 0) {
            int zOff = t * n * g4;
            Kernels.gemm(false, false, n, hidden, g4, rdz, zOff, p[3 * k + 1], 0, rdhRec, 0,
                false);
            if (has(vP, 3 * k + 1)) {
              Kernels.gemm(false, false, n, hidden, g4, dz, zOff, vP[3 * k + 1], 0, rdhRec, 0,
                  true);
            }
          }
        }
        // first-order part R{δz} with the forward values, second-order part δz with their R
        addParameterGradients(k, rdz, ps.x(), ps.h(), rgP);
        addParameterGradients(k, dz, q.rx(), q.rh(), withoutBias(rgP, k));
        if (k > 0 || needGIn) {
          int f = inputSize(k);
          rdX = new double[rows * f];
          Kernels.gemm(false, false, rows, f, g4, rdz, 0, p[3 * k], 0, rdX, 0, false);
          if (has(vP, 3 * k)) {
            Kernels.gemm(false, false, rows, f, g4, dz, 0, vP[3 * k], 0, rdX, 0, true);
          }
          rdH = rdX;
        }
      }
      return needGIn ? permute(rdX, n, features, false) : null;
    }

    /** Stacked layer {@code k}'s weight slots of {@code slots} without its bias slot. */
    private double[][] withoutBias(double[][] slots, int k) {
      if (!has(slots, 3 * k + 2)) {
        return slots;
      }
      double[][] s = slots.clone();
      s[3 * k + 2] = null;
      return s;
    }
  }
}
