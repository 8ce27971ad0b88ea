export { GaterMetrics, CALL_DURATION_BUCKETS_S, type GaterMetricsInit } from './gater-metrics.ts';
export { ClusterMetrics, type ClusterSnapshot } from './cluster-metrics.ts';
