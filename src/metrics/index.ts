export { GaterMetrics, CALL_DURATION_BUCKETS_S, type GaterMetricsInit } from './gater-metrics.ts';
