/*
 * engine/engine.h - the composition root's one export besides
 * aemp_node_new: the seam of a full node (network and global service), for
 * tests that build a node from an engine configuration themselves.
 */
#ifndef ENGINE_ENGINE_H
#define ENGINE_ENGINE_H

#include "engine/core/seam.h"

extern const struct eng_seam eng_seam_full;

#endif /* ENGINE_ENGINE_H */
