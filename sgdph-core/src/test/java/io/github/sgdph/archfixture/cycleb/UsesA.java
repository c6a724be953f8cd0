package io.github.sgdph.archfixture.cycleb;

import io.github.sgdph.archfixture.cyclea.UsesB;

/** Test fixture only: the other half of a package cycle. */
public final class UsesA {
  public int size(UsesB b) {
    return b.hashCode();
  }
}
