package io.github.sgdph.archfixture.cyclea;

import io.github.sgdph.archfixture.cycleb.UsesA;

/** Test fixture only: one half of a package cycle (cyclea imports cycleb, which imports it). */
public final class UsesB {
  public int size(UsesA a) {
    return a.hashCode();
  }
}
