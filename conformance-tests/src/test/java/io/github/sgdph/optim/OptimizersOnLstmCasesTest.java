package io.github.sgdph.optim;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.github.sgdph.cases.json.BundledCases;
import io.github.sgdph.cases.CaseFile;
import io.github.sgdph.param.ParameterLayout;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * How the optimizers of the bundled LSTM cases (issue 20) split a two-layer LSTM: block-diagonal
 * HF one block per stacked layer and one for the head (cases/README.md, "The LSTMs"); SGD-PH's
 * channel-wise tensors the 1-D ones, the LSTM biases and the head's bias, the last on the SGD
 * branch as in the authors' code.
 */
class OptimizersOnLstmCasesTest {

  private static List<List<String>> names(List<ParameterLayout> blocks) {
    List<List<String>> out = new ArrayList<>();
    for (ParameterLayout b : blocks) {
      List<String> n = new ArrayList<>();
      for (int i = 0; i < b.blockCount(); i++) {
        n.add(b.block(i).name());
      }
      out.add(n);
    }
    return out;
  }

  @Test
  void blockDiagonalHfHasOneBlockPerStackedLstmLayerAndOneForTheHead() {
    CaseFile c = BundledCases.load("lstm-fashion-rows-bdhf.json");
    BlockDiagonalHessianFree opt = (BlockDiagonalHessianFree) Optimizers.create(c.optimizer());
    assertEquals(List.of(
            List.of("0.weight_ih_l0", "0.weight_hh_l0", "0.bias_l0"),
            List.of("0.weight_ih_l1", "0.weight_hh_l1", "0.bias_l1"),
            List.of("1.weight", "1.bias")),
        names(opt.partition().blocksOf(c.model().layout())));
  }

  @Test
  void sgdPhTakesTheLstmBiasesAsChannelWise() {
    CaseFile c = BundledCases.load("lstm-fashion-rows-sgdph.json");
    ParameterLayout layout = c.model().layout();
    List<String> channelWise = new ArrayList<>();
    for (int i : layout.channelWiseIndices()) {
      channelWise.add(layout.block(i).name());
    }
    assertEquals(List.of("0.bias_l0", "0.bias_l1", "1.bias"), channelWise);
    SgdPh opt = (SgdPh) Optimizers.create(c.optimizer());
    assertEquals(List.of("0.bias_l0", "0.bias_l1"), opt.secondOrderTensors(layout));
  }
}
