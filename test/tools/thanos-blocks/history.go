package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"os"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"
)

// History is the file `write` reads: series described by how they grow rather than sample by
// sample, so three days of a fleet stay a small file. test/helpers/syntheticHistory.ts writes it.
type History struct {
	StartMs        int64             `json:"startMs"`
	StepMs         int64             `json:"stepMs"`
	ExternalLabels map[string]string `json:"externalLabels"`
	Tracks         []Track           `json:"tracks"`
	Series         []Series          `json:"series"`
}

// Track is what one writer process counted (its calls, or its failed exports): one sample per
// entry of Increments, from step FirstStep on. A restart is a new track; when the restarted process
// keeps its labels, its series carry on from the earlier track's, starting again from 0.
type Track struct {
	FirstStep  int   `json:"firstStep"`
	Increments []int `json:"increments"`
}

// Series is one label set on one track; a label set on several tracks must list them in time
// order, without overlap. A counter is PerIncrement times the track's cumulative count; a gauge is
// Base plus PerIncrement times that step's increment, never below zero (a remaining quota).
type Series struct {
	Labels       map[string]string `json:"labels"`
	Track        int               `json:"track"`
	Kind         string            `json:"kind"`
	PerIncrement float64           `json:"perIncrement"`
	Base         float64           `json:"base"`
}

func readHistory(path string) (*History, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var h History
	if err := json.Unmarshal(data, &h); err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	if h.StepMs <= 0 || len(h.Series) == 0 || len(h.ExternalLabels) == 0 {
		return nil, fmt.Errorf("%s: stepMs, series and externalLabels are required", path)
	}
	for i, s := range h.Series {
		if s.Track < 0 || s.Track >= len(h.Tracks) {
			return nil, fmt.Errorf("%s: series %d names track %d of %d", path, i, s.Track, len(h.Tracks))
		}
		if s.Kind != "counter" && s.Kind != "gauge" {
			return nil, fmt.Errorf("%s: series %d has kind %q (counter or gauge)", path, i, s.Kind)
		}
	}
	return &h, nil
}

// values expands one series into its samples, calling add for each in time order.
func (h *History) values(s Series, add func(t int64, v float64) error) error {
	track := h.Tracks[s.Track]
	cumulative := 0
	for i, inc := range track.Increments {
		cumulative += inc
		v := s.PerIncrement * float64(cumulative)
		if s.Kind == "gauge" {
			v = math.Max(0, s.Base+s.PerIncrement*float64(inc))
		}
		if err := add(h.StartMs+int64(track.FirstStep+i)*h.StepMs, v); err != nil {
			return err
		}
	}
	return nil
}

type writeStats struct {
	Series  int   `json:"series"`
	Samples int64 `json:"samples"`
	MinTime int64 `json:"minTime"`
	MaxTime int64 `json:"maxTime"`
}

// writeTSDBBlock writes every series of h into one TSDB block under dir and returns the block ID.
func writeTSDBBlock(ctx context.Context, logger *slog.Logger, h *History, dir string) (string, writeStats, error) {
	var stats writeStats
	span := int64(0)
	for _, t := range h.Tracks {
		span = max(span, int64(t.FirstStep+len(t.Increments))*h.StepMs)
	}
	// Series are appended one after another, each over the whole span; the head accepts samples
	// back to half its chunk range before its newest, so the range covers twice the span.
	w, err := tsdb.NewBlockWriter(logger, dir, 2*span+h.StepMs)
	if err != nil {
		return "", stats, err
	}
	defer w.Close()
	for _, s := range h.Series {
		app := w.Appender(ctx)
		lset := labels.FromMap(s.Labels)
		var ref storage.SeriesRef
		err := h.values(s, func(t int64, v float64) error {
			var err error
			ref, err = app.Append(ref, lset, t, v)
			stats.Samples++
			return err
		})
		if err != nil {
			_ = app.Rollback()
			return "", stats, fmt.Errorf("append %s: %w", lset, err)
		}
		if err := app.Commit(); err != nil {
			return "", stats, err
		}
		stats.Series++
	}
	id, err := w.Flush(ctx)
	if err != nil {
		return "", stats, err
	}
	meta, err := readBlockMeta(dir, id.String())
	if err != nil {
		return "", stats, err
	}
	stats.MinTime, stats.MaxTime = meta.MinTime, meta.MaxTime
	return id.String(), stats, nil
}
