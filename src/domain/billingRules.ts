// Billing rules: how a record's bytes, polls, connection averages and attributes are computed
// from the facts. Every change to them is a new version here and a heading of its own in the
// CHANGELOG ("Billing rule changes"). Each record carries the version that made it (the audit
// shows it), and a correction that re-rolls a record billing has seen under another version is
// a new revision, even with the same figures: an upgrade never changes billed records silently.

export interface BillingRule {
  version: number;
  /** The lbmeter release (or the unreleased change) that brought it. */
  since: string;
  summary: string;
}

export const BILLING_RULES: readonly BillingRule[] = [
  {
    version: 0,
    since: 'lbmeter 0.1.0 and earlier',
    summary: 'records made before rule versions were recorded (migration 014); their rule is the CHANGELOG of the version that made them',
  },
  {
    version: 1,
    since: 'unreleased (after 0.1.0)',
    summary: 'readings of one HAProxy process stamped within 15 s are ordered by their counters where that avoids a reset (a clear of the counters is a reset at its place); late data is applied as its in-order arrival would have been (CHANGELOG, Billing rule changes)',
  },
];

/** The rule this lbmeter computes records by. */
export const BILLING_RULE_VERSION: number = BILLING_RULES.at(-1)!.version;
