/**
 * The foundation SDK publishes its modules only through package.json `exports` subpaths
 * (`@grafana/grafana-foundation-sdk/dashboard`, ...). This project compiles with
 * `moduleResolution: node`, which ignores `exports`, so TypeScript would not find their types.
 * These declarations point each subpath at the typings under `dist/`; at run time Node and jest
 * resolve the subpaths through `exports` as usual.
 */
declare module '@grafana/grafana-foundation-sdk/cog' {
  export * from '@grafana/grafana-foundation-sdk/dist/cog';
}
declare module '@grafana/grafana-foundation-sdk/common' {
  export * from '@grafana/grafana-foundation-sdk/dist/common';
}
declare module '@grafana/grafana-foundation-sdk/dashboard' {
  export * from '@grafana/grafana-foundation-sdk/dist/dashboard';
}
declare module '@grafana/grafana-foundation-sdk/prometheus' {
  export * from '@grafana/grafana-foundation-sdk/dist/prometheus';
}
declare module '@grafana/grafana-foundation-sdk/timeseries' {
  export * from '@grafana/grafana-foundation-sdk/dist/timeseries';
}
declare module '@grafana/grafana-foundation-sdk/stat' {
  export * from '@grafana/grafana-foundation-sdk/dist/stat';
}
declare module '@grafana/grafana-foundation-sdk/bargauge' {
  export * from '@grafana/grafana-foundation-sdk/dist/bargauge';
}
declare module '@grafana/grafana-foundation-sdk/piechart' {
  export * from '@grafana/grafana-foundation-sdk/dist/piechart';
}
