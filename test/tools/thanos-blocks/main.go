// Command thanos-blocks makes the blocks test/integration/thanosDownsample.test.ts needs, with
// Thanos' own packages at the release the tests run:
//
//	thanos-blocks write --history FILE --bucket DIR
//	thanos-blocks downsample --bucket DIR --block ULID --resolution 1h
//
// `write` turns a history file (history.go) into one raw TSDB block carrying the metadata a Receive
// replica's block has, and uploads it into a filesystem bucket, so the real Compactor takes it.
// `downsample` runs Thanos' downsampling on one block of the bucket, the way the Compactor does
// (cmd/thanos/downsample.go processDownsampling), and uploads the result. It exists for the 1 h
// resolution: the Compactor downsamples 5m to 1h only for blocks spanning at least 10 days
// (downsample.ResLevel2DownsampleRange) and the test's history spans 3 days; raw to 5m (blocks of
// 40 h or more) is left to the real `thanos compact`.
//
// Each prints one JSON line on stdout describing what it uploaded; logs go to stderr.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/oklog/ulid/v2"
	"github.com/prometheus/prometheus/tsdb"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/thanos-io/objstore/providers/filesystem"

	"github.com/thanos-io/thanos/pkg/block"
	"github.com/thanos-io/thanos/pkg/block/metadata"
	"github.com/thanos-io/thanos/pkg/compact/downsample"
)

const usage = "usage: thanos-blocks write --history FILE --bucket DIR | downsample --bucket DIR --block ULID --resolution 5m|1h"

func main() {
	if len(os.Args) < 2 {
		fail(errors.New(usage))
	}
	if os.Args[1] == "help" {
		fmt.Println(usage)
		return
	}
	logger := level.NewFilter(log.NewLogfmtLogger(log.NewSyncWriter(os.Stderr)), level.AllowInfo())
	ctx := context.Background()
	var (
		result any
		err    error
	)
	switch os.Args[1] {
	case "write":
		result, err = runWrite(ctx, logger, os.Args[2:])
	case "downsample":
		result, err = runDownsample(ctx, logger, os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q: write or downsample", os.Args[1])
	}
	if err != nil {
		fail(err)
	}
	if err := json.NewEncoder(os.Stdout).Encode(result); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "thanos-blocks:", err)
	os.Exit(1)
}

type writeResult struct {
	ID string `json:"id"`
	writeStats
}

