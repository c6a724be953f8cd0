package io.github.sgdph.spark;

import io.github.sgdph.cases.json.CaseJson;
import io.github.sgdph.curvature.Curvature;
import io.github.sgdph.curvature.Objective;
import io.github.sgdph.model.SpecBackend;
import io.github.sgdph.model.SpecModel;
import io.github.sgdph.param.ParameterVector;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One partition's model replica on an executor: the model (any backend), the partition's
 * samples, the objectives of recent selections and the open curvatures of recent products,
 * which keep their forward pass between the jobs of one CG loop. Used under its own lock, by
 * one task at a time.
 */
final class Replica implements AutoCloseable {
  /** Open curvatures kept per replica (the step's batch and its curvature sub-batch, ...). */
  static final int CURVATURES = 4;
  /** Objectives (selections) kept per replica. */
  static final int OBJECTIVES = 8;

  final SpecModel model;
  private final Objective full;
  private long version = -1;
  private final Map<Long, Objective> objectives = new LinkedHashMap<>(16, 0.75f, true);
  private final Map<Long, Curvature> curvatures = new LinkedHashMap<>(16, 0.75f, true);

  Replica(Payloads.ReplicaSpec spec, Shard shard) {
    this.model = SpecBackend.find(spec.backend())
        .build(CaseJson.readModel(spec.specJson()), Payloads.Entry.toArrays(spec.initial()),
            spec.dtype());
    this.full = model.objective(shard.toBatch());
  }

  /** Sets the parameters of {@code version} unless they are set already. */
  void ensureParameters(long v, double[] values) {
    if (version == v) {
      return;
    }
    closeCurvatures(); // stale once the parameters change
    version = -1;
    try (ParameterVector p =
        ParameterVector.fromArray(model.algebra(), model.layout(), values)) {
      model.setParameters(p);
    }
    version = v;
  }

  Objective objective(long selectionId, int[] local) {
    if (local == null) {
      return full;
    }
    Objective o = objectives.get(selectionId);
    if (o == null) {
      o = full.subBatch(local);
      objectives.put(selectionId, o);
      if (objectives.size() > OBJECTIVES) {
        Iterator<Long> it = objectives.keySet().iterator();
        it.next();
        it.remove();
      }
    }
    return o;
  }

  Curvature curvature(long id, Objective o) {
    Curvature c = curvatures.get(id);
    if (c == null) {
      c = o.curvature();
      curvatures.put(id, c);
      if (curvatures.size() > CURVATURES) {
        Iterator<Map.Entry<Long, Curvature>> it = curvatures.entrySet().iterator();
        it.next().getValue().close();
        it.remove();
      }
    }
    return c;
  }

  /** Whether the curvature {@code id} is open here (its forward pass kept). */
  boolean hasCurvature(long id) {
    return curvatures.containsKey(id);
  }

  /** Closes the curvature {@code id} if it is open here. */
  void dropCurvature(long id) {
    Curvature c = curvatures.remove(id);
    if (c != null) {
      c.close();
    }
  }

  private void closeCurvatures() {
    curvatures.values().forEach(Curvature::close);
    curvatures.clear();
  }

  @Override
  public synchronized void close() {
    closeCurvatures();
    objectives.clear();
    model.close();
  }
}
