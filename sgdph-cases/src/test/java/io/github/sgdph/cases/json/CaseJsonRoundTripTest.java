package io.github.sgdph.cases.json;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.sgdph.cases.CaseFile;
import io.github.sgdph.cases.ProbeResult;
import io.github.sgdph.cases.Trajectory;
import io.github.sgdph.model.NamedArray;
import io.github.sgdph.optim.OptimizerSpec;
import io.github.sgdph.tensor.DType;
import java.io.StringReader;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CaseJsonRoundTripTest {

  @Test
  void caseWithEveryLayerTypeProbeAndExpectedRoundTrips() {
    CaseFile c = CaseFixtures.everyLayerCase();
    String json = CaseJson.toJson(c);
    CaseFile back = CaseJson.readCase(json);
    assertEquals(c, back);
    assertEquals(c.model().layers(), back.model().layers());
    assertArrayEquals(c.probeVector(), back.probeVector());
    assertEquals(c.expected(), back.expected());
    // eval-mode batch norm running statistics come back as non-trainable entries
    NamedArray rv = back.parameters().get(5);
    assertEquals("1.running_var", rv.name());
    assertTrue(!rv.trainable());
    // writing again gives the same text
    assertEquals(json, CaseJson.toJson(back));
  }

  @Test
  void mseCaseWithoutProbeAndAdamBetasRoundTrips() {
    CaseFile c = CaseFixtures.mseCase();
    CaseFile back = CaseJson.readCase(CaseJson.toJson(c));
    assertEquals(c, back);
    assertEquals(DType.FLOAT32, back.dtype());
    assertNull(back.probeVector());
    assertNull(back.expected());
    assertEquals(List.of(0.9, 0.999), back.optimizer().get("betas"));
  }

  @Test
  void expectedWithoutBackendDtypeOrParametersRoundTrips() {
    CaseFile base = CaseFixtures.everyLayerCase();
    Trajectory e = new Trajectory(null, null, new double[] {3, 2, 1}, List.of(), null);
    CaseFile c = base.withExpected(e);
    String json = CaseJson.toJson(c);
    assertTrue(!json.contains("\"backend\""), json);
    CaseFile back = CaseJson.readCase(json);
    assertEquals(c, back);
    assertNull(back.expected().backend());
    assertNull(back.expected().dtype());
  }

  @Test
  void trajectoryRoundTrips() {
    Random rng = new Random(3);
    List<NamedArray> params =
        List.of(
            new NamedArray("0.weight", new int[] {2, 3}, CaseFixtures.gaussian(6, rng)),
            new NamedArray("0.bias", new int[] {2}, CaseFixtures.gaussian(2, rng)),
            new NamedArray("1.running_mean", new int[] {2}, new double[] {0.5, -0.0}, false));
    ProbeResult probe =
        new ProbeResult(
            2.302585092994046,
            CaseFixtures.gaussian(8, rng),
            CaseFixtures.gaussian(8, rng),
            CaseFixtures.gaussian(8, rng));
    Trajectory t =
        new Trajectory("reference", DType.FLOAT64, new double[] {2.31, 2.05, 1.9}, params, probe);
    String json = CaseJson.toJson(t);
    assertEquals(t, CaseJson.readTrajectory(json));
    Trajectory noProbe = new Trajectory("djl", DType.FLOAT32, new double[0], params, null);
    assertEquals(noProbe, CaseJson.readTrajectory(CaseJson.toJson(noProbe)));
  }

  @Test
  void pathReaderAndWriterOverloads(@TempDir Path dir) throws Exception {
    CaseFile c = CaseFixtures.everyLayerCase();
    Path f = dir.resolve("case.json");
    CaseJson.writeCase(c, f);
    assertEquals(c, CaseJson.readCase(f));
    StringWriter w = new StringWriter();
    CaseJson.writeCase(c, w);
    assertEquals(c, CaseJson.readCase(new StringReader(w.toString())));

    Trajectory t = c.expected();
    Path g = dir.resolve("trajectory.json");
    CaseJson.writeTrajectory(t, g);
    assertEquals(t, CaseJson.readTrajectory(g));
    StringWriter w2 = new StringWriter();
    CaseJson.writeTrajectory(t, w2);
    assertEquals(t, CaseJson.readTrajectory(new StringReader(w2.toString())));
  }

  @Test
  void writerLayoutIsCompactButReadable() {
    String json = CaseJson.toJson(CaseFixtures.everyLayerCase());
    List<String> lines = Arrays.asList(json.split("\n"));
    assertEquals("{", lines.get(0));
    assertEquals("  \"format\": \"sgdph-case/1\",", lines.get(1));
    assertTrue(
        lines.contains(
            "      {\"type\": \"conv2d\", \"in\": 1, \"out\": 2, \"kernel\": 3, \"stride\": 1,"
                + " \"padding\": 1, \"bias\": true},"),
        json);
    assertTrue(
        lines.contains(
            "      {\"type\": \"conv2d\", \"in\": 2, \"out\": 3, \"kernel\": [2, 1], \"stride\": 1,"
                + " \"padding\": [0, 1], \"bias\": false},"),
        json);
    assertTrue(
        lines.contains(
            "      {\"type\": \"batchnorm\", \"features\": 2, \"eps\": 1.0E-5, \"momentum\": 0.1,"
                + " \"mode\": \"eval\"},"),
        json);
    assertTrue(lines.contains("      {\"type\": \"avgpool2d\", \"kernel\": 2, \"stride\": [1, 2]},"));
    assertTrue(lines.contains("      {\"type\": \"flatten\"},"));
    // one parameter entry per line, all its values on that line
    String w0 =
        lines.stream().filter(l -> l.contains("\"name\": \"0.weight\"")).findFirst().orElseThrow();
    assertTrue(w0.startsWith("    {\"name\": \"0.weight\", \"shape\": [2, 1, 3, 3], \"trainable\": true, \"values\": ["), w0);
    assertTrue(w0.endsWith("]},"), w0);
    // class labels are integers
    assertTrue(lines.contains("        \"y\": {\"shape\": [3], \"values\": [0, 2, 1]}"), json);
    assertTrue(lines.contains("  \"steps\": 3,"), json);
    assertTrue(
        lines.contains(
            "  \"optimizer\": {\"name\": \"sgd\", \"lr\": 0.05, \"momentum\": 0.9,"
                + " \"nesterov\": true, \"weight_decay\": 1.0E-4},"),
        json);
    assertTrue(json.endsWith("}\n"));
  }

  @Test
  void handWrittenDefaultsAndIntegerLiteralsAreRead() {
    String json =
        """
        {
          "format": "sgdph-case/1",
          "dtype": "float64",
          "model": {
            "input_shape": [1, 4, 4],
            "layers": [
              {"type": "conv2d", "in": 1, "out": 1, "kernel": [3, 2]},
              {"type": "batchnorm", "features": 1},
              {"type": "maxpool2d", "kernel": 2},
              {"type": "flatten"},
              {"type": "dense", "in": 1, "out": 2}
            ],
            "loss": "sigmoid_binary_cross_entropy"
          },
          "parameters": [
            {"name": "0.weight", "shape": [1, 1, 3, 2], "values": [1, 2, 3, 4, 5, 6]},
            {"name": "0.bias", "shape": [1], "values": [0]},
            {"name": "1.weight", "shape": [1], "values": [1]},
            {"name": "1.bias", "shape": [1], "values": [0]},
            {"name": "4.weight", "shape": [2, 1], "values": [1, -1]},
            {"name": "4.bias", "shape": [2], "values": [0, 0]}
          ],
          "data": {"batches": [{"x": {"shape": [1, 1, 4, 4], "values": [0,0,0,0,0,0,0,0,0,0,0,0,0,0,-0,-0.0]},
                                "y": {"shape": [1, 2], "values": [1, 0.5]}}]},
          "optimizer": {"name": "sgd", "lr": 1, "nesterov": false},
          "steps": 0
        }
        """;
    CaseFile c = CaseJson.readCase(json);
    var conv = (io.github.sgdph.model.LayerSpec.Conv2d) c.model().layers().get(0);
    assertEquals(
        new io.github.sgdph.model.LayerSpec.Conv2d(1, 1, 3, 2, 1, 1, 0, 0, true), conv);
    assertEquals(
        new io.github.sgdph.model.LayerSpec.BatchNorm(
            1, 1e-5, 0.1, io.github.sgdph.model.LayerSpec.Mode.TRAIN),
        c.model().layers().get(1));
    assertEquals(
        new io.github.sgdph.model.LayerSpec.Pool2d(
            io.github.sgdph.model.LayerSpec.PoolKind.MAX, 2, 2, 2, 2),
        c.model().layers().get(2));
    Map<String, Object> hp = new LinkedHashMap<>();
    hp.put("lr", 1.0); // integer literals become Doubles
    hp.put("nesterov", false);
    assertEquals(new OptimizerSpec("sgd", hp), c.optimizer());
    // -0.0 keeps its sign; the integer literal -0 is Jackson's integer 0 (the writer never
    // writes it: a negative zero is written as -0.0)
    assertEquals(
        Double.doubleToRawLongBits(-0.0), Double.doubleToRawLongBits(c.batches().get(0).xView()[15]));
    assertEquals(
        Double.doubleToRawLongBits(0.0), Double.doubleToRawLongBits(c.batches().get(0).xView()[14]));
    assertTrue(c.parameters().get(0).trainable());
    assertEquals(c, CaseJson.readCase(CaseJson.toJson(c)));
  }

  /** Every finite double, including subnormals, extremes and -0.0, reads back bit for bit. */
  @Test
  void doublesRoundTripExactly() {
    Random rng = new Random(20261121);
    List<Double> special =
        List.of(
            0.0, -0.0, Double.MIN_VALUE, -Double.MIN_VALUE, Double.MIN_NORMAL,
            Math.nextDown(Double.MIN_NORMAL), Double.MAX_VALUE, -Double.MAX_VALUE, 1e308,
            -1e308, 1.7976931348623157e308, 4.9e-324, 2.2250738585072014e-308, 1e-320, 0.1,
            1.0 / 3, 2.0 / 3, 3.0, 1e23, 8.41e21, 5e-324, 2e-3, 9007199254740993.0, 0x1p53,
            0x1p63, 123456789012345678e10, 1.0e-5, 0.30000000000000004);
    double[] values = new double[200_000];
    int k = 0;
    for (double d : special) {
      values[k++] = d;
    }
    while (k < values.length) {
      double d =
          switch (k % 4) {
            case 0 -> Double.longBitsToDouble(rng.nextLong()); // any exponent
            case 1 -> Double.longBitsToDouble(rng.nextLong() & 0x800FFFFFFFFFFFFFL); // subnormal
            case 2 -> rng.nextGaussian() * Math.pow(10, rng.nextInt(40) - 20);
            default -> (double) (rng.nextInt(2001) - 1000);
          };
      if (Double.isFinite(d)) {
        values[k++] = d;
      }
    }
    List<NamedArray> params = new ArrayList<>();
    params.add(new NamedArray("w", new int[] {values.length}, values));
    Trajectory t =
        new Trajectory(
            "reference", DType.FLOAT64, Arrays.copyOf(values, 1000), params,
            new ProbeResult(-0.0, new double[] {Double.MIN_VALUE}, new double[] {1e308},
                new double[] {-1e-310}));
    Trajectory back = CaseJson.readTrajectory(CaseJson.toJson(t));
    double[] read = back.parameters().get(0).values();
    for (int i = 0; i < values.length; i++) {
      if (Double.doubleToRawLongBits(values[i]) != Double.doubleToRawLongBits(read[i])) {
        throw new AssertionError(
            "value " + i + ": wrote " + values[i] + " (" + Double.toString(values[i])
                + ") read " + read[i]);
      }
    }
    assertEquals(t, back);
    assertNotNull(back.probe());
  }
}
