/** Settings every fast-check property of the suite shares. */

/**
 * Reproducible when asked, random otherwise (fast-check prints the seed of a failing run): replay
 * a run with FUZZ_SEED=<seed>, and FUZZ_PATH=<path> to jump straight to its counterexample.
 */
export const FC_PARAMS = {
  includeErrorInReport: true,
  ...(process.env.FUZZ_SEED ? { seed: Number(process.env.FUZZ_SEED) } : {}),
  ...(process.env.FUZZ_PATH ? { path: process.env.FUZZ_PATH } : {}),
};
