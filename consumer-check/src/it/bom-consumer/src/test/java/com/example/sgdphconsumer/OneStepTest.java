package com.example.sgdphconsumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.sgdph.cases.json.CaseJson;
import io.github.sgdph.model.ModelSpec;
import org.junit.jupiter.api.Test;

class OneStepTest {

  /** The optimizer under test: the pom's consumer.optimizer (sgdph). */
  private static final String OPTIMIZER = System.getProperty("consumer.optimizer", "sgdph");

  @Test
  void oneStepOnTheReferenceBackendThroughTheBom() {
    OneStep.Result r = OneStep.run(OPTIMIZER);

    assertEquals(OPTIMIZER, r.optimizer());
    assertEquals(1, r.report().step());
    assertTrue(r.allFinite(), "parameters and losses must stay finite: " + r);
    assertEquals(r.lossBefore(), r.report().loss(), 1e-12, "the step reports the loss before it");
    assertTrue(r.maxParameterChange() > 0, "the step must move the parameters: " + r);
    assertTrue(r.lossAfter() < r.lossBefore(), "one step must lower the loss here: " + r);
  }

  @Test
  void theModelRoundTripsThroughCaseJsonFromTheBom() {
    ModelSpec spec = OneStep.spec();
    String json = CaseJson.toJson(spec);
    assertTrue(json.contains("\"loss\": \"softmax_cross_entropy\""), json);
    assertEquals(spec, CaseJson.readModel(json));
  }
}
