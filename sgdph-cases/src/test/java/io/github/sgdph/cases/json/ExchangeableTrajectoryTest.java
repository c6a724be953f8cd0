package io.github.sgdph.cases.json;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.sgdph.cases.CaseFile;
import io.github.sgdph.cases.ProbeResult;
import io.github.sgdph.cases.Trajectory;
import io.github.sgdph.cases.TrajectoryComparison;
import io.github.sgdph.model.NamedArray;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

/**
 * A trajectory file serves as a case's {@code expected} member unedited (its {@code format}
 * accepted), and a comparison names the first step beyond a tolerance.
 */
class ExchangeableTrajectoryTest {

  /** The case's JSON with its expected member replaced by a whole trajectory file's text. */
  private static String withTrajectoryAsExpected(CaseFile c, Trajectory t) {
    String json = CaseJson.toJson(c.withExpected(null));
    int end = json.lastIndexOf('}');
    return json.substring(0, end).stripTrailing() + ",\n\"expected\": " + CaseJson.toJson(t) + "}";
  }

  @Test
  void aTrajectoryFileReadsAsTheExpectedMemberOfACase() {
    CaseFile c = CaseFixtures.everyLayerCase();
    Trajectory t = c.expected();
    String json = withTrajectoryAsExpected(c, t);
    assertTrue(json.contains("\"format\": \"" + Trajectory.FORMAT + "\""), json);
    CaseFile back = CaseJson.readCase(json);
    assertEquals(t, back.expected());
  }

  @Test
  void anotherFormatInTheExpectedMemberIsNamed() {
    CaseFile c = CaseFixtures.everyLayerCase();
    String json = withTrajectoryAsExpected(c, c.expected())
        .replace("\"format\": \"" + Trajectory.FORMAT + "\"", "\"format\": \"sgdph-trajectory/9\"");
    CaseFormatException e = assertThrows(CaseFormatException.class, () -> CaseJson.readCase(json));
    assertTrue(e.getMessage().startsWith("expected.format: ") && e.getMessage().contains(
        "sgdph-trajectory/9"), e.getMessage());
  }

  @Test
  void checkExpectationNamesTheFieldThatDoesNotFit() {
    CaseFile c = CaseFixtures.everyLayerCase();
    CaseJson.checkExpectation(c, c.expected());
    Trajectory e = c.expected();
    Trajectory short1 = new Trajectory(e.backend(), e.dtype(), new double[] {1.0}, e.parameters(),
        e.probe());
    CaseFormatException x =
        assertThrows(CaseFormatException.class, () -> CaseJson.checkExpectation(c, short1));
    assertTrue(x.getMessage().startsWith("expected.loss: has 1 values but steps is 3"),
        x.getMessage());
  }

  @Test
  void firstStepAboveIsTheFirstPointBeyondTheTolerance() {
    CaseFile c = CaseFixtures.everyLayerCase();
    Trajectory e = c.expected();
    assertEquals(OptionalInt.empty(),
        TrajectoryComparison.compare(e, e).firstStepAbove(0));

    double[] loss = e.loss();
    loss[2] *= 1 + 1e-6; // the loss of step 2
    Trajectory late = new Trajectory(e.backend(), e.dtype(), loss, e.parameters(), e.probe());
    TrajectoryComparison cmp = TrajectoryComparison.compare(late, e);
    assertEquals(OptionalInt.of(2), cmp.firstStepAbove(1e-8));
    assertEquals(OptionalInt.empty(), cmp.firstStepAbove(1e-5));
    assertFalse(cmp.within(1e-8));

    List<NamedArray> p = new ArrayList<>(e.parameters());
    NamedArray first = p.get(0);
    double[] v = first.values();
    v[0] += 1e-3 * Math.abs(v[0]) + 1e-3;
    p.set(0, new NamedArray(first.name(), first.shape(), v, first.trainable()));
    Trajectory end = new Trajectory(e.backend(), e.dtype(), e.loss(), p, e.probe());
    // the final parameters: after the last of the 3 steps
    assertEquals(OptionalInt.of(3), TrajectoryComparison.compare(end, e).firstStepAbove(1e-8));

    ProbeResult pr = e.probe();
    double[] hv = pr.hvp();
    hv[0] += 1;
    Trajectory probe = new Trajectory(e.backend(), e.dtype(), loss, p,
        new ProbeResult(pr.loss(), pr.gradient(), hv, pr.ggnvp()));
    // the probe is at the initial parameters: step 0, before the later deviations
    assertEquals(OptionalInt.of(0), TrajectoryComparison.compare(probe, e).firstStepAbove(1e-8));
  }
}
