// Package index answers "which stored vectors lie within distance r of this
// one?" (a range search) and the usual k-nearest question, over face
// descriptors (float32 vectors of any fixed dimension; 128 for dlib).
//
// The exclusion package keeps its enrolled faces in an Index in ModeExact
// by default (a Flat): an opt-out filter must never miss an enrolled face
// within its radius. Its IndexConfig can set ModeAuto, where a graph built
// in the background answers above a size; HNSW and persistence otherwise
// serve search services and the benchmarks (examples/bench,
// BENCHMARKS.md).
//
// # Basics
//
// Three types share one method set (see Searcher): Add, Delete, Len, Dim,
// Search (k nearest), Within (every id within r, nearest first),
// WithinBatch (many queries at once) and Exact.
//
//   - Flat is exact: vectors in one contiguous float32 slice, SIMD distances
//     (github.com/viterin/vek), scans split over all cores from
//     FlatConfig.ParallelMin vectors, and batched range queries that scan the
//     data block by block so each cache-resident block serves every query of
//     the batch.
//   - HNSW is approximate: the hierarchical navigable small-world graph of
//     Malkov & Yashunin (2018) with the neighbour-selection heuristic,
//     M0 = 2M, and a separate EfConstruction. Its Within is a true range
//     search: layer 0 keeps expanding every candidate within
//     r·(1+RangeSlack), so it stops on distance rather than on a fixed k.
//     Internal ids are uint32; neighbour lists are fixed-size arrays. A
//     neighbour list's distances are computed in one AVX2+FMA kernel that
//     prefetches the rows ahead of the one it sums, and the vectors and
//     layer-0 lists ask Linux for transparent huge pages (MADV_HUGEPAGE):
//     graph search reads them at random over hundreds of megabytes, where
//     4 KiB pages add a TLB miss to nearly every cache miss.
//     AddBatch builds on all cores (a lock per neighbour list, striped, as
//     in hnswlib) while queries go on.
//   - Index switches between them by size: exact up to Config.ExactUpTo
//     vectors (DefaultExactUpTo, about 1 M), HNSW above, and Exact and
//     Status report which one answers. The graph is built in the
//     background from a copy of the rows while the Flat answers exactly;
//     changes made meanwhile are recorded and replayed onto the graph just
//     before it replaces the Flat. Wait waits for a build, Err reports a
//     failed one (the Flat answers on), Close stops one.
//
// Distances are Euclidean (not squared), as in embed.Descriptor.Distance.
// Queries do not allocate on the hot path: per-query state (heaps, a
// visited-generation array instead of a map) lives in pooled scratch space.
//
// Indexes persist with WriteFile and load with Load, LoadFlat or LoadHNSW:
// a versioned format with a magic, the dimension, counts, and a CRC32-C per
// section, written to a temporary file, fsynced, renamed, and the directory
// fsynced. A missing, truncated or corrupt file is an error, never an empty
// index. Loading reads each section in one piece into its final slice
// (little-endian, no per-element decoding) and checks vectors, links and
// ids on both cores beside the reads.
//
// # Caveats
//
// HNSW may miss neighbours: a decision taken on an answer with Exact() ==
// false is not guaranteed, which is why exclusion uses Flat. BENCHMARKS.md
// has the measured recall and the command that measures it.
//
// Deletes in HNSW leave tombstones: never returned, still used to navigate,
// still occupying memory until the index is rebuilt (write and load do not
// compact; build a new index from the live vectors to reclaim space).
//
// Writers exclude readers (one RWMutex per index), except HNSW.AddBatch
// with several workers, which connects its nodes under the read lock so
// that queries continue (a node of the batch is found once connected).
// Add, Delete, and a writer waiting behind a batch still hold queries up.
// In ModeAuto the Add that crosses ExactUpTo starts the graph's build in
// the background: queries go on, answered exactly by the Flat; writers
// wait while the rows are copied (two memory moves) and, at the swap,
// while the last recorded changes are replayed. The build takes all cores
// (AddBatch) and, at its peak, memory for the Flat, the copy and the graph
// together; Status reports its progress. A failed build is not retried:
// the Flat answers on. An Index that switched to HNSW does not switch back
// when it shrinks.
//
// Flat's range queries (Within, WithinBatch) scan an int8 shadow of the rows
// (one byte per number plus a per-row header, beside the four bytes per
// number of float32) and compute the float32
// distance only for rows a rounded-up error bound cannot rule out, so the
// answer is the float32 scan's. The shadow's step is fixed by the rows present
// when it was last derived (LoadFlat derives it afresh): vectors added later
// far outside that range are clamped and cost speed, never correctness.
// Search (k nearest) still scans float32. The kernels use AVX2 when the CPU
// has it and portable Go otherwise.
//
// Huge pages are advice: with THP set to "never" (or outside Linux) HNSW
// works the same, slower at a million vectors and more. With THP "madvise"
// (Debian's default) or "always", the HNSW's memory is taken and given back
// in 2 MiB pages. Memory the Go heap reuses (already touched in 4 KiB pages)
// keeps its small pages until the kernel's khugepaged collapses them.
//
// Batched and parallel scans start goroutines, which allocate a little per
// call; single queries on one goroutine do not.
//
// # Security Considerations
//
// Vectors and queries come from face descriptors of untrusted images: a
// wrong length, NaN or ±Inf is refused with an error (ErrDim,
// ErrInvalidVector), never stored or searched. A file given to Load,
// LoadFlat or LoadHNSW may be hostile: its sizes are checked against the
// file's length before anything is allocated, every section against its
// CRC32-C, and vectors, links and ids against their bounds, so a bad file
// is an error (FuzzLoad), never a panic or an index that answers wrongly.
package index
