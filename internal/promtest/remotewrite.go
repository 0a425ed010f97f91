package promtest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/golang/snappy"
	"google.golang.org/protobuf/encoding/protowire"
)

// Series is one series to write through the remote-write receiver: its
// labels (__name__ included) and its samples, each list in time order.
type Series struct {
	Labels     map[string]string
	Samples    []Sample
	Histograms []Histogram
}

// Sample is a float sample.
type Sample struct {
	Time  time.Time
	Value float64
}

// Histogram is a native histogram sample with integer counts, as a client
// library exposes it: the counters' state at Time (they only grow, as a
// counter's do). Bucket i of the positive side covers (b^(i−1), b^i] and of
// the negative side [−b^i, −b^(i−1)), with b = 2^(2^−Schema); the zero
// bucket covers [−ZeroThreshold, ZeroThreshold]. The count of observations
// is ZeroCount plus every bucket's.
type Histogram struct {
	Time          time.Time
	Schema        int32
	ZeroThreshold float64
	ZeroCount     uint64
	Sum           float64
	// Positive and Negative map a bucket index to its count.
	Positive map[int32]uint64
	Negative map[int32]uint64
}

// UpperBound is the upper edge of positive bucket i at schema: 2^(i·2^−schema).
func UpperBound(schema, i int32) float64 {
	return math.Exp2(float64(i) * math.Exp2(-float64(schema)))
}

// Write sends series to the server's remote-write receiver (the server
// must have been started with Options.RemoteWrite; native histograms also
// need Options.NativeHistograms, or Prometheus answers 500 "native
// histograms are disabled"). Prometheus keeps the samples in its head
// block, which accepts a series' samples in time order and, once it holds
// data, none older than an hour before its newest: write recent samples
// (the last half hour, say), oldest first.
func (s *Server) Write(ctx context.Context, series ...Series) error {
	body := snappy.Encode(nil, encodeWriteRequest(series))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+"/api/v1/write", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("promtest: remote write: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("Content-Encoding", "snappy")
	req.Header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("promtest: remote write: %w", err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("promtest: remote write: HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(msg)))
	}
	return nil
}

// encodeWriteRequest writes prometheus.WriteRequest (prompb/remote.proto,
// prompb/types.proto of Prometheus 2.42):
//
//	WriteRequest { repeated TimeSeries timeseries = 1; }
//	TimeSeries   { repeated Label labels = 1; repeated Sample samples = 2; repeated Histogram histograms = 4; }
//	Label        { string name = 1; string value = 2; }
//	Sample       { double value = 1; int64 timestamp = 2; }
//	Histogram    { uint64 count_int = 1; double sum = 3; sint32 schema = 4; double zero_threshold = 5;
//	               uint64 zero_count_int = 6; repeated BucketSpan negative_spans = 8;
//	               repeated sint64 negative_deltas = 9; repeated BucketSpan positive_spans = 11;
//	               repeated sint64 positive_deltas = 12; int64 timestamp = 15; }
//	BucketSpan   { sint32 offset = 1; uint32 length = 2; }
func encodeWriteRequest(series []Series) []byte {
	var out []byte
	for _, s := range series {
		out = protowire.AppendTag(out, 1, protowire.BytesType)
		out = protowire.AppendBytes(out, encodeTimeSeries(s))
	}
	return out
}

func encodeTimeSeries(s Series) []byte {
	var b []byte
	for _, name := range slices.Sorted(maps.Keys(s.Labels)) {
		var l []byte
		l = protowire.AppendTag(l, 1, protowire.BytesType)
		l = protowire.AppendString(l, name)
		l = protowire.AppendTag(l, 2, protowire.BytesType)
		l = protowire.AppendString(l, s.Labels[name])
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendBytes(b, l)
	}
	for _, smp := range s.Samples {
		var m []byte
		m = protowire.AppendTag(m, 1, protowire.Fixed64Type)
		m = protowire.AppendFixed64(m, math.Float64bits(smp.Value))
		m = protowire.AppendTag(m, 2, protowire.VarintType)
		m = protowire.AppendVarint(m, uint64(smp.Time.UnixMilli()))
		b = protowire.AppendTag(b, 2, protowire.BytesType)
		b = protowire.AppendBytes(b, m)
	}
	for _, h := range s.Histograms {
		b = protowire.AppendTag(b, 4, protowire.BytesType)
		b = protowire.AppendBytes(b, encodeHistogram(h))
	}
	return b
}

func encodeHistogram(h Histogram) []byte {
	count := h.ZeroCount
	for _, c := range h.Positive {
		count += c
	}
	for _, c := range h.Negative {
		count += c
	}
	var b []byte
	b = protowire.AppendTag(b, 1, protowire.VarintType)
	b = protowire.AppendVarint(b, count)
	b = protowire.AppendTag(b, 3, protowire.Fixed64Type)
	b = protowire.AppendFixed64(b, math.Float64bits(h.Sum))
	b = protowire.AppendTag(b, 4, protowire.VarintType)
	b = protowire.AppendVarint(b, protowire.EncodeZigZag(int64(h.Schema)))
	b = protowire.AppendTag(b, 5, protowire.Fixed64Type)
	b = protowire.AppendFixed64(b, math.Float64bits(h.ZeroThreshold))
	b = protowire.AppendTag(b, 6, protowire.VarintType)
	b = protowire.AppendVarint(b, h.ZeroCount)
	b = appendBuckets(b, 8, 9, h.Negative)
	b = appendBuckets(b, 11, 12, h.Positive)
	b = protowire.AppendTag(b, 15, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(h.Time.UnixMilli()))
	return b
}

// appendBuckets writes buckets as spans of consecutive indexes (the first
// span's offset is its first index, each next one's the gap since the end
// of the previous) and the counts as deltas, each to the previous bucket's
// count (the first to zero).
func appendBuckets(b []byte, spansField, deltasField protowire.Number, buckets map[int32]uint64) []byte {
	indexes := slices.Sorted(maps.Keys(buckets))
	if len(indexes) == 0 {
		return b
	}
	type span struct {
		offset int32
		length uint32
	}
	var spans []span
	next := int32(0)
	for i, idx := range indexes {
		if i > 0 && idx == next {
			spans[len(spans)-1].length++
		} else if i == 0 {
			spans = append(spans, span{offset: idx, length: 1})
		} else {
			spans = append(spans, span{offset: idx - next, length: 1})
		}
		next = idx + 1
	}
	for _, sp := range spans {
		var m []byte
		m = protowire.AppendTag(m, 1, protowire.VarintType)
		m = protowire.AppendVarint(m, protowire.EncodeZigZag(int64(sp.offset)))
		m = protowire.AppendTag(m, 2, protowire.VarintType)
		m = protowire.AppendVarint(m, uint64(sp.length))
		b = protowire.AppendTag(b, spansField, protowire.BytesType)
		b = protowire.AppendBytes(b, m)
	}
	var packed []byte
	prev := int64(0)
	for _, idx := range indexes {
		c := int64(buckets[idx])
		packed = protowire.AppendVarint(packed, protowire.EncodeZigZag(c-prev))
		prev = c
	}
	b = protowire.AppendTag(b, deltasField, protowire.BytesType)
	return protowire.AppendBytes(b, packed)
}
