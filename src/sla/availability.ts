// The one place where evidence becomes availability (series.ts, pairs.ts, maintenance.ts, uptime.ts; this
// module gathers them). The SLA report and the status page's uptime bars both
// call these functions, so they agree to the last shown digit (I8). Pure: no clock, no I/O.
//
// Exported API
// ------------
// Series (one per component = service × region, one sample per UTC minute):
//   MINUTE_MS, DAY_MS, INTERVAL_MINUTES (= 5)
//   MinuteState { UNKNOWN: 0, UP: 1, DEGRADED: 2, DOWN: 3 }, type MinuteStateCode
//   interface MinuteSeries { startMs; states: Uint8Array; requests?: Uint32Array; failures?: Uint32Array }
//   emptySeries(fromMs, toMs, { requests? })           all-unknown series over [fromMs, toMs), minute-aligned
//   seriesEndMs(series)                                 first ms after the last minute of the series
//   componentId(service, region) -> "service/region"   the id incidents and the status page use
//   interface SeriesOptions { freshForMs; downShare?; partialShare?; degradedLatencyMs?; cells? }
//   seriesOptionsFromRules(rules)                        SeriesOptions from the status page rules in etape.yaml
//   seriesFromObservations(observations, fromMs, toMs, opts) -> MinuteSeries   (one component)
//   seriesByComponent(observations, fromMs, toMs, opts) -> Map<componentId, MinuteSeries>
//   combineEither(a, b, measure = 'minutes', maintenance?) -> MinuteSeries   geo-redundant pair: available when
//                                                                 either region is
// Exclusions:
//   interface MaintenanceWindow { fromMs; toMs; id? }
//   announcedMaintenance(incidents, component, { minNoticeMs? }) -> MaintenanceWindow[]
//   rejectedMaintenance(incidents, component)          maintenance that is NOT excluded, and why
// Figures:
//   type Measure = 'minutes' | 'requests'
//   interface UptimeOptions { measure; maintenance?; nowMs?; sinceMs? }   sinceMs: measurement start (I8)
//   interface Uptime { percent, minutes, upMinutes, degradedMinutes, downMinutes, unknownMinutes,
//                      maintenanceMinutes, futureMinutes, unmonitoredMinutes, intervals, errorRateSum, requests, failures, … }
//   minuteAvailability(series, fromMs, toMs, opts?) -> Uptime     compute-style: share of good minutes
//   requestAvailability(series, fromMs, toMs, opts?) -> Uptime    storage-style: 100% − mean 5-minute error rate
//   windowUptime(series, fromMs, toMs, opts) -> Uptime            dispatches on opts.measure
//   dailyUptime(series, fromDayMs, days, opts) -> DayUptime[]     per UTC day, same formula (DayUptime = Uptime + day)
//   sumUptime(parts) -> Uptime                                    adds days (or any disjoint windows) exactly
//   badPeriods(series, fromMs, toMs, { maintenance?, nowMs? }) -> BadPeriod[] { fromMs, toMs, state }
//                                                                 runs of DOWN / UNKNOWN minutes
//   measuredFrom(fromMs, toMs, sinceMs) -> first measured minute of a window
//   formatPercent(p, digits = 2) -> "99.95%"                      rounds DOWN: never shows 100% after downtime
//   utcDay(ms) -> "YYYY-MM-DD", startOfUtcDay(ms)
//
// Rules (docs/sla.md says the same in prose):
// - A minute [t, t+60s) of one evidence stream (one cell × one source) takes the worst real verdict measured in
//   it (fail > inconclusive or slow > pass); with none measured in it, the latest earlier observation if it is
//   still fresh at the minute's end (at + freshFor >= t + 60s). An `error` verdict is not a measurement: alone it
//   leaves the stream unknown. A cell's state is the worst of its known streams; unknown if none is known.
// - A component minute is DOWN when some cell is down and (down + unknown cells) / cells >= downShare; UNKNOWN
//   when no cell is known, or unknown cells alone reach downShare; DEGRADED (counts as up) short of that when
//   some cell is down or degraded, or unknown cells reach partialShare; UP otherwise. Cells are counted per UTC
//   day: `opts.cells` plus those with evidence that day (so a month built at once equals it built day by day).
// - A geo-redundant pair (combineEither) takes the better region wholesale: per minute by state for the minute
//   measure, per 5-minute interval by error rate for the request measure; never worse than either region.
// - Time before measurement began (UptimeOptions.sinceMs: a component's first evidence or configured start, or
//   a customer's contract) is neither up nor down: those minutes are `unmonitored` and not counted (I8).
// - Minute measure: percent = 100 × good / counted, good = UP or DEGRADED; DOWN and UNKNOWN count against the
//   provider. Minutes inside an announced maintenance window (entirely inside) are not counted; minutes at or
//   after `nowMs` are not counted (future). Nothing counted -> 100.
// - Request measure: the window is cut into 5-minute UTC intervals. In each, minutes that have request counts
//   contribute their pooled error rate (failures / requests over those minutes); a minute without request
//   counts contributes 1 if DOWN or UNKNOWN (no evidence counts against the provider) and 0 if UP/DEGRADED
//   (evidence says it served, nobody asked: like a 0 % error rate). The interval's error rate is the mean over
//   its counted minutes; percent = 100 − 100 × mean of the interval error rates. Intervals fully in
//   maintenance or the future are not counted.
// - Both measures report the requests and failures of the counted minutes, a minute's failures capped at its
//   requests (failures without requests are not counted).
export * from './series.js';
export * from './pairs.js';
export * from './maintenance.js';
export * from './uptime.js';
