/**
 * Panel builders shared by the dashboards: each takes a plain spec (title, description, unit,
 * PromQL targets) and returns a foundation-SDK panel wired to the `$datasource` variable.
 */
import * as bargauge from '@grafana/grafana-foundation-sdk/bargauge';
import type { Builder, Dataquery } from '@grafana/grafana-foundation-sdk/cog';
import * as common from '@grafana/grafana-foundation-sdk/common';
import {
  ThresholdsConfigBuilder,
  ThresholdsMode,
  type DataSourceRef,
  type Panel,
  type Threshold,
  type ThresholdsConfig,
} from '@grafana/grafana-foundation-sdk/dashboard';
import * as piechart from '@grafana/grafana-foundation-sdk/piechart';
import { DataqueryBuilder } from '@grafana/grafana-foundation-sdk/prometheus';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import { DATASOURCE_REF } from './datasource';

/** Grafana unit ids used by the dashboards. */
export const UNIT = {
  seconds: 's',
  requestsPerSecond: 'reqps',
  /** Plain numbers (tokens/s, points/s, counts); the title says what is counted. */
  count: 'short',
  usd: 'currencyUSD',
  ratio: 'percentunit',
} as const;

export type Unit = (typeof UNIT)[keyof typeof UNIT];

export interface Target {
  expr: string;
  /** Grafana legend template, e.g. `{{gen_ai_provider_name}}`. */
  legend?: string;
}

export interface PanelSpec {
  title: string;
  description: string;
  unit: Unit;
  targets: readonly Target[];
  /** Grid columns out of 24. */
  width: number;
  height?: number;
  min?: number;
  max?: number;
  /** Colour steps from the lowest value up; the first has `value: null`. */
  thresholds?: readonly Threshold[];
}

/** The builder methods every panel kind shares. */
interface CommonPanelBuilder extends Builder<Panel> {
  title(title: string): this;
  description(description: string): this;
  datasource(datasource: DataSourceRef): this;
  unit(unit: string): this;
  span(width: number): this;
  height(height: number): this;
  min(min: number): this;
  max(max: number): this;
  thresholds(thresholds: Builder<ThresholdsConfig>): this;
  withTarget(target: Builder<Dataquery>): this;
}

const DEFAULT_HEIGHT = 8;
const STAT_HEIGHT = 4;
const REF_IDS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** Sensible colours when a spec gives none: neutral, no red for a plain number. */
const NEUTRAL_THRESHOLDS: readonly Threshold[] = [{ value: null, color: 'green' }];

function target(spec: Target, index: number, instant: boolean): Builder<Dataquery> {
  const query = new DataqueryBuilder()
    .datasource(DATASOURCE_REF)
    .refId(REF_IDS.charAt(index))
    .expr(spec.expr)
    .legendFormat(spec.legend ?? '__auto');
  return instant ? query.instant() : query.range();
}

function withCommon<B extends CommonPanelBuilder>(builder: B, spec: PanelSpec, instant: boolean, height: number): B {
  builder
    .title(spec.title)
    .description(spec.description)
    .datasource(DATASOURCE_REF)
    .unit(spec.unit)
    .span(spec.width)
    .height(spec.height ?? height)
    .thresholds(new ThresholdsConfigBuilder().mode(ThresholdsMode.Absolute).steps([...(spec.thresholds ?? NEUTRAL_THRESHOLDS)]));
  if (spec.min !== undefined) builder.min(spec.min);
  if (spec.max !== undefined) builder.max(spec.max);
  spec.targets.forEach((query, index) => builder.withTarget(target(query, index, instant)));
  return builder;
}

/** A graph over time (range queries). */
export function timeSeriesPanel(spec: PanelSpec): Builder<Panel> {
  const builder = new timeseries.PanelBuilder()
    .lineWidth(1)
    .fillOpacity(10)
    .showPoints(common.VisibilityMode.Never)
    .spanNulls(false)
    .legend(new common.VizLegendOptionsBuilder().showLegend(true).displayMode(common.LegendDisplayMode.List).placement(common.LegendPlacement.Bottom))
    .tooltip(new common.VizTooltipOptionsBuilder().mode(common.TooltipDisplayMode.Multi).sort(common.SortOrder.Descending));
  return withCommon(builder, spec, false, DEFAULT_HEIGHT);
}

/** One big number: the latest value of an instant query. */
export function statPanel(spec: PanelSpec): Builder<Panel> {
  const builder = new stat.PanelBuilder()
    .graphMode(common.BigValueGraphMode.None)
    .colorMode(common.BigValueColorMode.Value)
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false));
  return withCommon(builder, spec, true, STAT_HEIGHT);
}

/** A ranking (top-k): one horizontal bar per series of an instant query. */
export function barGaugePanel(spec: PanelSpec): Builder<Panel> {
  const builder = new bargauge.PanelBuilder()
    .orientation(common.VizOrientation.Horizontal)
    .displayMode(common.BarGaugeDisplayMode.Gradient)
    .showUnfilled(true)
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false));
  return withCommon(builder, spec, true, DEFAULT_HEIGHT);
}

/** Shares of a whole: one slice per series of an instant query. */
export function pieChartPanel(spec: PanelSpec): Builder<Panel> {
  const builder = new piechart.PanelBuilder()
    .pieType(piechart.PieChartType.Donut)
    .displayLabels([piechart.PieChartLabels.Percent])
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false))
    .legend(
      new piechart.PieChartLegendOptionsBuilder()
        .showLegend(true)
        .displayMode(common.LegendDisplayMode.Table)
        .placement(common.LegendPlacement.Right)
        .values([piechart.PieChartLegendValues.Value, piechart.PieChartLegendValues.Percent]),
    );
  return withCommon(builder, spec, true, DEFAULT_HEIGHT);
}
