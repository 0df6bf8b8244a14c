/** What each benchmark section hands back to the report. */
export interface TargetCheck {
  readonly name: string;
  readonly figure: string;
  readonly met: boolean;
}

export interface Section {
  readonly title: string;
  /** Markdown: how it was measured, the figures, the baseline, the ratio. */
  readonly body: string;
  readonly targets: readonly TargetCheck[];
}

/** Full runs for BENCHMARKS.md; `--quick` for a smoke run that only shows the harness works. */
export interface Settings {
  readonly quick: boolean;
  readonly warmupSeconds: number;
  readonly runSeconds: number;
  readonly runs: number;
  readonly xaddRequests: number;
  readonly dispatchSamples: number;
  readonly scaleRequests: number;
  readonly scaleTargets: number;
}

export const FULL: Settings = {
  quick: false,
  warmupSeconds: 3,
  runSeconds: 5,
  runs: 5,
  xaddRequests: 100_000,
  dispatchSamples: 300,
  scaleRequests: 1000,
  scaleTargets: 50,
};

export const QUICK: Settings = {
  quick: true,
  warmupSeconds: 1,
  runSeconds: 1,
  runs: 2,
  xaddRequests: 10_000,
  dispatchSamples: 30,
  scaleRequests: 200,
  scaleTargets: 10,
};
