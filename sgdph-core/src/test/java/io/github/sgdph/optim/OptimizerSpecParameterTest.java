package io.github.sgdph.optim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@link OptimizerSpec#putParameter}: the {@code --hp KEY=VALUE} of the command lines. */
class OptimizerSpecParameterTest {

  @Test
  void valuesTakeTheirTypes() {
    Map<String, Object> hp = new LinkedHashMap<>();
    for (String kv : List.of("lr=0.05", " nesterov = true", "max_cg_iters=20", "eps=1e-8",
        "big=1000000000000000", "rho_decay=linear", "neg=-3")) {
      OptimizerSpec.putParameter(hp, kv);
    }
    assertEquals(0.05, hp.get("lr"));
    assertEquals(Boolean.TRUE, hp.get("nesterov"));
    assertEquals(20L, hp.get("max_cg_iters"));
    assertEquals(1e-8, hp.get("eps"));
    assertEquals(1e15, hp.get("big")); // beyond 10^15: a double
    assertEquals("linear", hp.get("rho_decay"));
    assertEquals(-3L, hp.get("neg"));
    assertEquals(List.of("lr", "nesterov", "max_cg_iters", "eps", "big", "rho_decay", "neg"),
        List.copyOf(hp.keySet()));
  }

  @Test
  void badOrRepeatedKeysAreNamed() {
    Map<String, Object> hp = new LinkedHashMap<>();
    for (String bad : List.of("lr", "=0.1", "")) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> OptimizerSpec.putParameter(hp, bad));
      assertEquals("--hp: expected KEY=VALUE but was '" + bad + "'", e.getMessage());
    }
    OptimizerSpec.putParameter(hp, "lr=0.1");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> OptimizerSpec.putParameter(hp, "lr=0.2"));
    assertTrue(e.getMessage().equals("--hp: lr given twice"), e.getMessage());
  }
}
