package io.github.sgdph.dl4j;

import static io.github.sgdph.dl4j.Nd4jArrays.matmul;

import java.util.Arrays;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * DL4J's {@code LSTM} layer (no peephole connections, sigmoid gates, tanh activation, zero
 * initial states) with back-propagation through time and Pearlmutter's exact R-operator
 * through the recurrence ("Fast exact multiplication by the Hessian", Neural Computation 6(1),
 * 1994, §4 on recurrent networks) — the ND4J counterpart of the reference backend's
 * {@code LstmLayer}, in DL4J's layout.
 *
 * <p>Slots (DL4J's parameters): {@code W [in, 4H]} (slot 0), {@code RW [H, 4H]} (slot 1),
 * {@code b [1, 4H]} (slot 2), their column blocks in DL4J's order {@code g, f, o, i}
 * ({@code LSTMHelpers.activateHelper}: the block input, the forget gate, the output gate, the
 * input-modulation gate). Input {@code [n, F, T]} and output {@code [n, H, T]} are DL4J's
 * {@code NCW} layout (its default), or {@code [n, T, F]} and {@code [n, T, H]} in its {@code NWC}
 * layout (the case format's); internally every sequence is time-major {@code [T·n, ·]}, so that a time
 * step is a contiguous block of rows and the input and weight products of all steps are single
 * matrix products.
 *
 * <p>Forward, per step ({@code σ} the logistic function): {@code z = x W + h₋ RW + b},
 * {@code g = tanh(z_g), f = σ(z_f), o = σ(z_o), i = σ(z_i)}, {@code c = f c₋ + i g},
 * {@code h = o tanh(c)}. Backward through time, with {@code δh} the gradient reaching
 * {@code h_t} from the output plus {@code δz_{t+1} RWᵀ} and {@code δc} that from {@code h_t}
 * plus {@code δc_{t+1} f_{t+1}}: {@code δc = δh o (1 − tanh²c) + …}, {@code δz_g = δc i (1 −
 * g²)}, {@code δz_f = δc c₋ f(1 − f)}, {@code δz_o = δh tanh(c) o(1 − o)}, {@code δz_i = δc g
 * i(1 − i)}; {@code ∂W = Σ_t x_tᵀ δz_t}, {@code ∂RW = Σ_t h_{t−1}ᵀ δz_t},
 * {@code ∂b = Σ_t Σ_rows δz_t}, {@code ∂x_t = δz_t Wᵀ}.
 *
 * <p>R-forward: {@code R z = R x W + x V_W + R h₋ RW + h₋ V_RW + v_b}, the gates' derivatives
 * ({@code R g = (1 − g²) R z_g}, {@code R f = f(1 − f) R z_f}, ...), {@code R c = R f c₋ + f
 * R c₋ + R i g + i R g}, {@code R h = R o tanh c + o (1 − tanh²c) R c}. R-backward: the R of
 * every line of the backward recursion (product rule), run backwards through time beside the
 * recursion it differentiates, then {@code R ∂W = R xᵀ δz + xᵀ R δz}, {@code R ∂RW = R h₋ᵀ δz
 * + h₋ᵀ R δz}, {@code R ∂b = Σ R δz}, {@code R ∂x = R δz Wᵀ + δz V_Wᵀ}.
 */
final class LstmOp extends Op {
  /** The block of each gate among DL4J's four column blocks. */
  private static final int G = 0;
  private static final int F = 1;
  private static final int O = 2;
  private static final int I = 3;

  private final long hidden;
  /** Whether sequences are {@code [n, T, F]} ({@code NWC}) rather than {@code [n, F, T]}. */
  private final boolean nwc;

  LstmOp(String where, long hidden, boolean nwc) {
    super(where);
    this.hidden = hidden;
    this.nwc = nwc;
  }

  @Override
  int slots() {
    return 3;
  }

  /**
   * A sequence to time-major rows {@code [T·n, F]}: from {@code [n, F, T]} (DL4J's {@code NCW})
   * or, with {@code nwc}, {@code [n, T, F]} ({@code NWC}, the case format's).
   */
  static INDArray toTimeMajor(INDArray x, boolean nwc) {
    long n = x.size(0);
    long f = x.size(nwc ? 2 : 1);
    long t = x.size(nwc ? 1 : 2);
    return (nwc ? x.permute(1, 0, 2) : x.permute(2, 0, 1)).dup('c').reshape('c', t * n, f);
  }

  /** Time-major rows {@code [T·n, F]} back to {@code [n, F, T]} (or {@code [n, T, F]}). */
  static INDArray fromTimeMajor(INDArray rows, long n, boolean nwc) {
    long f = rows.size(1);
    long t = rows.size(0) / n;
    INDArray r = rows.reshape('c', t, n, f);
    return (nwc ? r.permute(1, 0, 2) : r.permute(1, 2, 0)).dup('c');
  }

  /** {@link #toTimeMajor(INDArray, boolean)} in this op's layout. */
  private INDArray timeMajor(INDArray x) {
    return toTimeMajor(x, nwc);
  }

  /** {@link #fromTimeMajor(INDArray, long, boolean)} in this op's layout. */
  private INDArray sequence(INDArray rows, long n) {
    return fromTimeMajor(rows, n, nwc);
  }

  @Override
  Node forward(INDArray x, INDArray[] p, boolean keep) {
    String layout = nwc ? "[n, time steps, features]" : "[n, features, time steps]";
    if (x.rank() != 3) {
      throw new IllegalArgumentException(where + ": input of shape " + Arrays.toString(x.shape())
          + " but an LSTM takes sequences " + layout);
    }
    INDArray w = p[0];
    if (x.size(nwc ? 2 : 1) != w.size(0) || x.size(nwc ? 1 : 2) == 0) {
      throw new IllegalArgumentException(where + ": input of shape "
          + Arrays.toString(x.shape()) + " but the layer takes " + layout + " with "
          + w.size(0) + " features and at least one time step");
    }
    int n = (int) x.size(0);
    int steps = (int) x.size(nwc ? 1 : 2);
    INDArray xs = timeMajor(x);
    INDArray rw = p[1];
    INDArray a = matmul(xs, w, false, false);
    Nd4jArrays.addRowInPlace(a, p[2]);
    long rows = (long) steps * n;
    INDArray c = Nd4j.createUninitialized(x.dataType(), new long[] {rows, hidden}, 'c');
    INDArray tc = Nd4j.createUninitialized(x.dataType(), new long[] {rows, hidden}, 'c');
    INDArray h = Nd4j.createUninitialized(x.dataType(), new long[] {rows, hidden}, 'c');
    for (int t = 0; t < steps; t++) {
      INDArray at = step(a, t, n);
      if (t > 0) {
        at.addi(matmul(step(h, t - 1, n), rw, false, false));
      }
      INDArray g = gate(at, G);
      g.assign(Transforms.tanh(g, true));
      for (int k : new int[] {F, O, I}) {
        INDArray s = gate(at, k);
        s.assign(Transforms.sigmoid(s, true));
      }
      INDArray ct = gate(at, I).mul(g);
      if (t > 0) {
        ct.addi(gate(at, F).mul(step(c, t - 1, n)));
      }
      step(c, t, n).assign(ct);
      INDArray tct = Transforms.tanh(ct, true);
      step(tc, t, n).assign(tct);
      step(h, t, n).assign(tct.muli(gate(at, O)));
    }
    return new N(xs, w, rw, a, c, tc, h, n, steps, sequence(h, n));
  }

  /** The rows of time step {@code t} (a view). */
  static INDArray step(INDArray m, int t, int n) {
    return m.get(NDArrayIndex.interval((long) t * n, (long) (t + 1) * n), NDArrayIndex.all());
  }

  /** Gate block {@code k} of a {@code [·, 4H]} array (a view). */
  private INDArray gate(INDArray m, int k) {
    return m.get(NDArrayIndex.all(), NDArrayIndex.interval(k * hidden, (k + 1) * hidden));
  }

  /** {@code a} or zeros of {@code like}'s shape for null. */
  private static INDArray orZeros(INDArray a, INDArray like) {
    return a != null ? a : Nd4j.zeros(like.dataType(), like.shape());
  }

  /** {@code 1 − a²}. */
  private static INDArray oneMinusSquare(INDArray a) {
    return a.mul(a).rsubi(1.0);
  }

  /** {@code a (1 − a)}. */
  private static INDArray logisticSlope(INDArray a) {
    return a.rsub(1.0).muli(a);
  }

  private final class N extends Node {
    INDArray x;
    INDArray w;
    INDArray rw;
    /** The gate activations {@code g, f, o, i}, {@code [T·n, 4H]}. */
    INDArray a;
    INDArray c;
    INDArray tc;
    INDArray h;
    final int n;
    final int steps;
    INDArray y;

    N(INDArray x, INDArray w, INDArray rw, INDArray a, INDArray c, INDArray tc, INDArray h,
        int n, int steps, INDArray y) {
      this.x = x;
      this.w = w;
      this.rw = rw;
      this.a = a;
      this.c = c;
      this.tc = tc;
      this.h = h;
      this.n = n;
      this.steps = steps;
      this.y = y;
    }

    @Override
    INDArray out() {
      return y;
    }

    @Override
    void keep(Scratch s) {
      x = s.keep(x);
      w = s.keep(w);
      rw = s.keep(rw);
      a = s.keep(a);
      c = s.keep(c);
      tc = s.keep(tc);
      h = s.keep(h);
      y = s.keep(y);
    }

    private long rows() {
      return (long) steps * n;
    }

    /** The hidden states of steps {@code 0 … T − 2}: the {@code h₋} of steps {@code 1 … T − 1}. */
    private INDArray previous(INDArray m) {
      return m.get(NDArrayIndex.interval(0, rows() - n), NDArrayIndex.all());
    }

    /** The rows of steps {@code 1 … T − 1}. */
    private INDArray later(INDArray m) {
      return m.get(NDArrayIndex.interval(n, rows()), NDArrayIndex.all());
    }

    /**
     * The backward recursion from {@code δh_out} (time-major, the output gradient), giving
     * {@code δz} {@code [T·n, 4H]}; with the R-derivatives ({@code rs} not null) also
     * {@code R δz}.
     *
     * @return {@code {δz, R δz}} ({@code R δz} null without {@code rs})
     */
    private INDArray[] recursion(INDArray dOut, INDArray rdOut, Rs rs, INDArray vrw) {
      boolean second = rs != null;
      INDArray dz = Nd4j.zeros(a.dataType(), rows(), 4 * hidden);
      INDArray rdz = second ? Nd4j.zeros(a.dataType(), rows(), 4 * hidden) : null;
      INDArray dhRec = null;
      INDArray dcNext = null;
      INDArray rdhRec = null;
      INDArray rdcNext = null;
      for (int t = steps - 1; t >= 0; t--) {
        INDArray at = step(a, t, n);
        INDArray g = gate(at, G);
        INDArray f = gate(at, F);
        INDArray o = gate(at, O);
        INDArray i = gate(at, I);
        INDArray tct = step(tc, t, n);
        INDArray cPrev = t > 0 ? step(c, t - 1, n) : null;
        INDArray dtc = oneMinusSquare(tct);
        INDArray dh = step(dOut, t, n).dup();
        if (dhRec != null) {
          dh.addi(dhRec);
        }
        INDArray dc = dh.mul(o).muli(dtc);
        if (dcNext != null) {
          dc.addi(dcNext);
        }
        INDArray dzt = step(dz, t, n);
        INDArray gSlope = oneMinusSquare(g);
        INDArray fSlope = logisticSlope(f);
        INDArray oSlope = logisticSlope(o);
        INDArray iSlope = logisticSlope(i);
        gate(dzt, G).assign(dc.mul(i).muli(gSlope));
        if (cPrev != null) {
          gate(dzt, F).assign(dc.mul(cPrev).muli(fSlope));
        }
        gate(dzt, O).assign(dh.mul(tct).muli(oSlope));
        gate(dzt, I).assign(dc.mul(g).muli(iSlope));
        if (second) {
          INDArray rat = step(rs.ra, t, n);
          INDArray rg = gate(rat, G);
          INDArray rf = gate(rat, F);
          INDArray ro = gate(rat, O);
          INDArray ri = gate(rat, I);
          INDArray rtc = step(rs.rtc, t, n);
          INDArray rdh = step(rdOut, t, n).dup();
          if (rdhRec != null) {
            rdh.addi(rdhRec);
          }
          // R δc = R δh o (1 − tc²) + δh R o (1 − tc²) − 2 δh o tc R tc + R δc_next
          INDArray rdc = rdh.mul(o).muli(dtc)
              .addi(dh.mul(ro).muli(dtc))
              .subi(dh.mul(o).muli(tct).muli(rtc).muli(2.0));
          if (rdcNext != null) {
            rdc.addi(rdcNext);
          }
          INDArray rdzt = step(rdz, t, n);
          // δz_g = δc i (1 − g²)
          gate(rdzt, G).assign(rdc.mul(i).muli(gSlope)
              .addi(dc.mul(ri).muli(gSlope))
              .subi(dc.mul(i).muli(g).muli(rg).muli(2.0)));
          if (cPrev != null) {
            // δz_f = δc c₋ f(1 − f); R{f(1 − f)} = (1 − 2f) R f
            INDArray rcPrev = step(rs.rc, t - 1, n);
            gate(rdzt, F).assign(rdc.mul(cPrev).muli(fSlope)
                .addi(dc.mul(rcPrev).muli(fSlope))
                .addi(dc.mul(cPrev).muli(rf).muli(f.mul(-2.0).addi(1.0))));
          }
          // δz_o = δh tc o(1 − o)
          gate(rdzt, O).assign(rdh.mul(tct).muli(oSlope)
              .addi(dh.mul(rtc).muli(oSlope))
              .addi(dh.mul(tct).muli(ro).muli(o.mul(-2.0).addi(1.0))));
          // δz_i = δc g i(1 − i)
          gate(rdzt, I).assign(rdc.mul(g).muli(iSlope)
              .addi(dc.mul(rg).muli(iSlope))
              .addi(dc.mul(g).muli(ri).muli(i.mul(-2.0).addi(1.0))));
          if (t > 0) {
            // R δc₋ = R δc f + δc R f; R δh₋ = R δz RWᵀ + δz V_RWᵀ
            rdcNext = rdc.mul(f).addi(dc.mul(rf));
            rdhRec = matmul(rdzt, rw, false, true);
            if (vrw != null) {
              rdhRec.addi(matmul(dzt, vrw, false, true));
            }
          }
        }
        if (t > 0) {
          dcNext = dc.muli(f);
          dhRec = matmul(dzt, rw, false, true);
        }
      }
      return new INDArray[] {dz, rdz};
    }

    @Override
    INDArray backward(INDArray g, boolean[] want, INDArray[] pg, boolean needIn) {
      INDArray dz = recursion(timeMajor(g), null, null, null)[0];
      if (wants(want, 0)) {
        pg[0] = matmul(x, dz, true, false);
      }
      if (wants(want, 1)) {
        pg[1] = steps > 1
            ? matmul(previous(h), later(dz), true, false)
            : Nd4j.zeros(rw.dataType(), rw.shape());
      }
      if (wants(want, 2)) {
        pg[2] = Nd4jArrays.sum(dz, true, 0);
      }
      return needIn ? sequence(matmul(dz, w, false, true), n) : null;
    }

    @Override
    RState rForward(INDArray rIn, INDArray[] v) {
      INDArray vw = slot(v, 0);
      INDArray vrw = slot(v, 1);
      INDArray vb = slot(v, 2);
      INDArray rx = rIn == null ? null : timeMajor(rIn);
      INDArray rz = Nd4j.zeros(a.dataType(), rows(), 4 * hidden);
      if (rx != null) {
        rz.addi(matmul(rx, w, false, false));
      }
      if (vw != null) {
        rz.addi(matmul(x, vw, false, false));
      }
      if (vb != null) {
        Nd4jArrays.addRowInPlace(rz, vb);
      }
      INDArray rc = Nd4j.zeros(a.dataType(), rows(), hidden);
      INDArray rtc = Nd4j.zeros(a.dataType(), rows(), hidden);
      INDArray rh = Nd4j.zeros(a.dataType(), rows(), hidden);
      for (int t = 0; t < steps; t++) {
        INDArray rzt = step(rz, t, n);
        if (t > 0) {
          rzt.addi(matmul(step(rh, t - 1, n), rw, false, false));
          if (vrw != null) {
            rzt.addi(matmul(step(h, t - 1, n), vrw, false, false));
          }
        }
        INDArray at = step(a, t, n);
        // rz becomes R of the activations, in place
        gate(rzt, G).muli(oneMinusSquare(gate(at, G)));
        for (int k : new int[] {F, O, I}) {
          gate(rzt, k).muli(logisticSlope(gate(at, k)));
        }
        INDArray rct = gate(rzt, I).mul(gate(at, G)).addi(gate(at, I).mul(gate(rzt, G)));
        if (t > 0) {
          rct.addi(gate(rzt, F).mul(step(c, t - 1, n)))
              .addi(gate(at, F).mul(step(rc, t - 1, n)));
        }
        step(rc, t, n).assign(rct);
        INDArray tct = step(tc, t, n);
        INDArray rtct = oneMinusSquare(tct).muli(rct);
        step(rtc, t, n).assign(rtct);
        step(rh, t, n).assign(gate(rzt, O).mul(tct).addi(rtct.mul(gate(at, O))));
      }
      return new LstmRState(rIn, sequence(rh, n), new Rs(rx, rz, rc, rtc, rh));
    }

    @Override
    INDArray rBackward(
        RState r, INDArray[] v, INDArray g, INDArray rg, boolean[] want, INDArray[] rpg,
        boolean needIn) {
      INDArray vw = slot(v, 0);
      INDArray vrw = slot(v, 1);
      INDArray dOut = timeMajor(g);
      INDArray rdOut = rg == null ? Nd4j.zeros(dOut.dataType(), dOut.shape()) : timeMajor(rg);
      // no LstmRState: nothing reached this layer in the R-forward pass (all R values zero)
      Rs rs = r instanceof LstmRState l
          ? l.rs
          : new Rs(null, Nd4j.zeros(a.dataType(), rows(), 4 * hidden),
              Nd4j.zeros(a.dataType(), rows(), hidden), Nd4j.zeros(a.dataType(), rows(), hidden),
              Nd4j.zeros(a.dataType(), rows(), hidden));
      INDArray[] d = recursion(dOut, rdOut, rs, vrw);
      INDArray dz = d[0];
      INDArray rdz = d[1];
      if (wants(want, 0)) {
        INDArray m = matmul(x, rdz, true, false);
        if (rs.rx != null) {
          m.addi(matmul(rs.rx, dz, true, false));
        }
        rpg[0] = m;
      }
      if (wants(want, 1)) {
        rpg[1] = steps > 1
            ? matmul(previous(h), later(rdz), true, false)
                .addi(matmul(previous(rs.rh), later(dz), true, false))
            : Nd4j.zeros(rw.dataType(), rw.shape());
      }
      if (wants(want, 2)) {
        rpg[2] = Nd4jArrays.sum(rdz, true, 0);
      }
      if (!needIn) {
        return null;
      }
      INDArray rdx = matmul(rdz, w, false, true);
      if (vw != null) {
        rdx.addi(matmul(dz, vw, false, true));
      }
      return sequence(rdx, n);
    }
  }

  /**
   * The R-forward values of the layer, time-major: {@code R x} (null for zero), {@code R} of
   * the gate activations {@code [T·n, 4H]}, {@code R c}, {@code R tanh c}, {@code R h}
   * ({@code [T·n, H]}).
   */
  private record Rs(INDArray rx, INDArray ra, INDArray rc, INDArray rtc, INDArray rh) {}

  /** The R-forward pass's state of an LSTM: the RState and every step's R values. */
  private static final class LstmRState extends RState {
    final Rs rs;

    LstmRState(INDArray rIn, INDArray rOut, Rs rs) {
      super(rIn, rOut, null);
      this.rs = rs;
    }
  }
}
