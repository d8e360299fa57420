/**
 * What `make bench ARGS=--pipeline` measures and writes to results/pipeline-*.json: series per
 * pod, bytes per export, collector CPU per point, Thanos Receive memory per series. Types only.
 */
import type { SeriesFit, SeriesMeasurement } from './capacityModel';

export interface Lever {
  name: string;
  /** Series of the pod if the collector's allow-list dropped this (merged by aggregate_on_attributes). */
  series: number;
}

export interface ShapeFigures extends SeriesMeasurement {
  label: string;
  calls: number;
  byFamily: Record<string, number>;
  /** Histograms (label sets of a _count series), for the bucket levers. */
  histograms: number;
  levers: Lever[];
  /** The last OTLP/HTTP export body of the pod, as sent. */
  otlp: { bytes: number; gzipBytes: number; encoding: string; points: number; exportsSeen: number };
  /** The writer's remote write to Prometheus over a few exports (snappy-compressed protobuf). */
  remoteWrite: { bytes: number; samples: number; bytesPerSample?: number; samplesPerExport?: number };
}

export interface TierLevel {
  targetPointsPerS: number;
  /** Points the receiving tier accepted per second over the measured window. */
  pointsPerS: number;
  pods: number;
  /** CPU of each process over the window, ms per s (= millicores). */
  millicores: Record<string, number>;
  cpuMsPer1kPoints: Record<string, number | undefined>;
  peakRssMiB: Record<string, number>;
  remoteWriteBytesPerS: number;
  failedSends: number;
  skippedSends: number;
}

export interface TierFigures {
  name: string;
  levels: TierLevel[];
  /** Least-squares millicores = idle + slope x (points/s / 1000) over the levels, per process. */
  fit: Record<string, { idleMillicores: number; cpuMsPer1kPoints: number }>;
}

export interface ReceiveReading {
  targetSeries: number;
  pods: number;
  /** prometheus_tsdb_head_series of the Receive's tenant. */
  headSeries: number;
  heapInuseBytes: number;
  rssBytes: number;
}

export interface ReceiveFigures {
  seriesPerPod: number;
  idle: ReceiveReading;
  readings: ReceiveReading[];
  heapBytesPerSeries?: number;
  rssBytesPerSeries?: number;
}

export interface PipelineResults {
  meta: Record<string, string | number>;
  shapes: ShapeFigures[];
  seriesModel?: SeriesFit;
  /** The shape replayed for the collector and Receive measurements. */
  replayedShape?: string;
  collector: TierFigures[];
  receive?: ReceiveFigures;
  problems: string[];
}
