// Every number the verdict depends on, in one place, with the reason for it.
// Rules read these; nothing else in the analysis hides a magic constant.
//
// Reference workloads the numbers were chosen against (12 s runs, 0.5 s samples):
// a leak of 1–2 MB/s; a slow leak of 20–50 KB/s beside ±5 MB of churn; a table
// of ~20 MB filled in the first 2–4 s, then flat; a ~6 MB batch buffer flushed
// every 1–3 s; ~10 MB of transient request data.

export const THRESHOLDS = Object.freeze({
  // ------------------------------------------------------------ enough data?
  /** Fewer samples cannot show a trend against noise (a line through 5 points is a guess). */
  minSamples: 6,
  /** Seconds: anything shorter is mostly interpreter start-up. */
  minDurationSec: 3,
  /** A shorter run is judged when its growth rose in (nearly) every interval by this many times
   * the noise and the least growth that counts: the evidence scales with the growth. */
  steadyGrowthMultiple: 20,

  // ------------------------------------------------------------ warm-up
  /** Share of the run ignored at the start (imports, first requests filling caches). */
  warmupFraction: 0.1,
  /** Seconds: the warm-up never hides more than this of a long run. */
  warmupMaxSec: 60,

  // ------------------------------------------------------------ slicing
  /**
   * The window is cut into at most this many slices; the floor (minimum) of each slice is
   * the robust level of that slice, and 13 slices give the "grew in k of 12 intervals"
   * count. More slices add noise to each floor, fewer lose the shape of the curve.
   */
  maxSlices: 13,

  // ------------------------------------------------------------ how much growth matters
  /**
   * Bytes of retained growth below which a stack is never called a leak. A 20 KB/s leak
   * grows 240 KB in a 12 s run; interpreter-internal caches (interned names, code
   * objects) grow a few KB.
   */
  minGrowthBytes: 128 * 1024,
  /**
   * A sampling collector's estimate of a site with B live bytes is off by about
   * sqrt(B * sampleBytes); growth must exceed this many such errors.
   */
  samplingZ: 3,
  /** A sampling collector cannot see growth smaller than this many sampled allocations. */
  samplingMinSamples: 3,
  /** Growth must exceed this many standard deviations of the series' own noise. */
  noiseMultiple: 3,
  /**
   * Mann–Kendall z-score the slice floors must reach to count as a trend (one-sided
   * p ≈ 0.6%). Thirteen strictly rising floors give z ≈ 4.7; six give 2.6.
   */
  trendZ: 2.5,
  /** Below this z a rise is called noise outright; between it and trendZ the rules stay unsure. */
  doubtZ: 1.5,
  /** Bytes: the smallest level change the rules look at (allocator rounding, small dict resizes). */
  toleranceBytes: 32 * 1024,
  /** An interval "grew" when its floor rose by at least this share of the mean rise per interval. */
  grewShare: 0.25,
  /** Sustained growth: each half of the window holds at least this share of the retained growth. */
  spreadShare: 0.15,
  /**
   * Seconds: in a long run, growth that began late but has gone on this long, rising in
   * at least `longGrowthIntervals` intervals, is sustained (a service that starts leaking
   * after hours must not be told to run longer).
   */
  longGrowthSec: 600,
  longGrowthIntervals: 4,

  // ------------------------------------------------------------ growth that stops
  /**
   * A plateau is flat within this many σ of jitter: the floors of a dozen slices of pure
   * noise span about 3–4 σ, so a tighter band breaks real plateaus at their noise dips.
   */
  plateauNoiseMultiple: 4,
  /** A plateau must cover at least this share of the window to call the growth bounded. */
  plateauFraction: 0.3,
  /** A flat end shorter than plateauFraction but longer than this share makes the rules unsure. */
  plateauBriefFraction: 0.15,
  /** Seconds: a plateau shorter than this is too few samples to trust. */
  plateauMinSec: 2,
  /** A step-wise leak pauses between steps; a plateau must outlast the longest pause by this factor. */
  plateauPauseFactor: 1.5,
  /** Growth before a plateau must be this many times faster than any creep during it. */
  plateauContrast: 3,
  /** A "rise, then flat" fit must leave at most this share of a straight line's squared residuals. */
  hingeFitRatio: 0.5,

  // ------------------------------------------------------------ growth only at the end
  /** "The end" of the window: its last quarter. */
  endFraction: 0.25,
  /** Growth before the end may be at most this share of the growth at the end. */
  endEarlyShare: 0.2,

  // ------------------------------------------------------------ sawtooth
  /** A drop (batch flush, cache clear) is a fall of at least this share of the series' range. */
  dropFraction: 0.5,
  /**
   * A trough is sampled somewhere in the first sample interval after a flush, so troughs
   * scatter by up to one sample's rise; they may differ by this many typical rises.
   */
  troughStepFactor: 1.5,
  /** The unfinished last cycle may overshoot the highest earlier peak by this share. */
  peakOvershoot: 0.25,

  // ------------------------------------------------------------ native growth
  /**
   * RSS per byte of Python heap: pymalloc rounds sizes up, keeps partly used pools and
   * arenas, and malloc adds headers; RSS growing up to this factor faster than the
   * heap still "tracks" the heap.
   */
  heapToRss: 1.5,
  /**
   * RSS bytes per live traced block that tracemalloc costs beyond what it reports as
   * overhead: each sample's snapshot builds a tuple per live block, and the allocator
   * keeps that peak. Programs that keep many small objects see RSS grow several times
   * faster than their heap (measured: ~100–150 B per block on CPython 3.11).
   */
  tracemallocBytesPerBlock: 256,
  /** Bytes of RSS growth not explained by the heap before calling it native (page-cache and allocator noise). */
  nativeMinBytes: 4 * 1024 * 1024,
  /** The unexplained part must be at least this share of the RSS growth. */
  nativeMinShare: 0.5,

  // ------------------------------------------------------------ freed only at exit
  /**
   * Samples this many intervals before the shutdown mark are not "at work": a cleanup the
   * main code runs last (a `with` block around the main loop) ends just before the main
   * thread does, and the sample before the mark may already show it (analysis/shutdown.ts).
   */
  exitGraceIntervals: 1.5,
  /** Seconds: the grace never exceeds this, however long the interval. */
  exitGraceMaxSec: 2,
  /** A leak is "freed only at exit" when at least this share of its growth went after the mark. */
  exitFreedShare: 0.5,
  /**
   * A shutdown that lasted at least this many seconds, and this share of the run, is judged
   * apart from the work before it (its flat memory is not a plateau): a search before the
   * cleanup under tracemalloc, threads being joined, slow atexit handlers.
   */
  exitTailMinSec: 2,
  exitTailShare: 0.1,

  // ------------------------------------------------------------ reporting
  /**
   * Bytes: growth spread over stacks too small to track one by one is only called a leak
   * above this, because the "other" bucket also moves when stacks start being tracked.
   */
  otherMinGrowthBytes: 1024 * 1024,
  /** Unexplained growth below this does not make a process inconclusive; it is mentioned only. */
  inconclusiveMinBytes: 1024 * 1024,
  maxLeaks: 10,
  maxSites: 100_000,
  /** Points per chart series; charts are min/max-decimated to this. */
  seriesMaxPoints: 1000,
  /** Differences used to estimate a series' noise (subsampled evenly beyond this). */
  noiseMaxDiffs: 1024,
  /** Points used for a Theil–Sen slope (evenly subsampled beyond this; its cost is quadratic). */
  slopeMaxPoints: 64,
});

export type Thresholds = typeof THRESHOLDS;