func runWrite(ctx context.Context, logger log.Logger, args []string) (*writeResult, error) {
	flags := flag.NewFlagSet("write", flag.ContinueOnError)
	historyFile := flags.String("history", "", "history file (JSON, see history.go)")
	bucketDir := flags.String("bucket", "", "filesystem bucket directory to upload the block into")
	if err := flags.Parse(args); err != nil {
		return nil, err
	}
	if *historyFile == "" || *bucketDir == "" {
		return nil, errors.New("write: --history and --bucket are required")
	}
	history, err := readHistory(*historyFile)
	if err != nil {
		return nil, err
	}
	work, err := os.MkdirTemp("", "thanos-blocks-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)

	quiet := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	id, stats, err := writeTSDBBlock(ctx, quiet, history, work)
	if err != nil {
		return nil, fmt.Errorf("write block: %w", err)
	}
	blockDir := filepath.Join(work, id)
	// What the Receive shipper (pkg/shipper) records before it uploads a block.
	thanosMeta := metadata.Thanos{
		Labels:       history.ExternalLabels,
		Downsample:   metadata.ThanosDownsample{Resolution: downsample.ResLevel0},
		Source:       metadata.ReceiveSource,
		SegmentFiles: block.GetSegmentFiles(blockDir),
	}
	if _, err := metadata.InjectThanos(logger, blockDir, thanosMeta, nil); err != nil {
		return nil, err
	}
	if err := upload(ctx, logger, *bucketDir, blockDir); err != nil {
		return nil, err
	}
	return &writeResult{ID: id, writeStats: stats}, nil
}

type downsampleResult struct {
	ID         string `json:"id"`
	Resolution int64  `json:"resolution"`
}

func runDownsample(ctx context.Context, logger log.Logger, args []string) (*downsampleResult, error) {
	flags := flag.NewFlagSet("downsample", flag.ContinueOnError)
	bucketDir := flags.String("bucket", "", "filesystem bucket directory holding the block")
	blockID := flags.String("block", "", "ULID of the block to downsample")
	resolutionFlag := flags.Duration("resolution", time.Hour, "target resolution: 5m or 1h")
	if err := flags.Parse(args); err != nil {
		return nil, err
	}
	resolution := resolutionFlag.Milliseconds()
	if resolution != downsample.ResLevel1 && resolution != downsample.ResLevel2 {
		return nil, fmt.Errorf("downsample: --resolution must be 5m or 1h, not %s", *resolutionFlag)
	}
	id, err := ulid.Parse(*blockID)
	if err != nil || *bucketDir == "" {
		return nil, fmt.Errorf("downsample: --bucket and a valid --block ULID are required (%v)", err)
	}
	bkt, err := filesystem.NewBucket(*bucketDir)
	if err != nil {
		return nil, err
	}
	work, err := os.MkdirTemp("", "thanos-blocks-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)

	// The steps of the Compactor's processDownsampling: download, verify, downsample, verify, upload.
	sourceDir := filepath.Join(work, id.String())
	if err := block.Download(ctx, logger, bkt, id, sourceDir); err != nil {
		return nil, fmt.Errorf("download %s: %w", id, err)
	}
	meta, err := metadata.ReadFromDir(sourceDir)
	if err != nil {
		return nil, err
	}
	if err := block.VerifyIndex(ctx, logger, filepath.Join(sourceDir, block.IndexFilename), meta.MinTime, meta.MaxTime); err != nil {
		return nil, fmt.Errorf("input block index not valid: %w", err)
	}
	pool := chunkenc.NewPool()
	if meta.Thanos.Downsample.Resolution > 0 {
		pool = downsample.NewPool()
	}
	b, err := tsdb.OpenBlock(slog.New(slog.DiscardHandler), sourceDir, pool, nil)
	if err != nil {
		return nil, fmt.Errorf("open block %s: %w", id, err)
	}
	defer b.Close()
	newID, err := downsample.Downsample(ctx, logger, meta, b, work, resolution)
	if err != nil {
		return nil, fmt.Errorf("downsample %s to %d ms: %w", id, resolution, err)
	}
	resultDir := filepath.Join(work, newID.String())
	stats, err := block.GatherIndexHealthStats(ctx, logger, filepath.Join(resultDir, block.IndexFilename), meta.MinTime, meta.MaxTime)
	if err == nil {
		err = stats.AnyErr()
	}
	if err != nil {
		return nil, fmt.Errorf("output block index not valid: %w", err)
	}
	newMeta, err := metadata.ReadFromDir(resultDir)
	if err != nil {
		return nil, err
	}
	newMeta.Thanos.IndexStats.ChunkMaxSize = stats.ChunkMaxSize
	newMeta.Thanos.IndexStats.SeriesMaxSize = stats.SeriesMaxSize
	if err := newMeta.WriteToDir(logger, resultDir); err != nil {
		return nil, err
	}
	if err := upload(ctx, logger, *bucketDir, resultDir); err != nil {
		return nil, err
	}
	return &downsampleResult{ID: newID.String(), Resolution: resolution}, nil
}

func upload(ctx context.Context, logger log.Logger, bucketDir, blockDir string) error {
	bkt, err := filesystem.NewBucket(bucketDir)
	if err != nil {
		return err
	}
	if err := block.Upload(ctx, logger, bkt, blockDir, metadata.NoneFunc); err != nil {
		return fmt.Errorf("upload %s: %w", filepath.Base(blockDir), err)
	}
	return nil
}

func readBlockMeta(dir, id string) (*metadata.Meta, error) {
	return metadata.ReadFromDir(filepath.Join(dir, id))
}
