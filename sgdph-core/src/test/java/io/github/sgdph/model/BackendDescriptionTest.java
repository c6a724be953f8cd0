package io.github.sgdph.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.github.sgdph.model.LayerSpec.ActivationKind;
import io.github.sgdph.model.LayerSpec.PoolKind;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * {@link BackendDescription#ALL_LAYERS} is every layer type of the spec: one instance of every
 * permitted {@link LayerSpec} class (every activation and pool kind), and exactly their types.
 */
class BackendDescriptionTest {

  /** One of every kind of op; a new {@link LayerSpec} class fails the test until added here. */
  private static List<LayerSpec> everyKindOfOp() {
    List<LayerSpec> ops = new ArrayList<>(List.of(new LayerSpec.Dense(2, 3, true),
        new LayerSpec.Conv2d(1, 2, 3, 3, 1, 1, 1, 1, false),
        new LayerSpec.BatchNorm(2, 1e-5, 0.1, LayerSpec.Mode.TRAIN), new LayerSpec.Flatten(),
        new LayerSpec.GlobalAvgPool(), new LayerSpec.Identity(), new LayerSpec.Add(),
        new LayerSpec.Lstm(3, 2, 1, false)));
    for (ActivationKind k : ActivationKind.values()) {
      ops.add(new LayerSpec.Activation(k));
    }
    for (PoolKind k : PoolKind.values()) {
      ops.add(new LayerSpec.Pool2d(k, 2, 2, 2, 2));
    }
    return ops;
  }

  @Test
  void theSamplesCoverEveryPermittedLayerClass() {
    Set<String> permitted = new TreeSet<>();
    for (Class<?> c : LayerSpec.class.getPermittedSubclasses()) {
      permitted.add(c.getName());
    }
    Set<String> sampled = new TreeSet<>();
    for (LayerSpec l : everyKindOfOp()) {
      sampled.add(l.getClass().getName());
    }
    assertEquals(permitted, sampled);
  }

  @Test
  void allLayersIsExactlyTheTypesOfTheSpec() {
    Set<String> types = new TreeSet<>();
    for (LayerSpec l : everyKindOfOp()) {
      types.add(l.type());
    }
    List<String> all = BackendDescription.ALL_LAYERS;
    assertEquals(all.size(), new LinkedHashSet<>(all).size(), "duplicates in " + all);
    assertEquals(types, new TreeSet<>(all));
    // the graph ops and the recurrent layer of sgdph-case/2, named as case files write them
    assertEquals(BackendDescription.GRAPH_OPS, all.subList(all.size() - 4, all.size() - 1));
    assertEquals(List.of("lstm"), BackendDescription.RECURRENT_LAYERS);
    assertEquals(BackendDescription.RECURRENT_LAYERS, all.subList(all.size() - 1, all.size()));
    assertEquals(Set.of("global_avgpool2d", "identity", "add"),
        Set.copyOf(BackendDescription.GRAPH_OPS));
    assertEquals(Arrays.asList(LossKind.values()).stream().map(LossKind::jsonName).toList(),
        BackendDescription.ALL_LOSSES);
  }

  /**
   * A backend without graph models lists the layers without the graph ops; one without recurrent
   * models without {@code lstm}.
   */
  @Test
  void withoutGraphOrRecurrentModelsTheirLayersAreNotListed() {
    List<String> sequential = all().subList(0, all().size() - 4);
    assertEquals(sequential, BackendDescription.layers(false, false));
    assertEquals(sequential, BackendDescription.SEQUENTIAL_LAYERS);
    assertEquals(all(), BackendDescription.layers(true, true));
    assertEquals(all().subList(0, all().size() - 1), BackendDescription.layers(true, false));
    List<String> noGraphs = new ArrayList<>(sequential);
    noGraphs.add("lstm");
    assertEquals(noGraphs, BackendDescription.layers(false, true));
    BackendDescription d = new BackendDescription("F 1", "none", List.of("cpu"), "cpu",
        all(), BackendDescription.ALL_LOSSES);
    SpecBackend chainsOnly = new SpecBackend() {
      @Override
      public String name() {
        return "chains";
      }

      @Override
      public Set<io.github.sgdph.tensor.DType> supportedDTypes() {
        return Set.of();
      }

      @Override
      public SpecModel build(ModelSpec spec, List<NamedArray> parameters,
          io.github.sgdph.tensor.DType dtype) {
        throw new UnsupportedOperationException("not built in this test");
      }
    };
    assertEquals(sequential, chainsOnly.describe().layers());
    BackendDescription s = d.restrictedTo(chainsOnly); // whatever d itself says
    assertEquals(sequential, s.layers());
    assertEquals(List.of("F 1", "none", List.of("cpu"), "cpu", BackendDescription.ALL_LOSSES),
        List.of(s.framework(), s.nativeLibrary(), s.devices(), s.device(), s.losses()));
  }

  private static List<String> all() {
    return BackendDescription.ALL_LAYERS;
  }
}
